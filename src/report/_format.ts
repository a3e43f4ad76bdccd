/**
 * Text helpers shared by the report renderers and the CLI.
 *
 * @module
 */
import type { Violation } from "../check/checker.ts";
import type { KeyChange, Revision } from "../run/revision.ts";
import type { Outcome, TraceEntry } from "../run/outcome.ts";
import { type CellStatus, cellStatus } from "./diff.ts";

/** What a revision was posted against, in one line: "2.6.25-rc3 (linux-2.6 ...)". */
export function postedAgainstText(r: Revision): string {
  return `${r.postedAgainst.version} (${r.postedAgainst.tree})`;
}

/**
 * Groups revision ids by what they were posted against (`textOf`, see
 * {@link postedAgainstText}), in the order the groups first appear.
 */
export function postedAgainstGroups(
  ids: readonly string[],
  textOf: (id: string) => string,
): { text: string; revisions: string[] }[] {
  const groups: { text: string; revisions: string[] }[] = [];
  for (const id of ids) {
    const text = textOf(id);
    const g = groups.find((x) => x.text === text);
    if (g) g.revisions.push(id);
    else groups.push({ text, revisions: [id] });
  }
  return groups;
}

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
 * Formats a cell for a table: its verdict, prefixed by the status when the
 * run did not complete (`timeout (no-progress)`, `unsupported`).
 *
 * @param o The outcome.
 * @returns The cell text.
 */
export function cellText(o: Outcome): string {
  return statusText(cellStatus(o), o.kinds);
}

/**
 * Formats a status and violation kinds as {@link cellText} does.
 *
 * @param status The cell status.
 * @param kinds The violation kinds.
 * @returns The cell text.
 */
export function statusText(status: CellStatus, kinds: readonly string[]): string {
  if (status === "pass" || status === "fail") return verdictText(kinds);
  return kinds.length ? `${status} (${kinds.join(",")})` : status;
}

/**
 * Formats one callout of a trace on one line: step, thread, path and hook
 * point, callout with its mm and range or address, the atomic argument,
 * whether the caller is atomic, the locks held and the listeners.
 *
 * @param t The trace entry.
 * @returns One line.
 */
export function traceLine(t: TraceEntry): string {
  const where = t.range ?? t.address ?? "";
  const atomic = t.atomic === null ? "" : ` atomic=${t.atomic}`;
  const ctx = t.inAtomic ? " in-atomic" : "";
  return `step ${t.step} ${t.thread}: ${t.path}@${t.at} ${t.call}(${t.mm}${
    where ? " " + where : ""
  })${atomic}${ctx} locks=[${t.locks.join(" ")}] listeners=[${t.listeners.join(" ")}]`;
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
