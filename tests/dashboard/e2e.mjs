#!/usr/bin/env node
// The dashboard end to end, in Debian's headless Chromium driven by playwright-core (which
// downloads no browser). Run by tests/scenarios/dashboard.sh, which starts two real nodes with
// funded channels and passes, in the environment:
//
//   A_URL, A_TOKEN, B_URL, B_TOKEN   each node's API address (http://host:port) and token
//   PAY_CHANNEL                      an active channel between them (A 10 ETH, B 5 ETH)
//   DISPUTE_CHANNEL                  another one, which this test settles by force (A's API)
//   SHOTS                            where the screenshots go
//   PROFILE                          a fresh, empty directory for Chromium's profile
//   RESTART_ASKED, RESTART_DONE      the test creates the first file to have bob's node
//                                    restarted (on the same ports), and waits for the second
//
// What it checks, without ever reloading a dashboard once open: a wrong token is refused with
// the node's words; A pays 0.25 ETH with the Pay form and B's dashboard shows the payment
// received and B's new balance live, A's shows it sent; a malformed amount and an overdraft are
// refused with clear messages; bob's dashboard shows his node gone and is live again after
// its restart, by itself; a dispute shows a countdown of chain time that runs; Settle
// closes the channel on both dashboards. Any error in a page's console fails the test (a CSP
// violation is one), except the 401 the wrong token earns on purpose.

import { chromium } from "playwright-core";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`e2e.mjs: ${name} is not set (run tests/scenarios/dashboard.sh)`);
  return value;
};
const A = { name: "alice", url: env("A_URL"), token: env("A_TOKEN") };
const B = { name: "bob", url: env("B_URL"), token: env("B_TOKEN") };
const payChannel = env("PAY_CHANNEL");
const disputeChannel = env("DISPUTE_CHANNEL");
const shots = env("SHOTS");
const TIMEOUT = 30_000;

let failed = false;
const step = (text) => console.log(`    . ${text}`);
function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Fails the test on any console error but the 401 a wrong token earns on purpose. */
function watchConsole(page, who) {
  page.on("pageerror", (error) => {
    failed = true;
    console.error(`${who}'s page threw: ${error.message}`);
  });
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (/status of 401/.test(message.text())) return;
    failed = true;
    console.error(`${who}'s console: ${message.text()}`);
  });
}

async function shot(page, name) {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  step(`screenshot ${path}`);
}

async function signIn(page, node) {
  await page.getByTestId("token-input").fill(node.token);
  await page.getByTestId("token-submit").click();
  await page.getByTestId("api-state").filter({ hasText: "API live" }).waitFor({ timeout: TIMEOUT });
}

const card = (page, channel) => page.locator(`[data-testid=channel][data-channel="${channel}"]`);

async function expectText(locator, text, what) {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ timeout: TIMEOUT });
  } catch {
    const seen = await locator.allTextContents().catch(() => []);
    throw new Error(`${what}: expected "${text}", saw ${JSON.stringify(seen)}`);
  }
}

/** Calls A's API directly (as a script would), for what the dashboard has no button for. */
async function rpc(node, method, params) {
  const response = await fetch(`${node.url}/`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${node.token}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return response.json();
}

const context = await chromium.launchPersistentContext(env("PROFILE"), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 900 },
});
const a = await context.newPage();
const b = await context.newPage();
try {
  watchConsole(a, "alice");
  watchConsole(b, "bob");

  step("alice's dashboard at / redirects to /dashboard/ and asks for the token");
  await a.goto(`${A.url}/`);
  check(a.url() === `${A.url}/dashboard/`, `/ did not redirect to /dashboard/ (at ${a.url()})`);
  step("a wrong token is refused with the node's message");
  await a.getByTestId("token-input").fill("0".repeat(64));
  await a.getByTestId("token-submit").click();
  await expectText(a.getByTestId("token-error"), "unauthorized (1000)", "the wrong token's error");
  await shot(a, "1-wrong-token");

  step("both dashboards open with the right tokens and go live");
  await signIn(a, A);
  await b.goto(`${B.url}/dashboard/`);
  await signIn(b, B);
  await expectText(card(a, payChannel).getByTestId("balance-mine"), "10", "alice's balance before");
  await expectText(card(b, payChannel).getByTestId("balance-mine"), "5", "bob's balance before");
  await expectText(a.locator("[data-testid=peer][data-peer=bob]"), "bob", "alice's peer list");
  await expectText(a.locator("[data-testid=balance-row][data-asset=ETH] [data-testid=in-channels]"), "12", "alice's ETH in channels");
  await shot(a, "2-alice-before");

  step("alice pays 0.25 ETH with the Pay form; bob's dashboard shows it without a reload");
  const bobLoads = [];
  b.on("framenavigated", (frame) => frame === b.mainFrame() && bobLoads.push(frame.url()));
  await card(a, payChannel).getByTestId("pay-amount").fill("0.25");
  await card(a, payChannel).getByTestId("pay-submit").click();
  await expectText(card(a, payChannel).getByTestId("channel-message"), "paid 0.25 ETH", "alice's pay message");
  await expectText(b.locator("[data-testid=payment][data-direction=received] [data-testid=payment-amount]"), "+0.25 ETH", "bob's received payment");
  await expectText(card(b, payChannel).getByTestId("balance-mine"), "5.25", "bob's new balance");
  await expectText(card(b, payChannel).getByTestId("channel-version"), "v1", "bob's channel version");
  await expectText(b.locator("[data-testid=payment][data-direction=received] [data-testid=payment-version]"), "v1", "bob's received payment's version");
  await expectText(a.locator("[data-testid=payment][data-direction=sent] [data-testid=payment-amount]"), "−0.25 ETH", "alice's sent payment");
  await expectText(card(a, payChannel).getByTestId("balance-mine"), "9.75", "alice's new balance");
  check(bobLoads.length === 0, `bob's page navigated: ${bobLoads.join(", ")}`);
  await shot(b, "3-bob-received");
  await shot(a, "4-alice-sent");

  step("a malformed amount and an overdraft are refused with clear messages");
  await card(a, payChannel).getByTestId("pay-amount").fill("0.0000000000000000001");
  await card(a, payChannel).getByTestId("pay-submit").click();
  await expectText(card(a, payChannel).getByTestId("channel-error"), "ETH has only 18 decimals", "the too precise amount");
  await card(a, payChannel).getByTestId("pay-amount").fill("1000");
  await card(a, payChannel).getByTestId("pay-submit").click();
  await expectText(card(a, payChannel).getByTestId("channel-error"), "insufficient_funds (1003)", "the overdraft");
  await expectText(a.locator("[data-testid=payment][data-status=failed] [data-testid=payment-amount]"), "1000 ETH", "alice's failed payment");
  await expectText(a.locator("[data-testid=payment][data-status=failed] [data-testid=payment-version]"), "—", "the failed payment's version (none made)");
  await shot(a, "5-alice-overdraft");

  step("bob's node restarts: his dashboard says disconnected, then is live again by itself");
  writeFileSync(env("RESTART_ASKED"), "");
  await b.getByTestId("api-state").and(b.locator("[data-state=disconnected]")).waitFor({ timeout: TIMEOUT });
  await shot(b, "6-bob-disconnected");
  const deadline = Date.now() + 60_000;
  while (!existsSync(env("RESTART_DONE"))) {
    check(Date.now() < deadline, "bob's node was not restarted within 60 s");
    await b.waitForTimeout(200);
  }
  await b.getByTestId("api-state").filter({ hasText: "API live" }).waitFor({ timeout: TIMEOUT });
  await expectText(card(b, payChannel).getByTestId("balance-mine"), "5.25", "bob's balance after his restart");
  check(bobLoads.length === 0, `bob's page navigated: ${bobLoads.join(", ")}`);

  step("alice settles the other channel by force: both dashboards count its dispute down");
  const forced = rpc(A, "channel_settle", { id: disputeChannel, force: true });
  for (const [page, who] of [[a, "alice"], [b, "bob"]]) {
    const row = page.locator(`[data-testid=dispute][data-channel="${disputeChannel}"]`);
    await expectText(row.getByTestId("dispute-countdown"), "ends in", `${who}'s dispute countdown`);
  }
  const countdown = a.locator(`[data-testid=dispute][data-channel="${disputeChannel}"] [data-testid=dispute-countdown]`);
  const first = Number(await countdown.getAttribute("data-left"));
  await a.waitForTimeout(2500);
  const later = Number(await countdown.getAttribute("data-left"));
  check(first > 0 && later < first, `the countdown does not run (${first} s, then ${later} s)`);
  await shot(a, "7-alice-dispute");
  const settled = await forced;
  check(!settled.error, `the forced settle failed: ${JSON.stringify(settled.error)}`);
  await card(a, disputeChannel).and(a.locator("[data-phase=closed]")).waitFor({ timeout: TIMEOUT });

  step("alice settles the paid channel with Settle and its confirmation; both see it closed");
  await card(a, payChannel).getByTestId("settle").click();
  await card(a, payChannel).getByTestId("settle-confirm").click();
  for (const [page, who] of [[a, "alice"], [b, "bob"]]) {
    try {
      await page.locator(`[data-testid=phase-group][data-phase=closed] [data-testid=channel][data-channel="${payChannel}"]`).waitFor({ timeout: 60_000 });
    } catch {
      throw new Error(`${who}'s dashboard never showed the settled channel as closed`);
    }
  }
  await expectText(card(a, payChannel).getByTestId("channel-message"), "settled", "alice's settle message");
  await expectText(card(b, payChannel).getByTestId("balance-mine"), "5.25", "bob's final balance");
  await shot(a, "8-alice-settled");
  await shot(b, "9-bob-settled");

  step("Forget token returns to the token form");
  await b.getByTestId("forget-token").click();
  await b.getByTestId("token-form").waitFor({ timeout: TIMEOUT });
} catch (error) {
  failed = true;
  console.error(`FAIL: ${error.message}`);
  await shot(a, "failed-alice").catch(() => {});
  await shot(b, "failed-bob").catch(() => {});
} finally {
  await context.close();
}
process.exit(failed ? 1 : 0);
