/**
 * Text helpers shared by the report renderers and the CLI.
 *
 * @module
 */
import type { Violation } from "../check/checker.ts";
import type { KeyChange } from "../run/revision.ts";

/**
 * Formats a key change as `key: from -> to` (`(absent)` for a missing side).
 *
 * @param k The key change.
 * @returns One line.
 */
export function formatKeyChange(k: KeyChange): string {
  return `${k.key}: ${k.from ?? "(absent)"} -> ${k.to ?? "(absent)"}`;
}

/**
 * Formats violation kinds as a verdict: `pass`, or the kinds joined by commas.
 *
 * @param kinds Violation kinds.
 * @returns The verdict text.
 */
export function verdictText(kinds: readonly string[]): string {
  return kinds.length ? kinds.join(",") : "pass";
}

/**
 * Formats a violation on one line: step, kind, address and detail.
 *
 * @param v The violation.
 * @returns One line.
 */
export function formatViolation(v: Violation): string {
  return `step ${v.step}, ${v.kind} at ${v.where}: ${v.detail}`;
}

/**
 * Renders rows as a plain-text table whose columns are padded to equal
 * width: a Markdown pipe table that also reads well in a fixed-width font.
 *
 * @param header Column titles.
 * @param rows Cells, one array per row.
 * @returns The table lines.
 */
export function textTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)];
}
