#!/usr/bin/env python3
"""The scenarios' side of a local anvil chain, over raw JSON-RPC (no package beyond Python).

  anvil.py adapt DEPLOYED CHAIN_OUT APPS_OUT  what `parley eth deploy` printed, split: the
                                              [chain] table made ready for the scenarios (no
                                              key_file, fast polls), and the [[apps]] entries
  anvil.py node-table TABLE KEY_FILE OUT      TABLE with this node's key file
  anvil.py node-config NODE_TOML TABLE APPS   NODE_TOML with TABLE in place of its [chain] and
                                              APPS in place of its [[apps]] (at the end);
                                              refuses to write if anything else would change
  anvil.py check-node NODE_TOML TABLE APPS    NODE_TOML parses and has exactly TABLE's [chain]
                                              and APPS' [[apps]]; says what differs if not
  anvil.py block URL                          the latest block number
  anvil.py plus-gas URL ADDRESS BLOCK AMOUNT  AMOUNT + what ADDRESS paid in gas up to BLOCK
  anvil.py transactions URL ADDRESS           the transactions ADDRESS sent, oldest first, one
                                              word each: the function called (by selector),
                                              with "(reverted)" appended if it reverted

The contracts are deployed by `parley eth deploy` (see anvil.sh).
"""

import json
import re
import sys
import tomllib
import urllib.request

# Nodes poll the chain this often, so that a peer's deposit or registration is seen within a
# fraction of a second.
POLL_INTERVAL = "poll_interval_ms = 200"


def rpc(url, method, params=()):
    return batch(url, [(method, list(params))])[0]


def batch(url, calls):
    """Sends calls [(method, params)] as one JSON-RPC batch; returns their results in order."""
    if not calls:
        return []
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answers = {a["id"]: a for a in json.load(response)}
    results = []
    for i, (method, _) in enumerate(calls):
        answer = answers[i]
        if "error" in answer:
            sys.exit(f"anvil.py: {method}: {answer['error'].get('message')}")
        results.append(answer["result"])
    return results


# The app contracts `parley eth deploy` puts on chain, by plugin, in its order.
APP_PLUGINS = ["tictactoe", "hashlock"]


def adapt(table_in, out, apps_out):
    """Splits what `parley eth deploy` printed: the [chain] table, as printed, less its
    key_file (each node gets its own) and with the scenarios' poll interval, goes to OUT; the
    [[apps]] entries after it, as printed, to APPS_OUT."""
    with open(table_in) as f:
        printed = f.read()
    deployed = tomllib.loads(printed)
    chain = deployed.get("chain", {})
    # The entries follow the whole [chain] table (a header ends the table before it).
    start = re.search(r"(?m)^\[\[apps\]\]", printed)
    if not start:
        sys.exit(f"anvil.py: {table_in} has no [[apps]] entries after the [chain] table")
    text, apps_text = printed[: start.start()], printed[start.start():]
    apps = tomllib.loads(apps_text)
    if list(apps) != ["apps"] or "apps" in tomllib.loads(text):
        sys.exit(f"anvil.py: {table_in} has more than [[apps]] after its [chain] table")
    apps = apps["apps"]
    if [a.get("plugin") for a in apps] != APP_PLUGINS:
        sys.exit(f"anvil.py: {table_in} names the app plugins {[a.get('plugin') for a in apps]}, "
                 f"not {APP_PLUGINS}")
    for app in apps:
        if list(app.get("addresses", {})) != [str(chain.get("chain_id"))]:
            sys.exit(f"anvil.py: {table_in}: the {app['plugin']} entry does not name its address "
                     f"under chain id {chain.get('chain_id')} (and only there)")
    tokens = chain.get("erc20") or []
    if chain.get("plugin") != "ethereum" or "eth_holder" not in chain or not tokens:
        sys.exit(f"anvil.py: {table_in} is not an ethereum [chain] table with ETH and a token")
    if tokens[0]["name"] != "TOK":
        sys.exit(f"anvil.py: {table_in} names its token {tokens[0]['name']}, not TOK")
    text, n = re.subn(r"(?m)^key_file\s*=.*\n", "", text)
    if n != 1:
        sys.exit(f"anvil.py: {table_in} has no key_file line")
    head, sep, rest = text.partition("[[chain.erc20]]")
    with open(out, "w") as f:
        f.write(head.rstrip("\n") + "\n" + POLL_INTERVAL + "\n" + sep + rest.rstrip("\n") + "\n")
    with open(apps_out, "w") as f:
        f.write(apps_text)


def node_table(table, key_file, out):
    with open(table) as f:
        text = f.read()
    # key_file goes among the [chain] keys, before the first [[chain.erc20]].
    head, sep, rest = text.partition("\n[[chain.erc20]]")
    with open(out, "w") as f:
        f.write(head.rstrip("\n") + f'\nkey_file = "{key_file}"\n' + sep + rest)


# A table header, `[a.b]` or `[[a.b]]`; group 1 is its first key.
HEADER = re.compile(r"""^\s*\[\[?\s*["']?([A-Za-z0-9_-]+)["']?\s*[.\]]""")


def blocks(text):
    """TEXT cut before each table header: [(first key of the header or None, text)]. The comment
    and blank lines that end a block are moved to the next one, whose header they precede."""
    out, key, lines = [], None, []
    for line in text.splitlines(keepends=True):
        match = HEADER.match(line)
        if match:
            tail = len(lines)
            while tail and lines[tail - 1].strip()[:1] in ("", "#"):
                tail -= 1
            out.append((key, "".join(lines[:tail])))
            key, lines = match.group(1), lines[tail:] + [line]
        else:
            lines.append(line)
    out.append((key, "".join(lines)))
    return out


def node_config(path, table, apps):
    """Puts TABLE where NODE_TOML's [chain] table was (its sub-tables too) and APPS at the end,
    in place of every [[apps]] entry (the ones `parley init` wrote are for its own chain).
    Refuses, writing nothing, if the result would not parse or would differ elsewhere."""
    with open(path) as f:
        text = f.read()
    with open(table) as f:
        table_text = f.read()
    with open(apps) as f:
        apps_text = f.read()
    parts, placed = [], False
    for key, block in blocks(text):
        if key == "chain" and not placed:
            # Keep what precedes the header (comments, blank lines), replace from it on.
            header = next(m for m in re.finditer(r"(?m)^.*$", block) if HEADER.match(m.group(0)))
            parts.append(block[: header.start()] + table_text.rstrip("\n") + "\n")
            placed = True
        elif key not in ("chain", "apps"):
            parts.append(block)
    if not placed:
        sys.exit(f"anvil.py: no [chain] table in {path}")
    new = "".join(parts).rstrip("\n") + "\n\n" + apps_text.rstrip("\n") + "\n"
    try:
        before, after = tomllib.loads(text), tomllib.loads(new)
    except tomllib.TOMLDecodeError as e:
        sys.exit(f"anvil.py: {path} would not parse after replacing [chain] and [[apps]]: {e}")
    for key in ("chain", "apps"):
        before.pop(key, None)
        after.pop(key, None)
    if before != after:
        sys.exit(f"anvil.py: replacing [chain] and [[apps]] in {path} would change other keys too")
    with open(path, "w") as f:
        f.write(new)


def check_node(path, table, apps):
    """NODE_TOML parses, and its [chain] and [[apps]] are exactly TABLE's and APPS'."""
    try:
        with open(path, "rb") as f:
            config = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        sys.exit(f"anvil.py: {path} is not TOML: {e}")
    with open(table, "rb") as f:
        chain = tomllib.load(f)["chain"]
    with open(apps, "rb") as f:
        entries = tomllib.load(f)["apps"]
    if config.get("chain") != chain:
        sys.exit(f"anvil.py: {path}'s [chain] is {config.get('chain')}, not the deployed {chain}")
    if config.get("apps") != entries:
        sys.exit(
            f"anvil.py: {path}'s [[apps]] are {config.get('apps')}, not the deployed {entries}"
        )


def plus_gas(url, address, block, amount):
    """AMOUNT + the fees ADDRESS's transactions paid in blocks 0..=BLOCK (gasUsed times the
    effective gas price: the whole fee on anvil, which has no L1 data fee)."""
    address = address.lower()
    blocks = batch(url, [("eth_getBlockByNumber", [hex(n), True]) for n in range(block + 1)])
    sent = [tx["hash"] for b in blocks for tx in b["transactions"] if tx["from"].lower() == address]
    receipts = batch(url, [("eth_getTransactionReceipt", [h]) for h in sent])
    spent = sum(int(r["gasUsed"], 16) * int(r["effectiveGasPrice"], 16) for r in receipts)
    return int(amount) + spent


# The functions a node calls, by selector (contracts/README.md lists them).
FUNCTIONS = {
    "1de26e16": "deposit",
    "095ea7b3": "approve",
    "e9aa7e02": "register",
    "4c8a2c90": "progress",
    "e7c01d05": "conclude",
    "75a87223": "concludeFinal",
    "fca0f778": "withdraw",
}


def transactions(url, address):
    """The transactions ADDRESS sent, oldest first: the function each called (its selector if
    unknown), "(reverted)" appended for a transaction that reverted."""
    address = address.lower()
    head = int(rpc(url, "eth_blockNumber"), 16)
    blocks = batch(url, [("eth_getBlockByNumber", [hex(n), True]) for n in range(head + 1)])
    sent = [tx for b in blocks for tx in b["transactions"] if tx["from"].lower() == address]
    receipts = batch(url, [("eth_getTransactionReceipt", [tx["hash"]]) for tx in sent])
    words = []
    for tx, receipt in zip(sent, receipts):
        selector = tx["input"][2:10]
        word = FUNCTIONS.get(selector, "0x" + selector)
        if int(receipt["status"], 16) != 1:
            word += "(reverted)"
        words.append(word)
    return " ".join(words)


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "adapt":
        adapt(*args)
    elif command == "node-table":
        node_table(*args)
    elif command == "node-config":
        node_config(*args)
    elif command == "check-node":
        check_node(*args)
    elif command == "block":
        print(int(rpc(args[0], "eth_blockNumber"), 16))
    elif command == "plus-gas":
        print(plus_gas(args[0], args[1], int(args[2]), args[3]))
    elif command == "transactions":
        print(transactions(args[0], args[1]))
    else:
        sys.exit(f"anvil.py: unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
