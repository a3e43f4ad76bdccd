/**
 * Text helpers shared by the report renderers and the CLI.
 *
 * @module
 */
import type { Violation } from "../check/checker.ts";
import type { KeyChange, PostedAgainst } from "../run/revision.ts";
import type { CellStatus, Outcome, TraceEntry } from "../run/outcome.ts";

/** What a revision was posted against, in one line: "2.6.25-rc3 (linux-2.6 ...)". */
export function postedAgainstText(r: { postedAgainst: PostedAgainst }): string {
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
  return statusText(o.status, o.kinds);
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

/** What {@link causeLines} reads: a change with its relevant keys and, when searched, its causes. */
export interface CausedChange {
  /** The revision the change is from. */
  from: string;
  /** The revision the change is to. */
  to: string;
  /** The differing keys relevant to the scenario. */
  relevant: KeyChange[];
  /** The keys that cause the change; absent when they were not searched. */
  causes?: KeyChange[];
  /** Other keys that each cause it alone as well. */
  alternatives?: KeyChange[];
  /** The other keys that differ. */
  alsoDiffer?: KeyChange[];
}

/** How {@link causeLines} lays out its lines. */
export interface CauseLayout {
  /** Prefix of every line (default none). */
  indent?: string;
  /** Markdown: headings as list items, keys as nested items in backticks. */
  markdown?: boolean;
  /** Count the differing keys not relevant to the scenario instead of listing them. */
  countOthers?: boolean;
}

/**
 * The lines that say what causes a verdict change: "caused by" with the keys
 * that alone flip it, the keys that each do so alone as well, then the other
 * differing keys apart ("also differ"), those relevant to the scenario first.
 * When the causes were not searched, the relevant keys only.
 *
 * @param c The change.
 * @param keyCount How many config keys differ in all.
 * @param layout Indent, and whether to write Markdown.
 * @returns The lines.
 */
export function causeLines(c: CausedChange, keyCount: number, layout: CauseLayout = {}): string[] {
  const ind = layout.indent ?? "";
  const head = (s: string) => layout.markdown ? `${ind}- ${s}` : `${ind}${s}`;
  const item = (k: KeyChange) =>
    layout.markdown ? `${ind}  - \`${formatKeyChange(k)}\`` : `${ind}  ${formatKeyChange(k)}`;
  const list = (title: string, keys: KeyChange[], of = "") =>
    keys.length ? [head(`${title} (${keys.length}${of}):`), ...keys.map(item)] : [];
  if (c.causes === undefined) {
    return c.relevant.length
      ? list("relevant config keys", c.relevant, ` of ${keyCount} that differ`)
      : [
        head(
          `relevant config keys: none on the paths the scenario traces (${keyCount} others differ)`,
        ),
      ];
  }
  const relevant = new Set(c.relevant.map((k) => k.key));
  const also = c.alsoDiffer ?? [];
  const differing = `${keyCount} differing key${keyCount === 1 ? "" : "s"}`;
  // With none: what differs lies outside the flattened config (such as the order of two
  // callouts at one hook point), or a hybrid run was stopped by the time bound.
  const out = c.causes.length ? list("caused by", c.causes, ` of ${differing}`) : [
    head(`caused by: no set of the ${differing} gives ${c.to}'s verdict when taken into ${c.from}`),
  ];
  out.push(...list("or alone as well", c.alternatives ?? []));
  out.push(
    ...list("also differ, relevant to the scenario", also.filter((k) => relevant.has(k.key))),
  );
  const others = also.filter((k) => !relevant.has(k.key));
  const label = others.length < also.length ? "also differ, other" : "also differ";
  if (layout.countOthers && others.length) {
    out.push(head(`${label}: ${others.length} key${others.length === 1 ? "" : "s"}`));
  } else {
    out.push(...list(label, others));
  }
  return out;
}
