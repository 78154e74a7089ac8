// Amounts as people read and write them, in an asset's whole units, exactly: the same rules
// as the node's `units.rs` (the CLI's `0.01 ETH`), done on decimal digit strings so that no
// amount is rounded. The API itself only takes and gives base units.

/** The largest amount the chain can hold is below 2^256 base units. */
const LIMIT = 1n << 256n;

/** `base` units as whole units with `decimals` decimals, trailing zeros dropped: `0.003`. */
export function formatUnits(base: string, decimals: number): string {
  if (!/^\d+$/.test(base)) return base;
  const digits = base.replace(/^0+(?=\d)/, "");
  if (decimals === 0) return digits;
  const padded = digits.padStart(decimals + 1, "0");
  const whole = padded.slice(0, padded.length - decimals);
  const fraction = padded.slice(padded.length - decimals).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

/**
 * `text` (`1.5`, `0.001`, `.5`, `2`) in whole units of an asset with `decimals` decimals, as a
 * base-unit string. Throws an Error whose message is meant for the user: a fraction finer
 * than one base unit is refused rather than rounded, as the node's CLI does.
 */
export function parseUnits(text: string, decimals: number, asset: string): string {
  const number = text.trim().replace(/_/g, "");
  const parts = /^(\d*)(?:\.(\d*))?$/.exec(number);
  if (!parts || (parts[1] === "" && (parts[2] ?? "") === "")) {
    throw new Error(`"${text}" is not a number: expected digits with at most one decimal point (e.g. 0.5)`);
  }
  const fraction = (parts[2] ?? "").replace(/0+$/, "");
  if (fraction.length > decimals) {
    throw new Error(
      `"${text}" has ${fraction.length} digits after the point, but ${asset} has only ${decimals} decimals`,
    );
  }
  const base = (parts[1] + fraction.padEnd(decimals, "0")).replace(/^0+/, "") || "0";
  if (BigInt(base) >= LIMIT) throw new Error(`"${text}" ${asset} is too large`);
  return base;
}

/** Adds decimal base-unit strings exactly. */
export function sum(amounts: string[]): string {
  return amounts.reduce((total, amount) => total + BigInt(amount), 0n).toString();
}

/** Finds an asset's decimals by name; 0 (base units shown as they are) for an unknown one. */
export function decimalsOf(assets: { name: string; decimals: number }[], name: string): number {
  return assets.find((asset) => asset.name === name)?.decimals ?? 0;
}
