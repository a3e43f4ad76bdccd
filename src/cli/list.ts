/**
 * The `list` command: what a scenario or revision author can name. Scenarios
 * (filtered by the kernel path they exercise, a violation kind seen on some
 * revision, a lineage), revisions, the hook points of each kernel path with
 * their place in each kernel tree, and the scheduling-point labels a
 * `during.at` can name.
 *
 * @module
 */
import { HOOK_POINTS } from "../kernel/hooks.ts";
import { pathNames } from "../kernel/steps.ts";
import { VIOLATION_KINDS } from "../check/checker.ts";
import { applies, runCell } from "../run/matrix.ts";
import { Run } from "../run/runner.ts";
import { InputError } from "../run/errors.ts";
import type { Revision } from "../run/revision.ts";
import type { Scenario } from "../run/scenario.ts";

/** What `list` can list. */
export const LIST_TOPICS = ["scenarios", "revisions", "hook-points", "labels"] as const;

/** A topic of {@link LIST_TOPICS}. */
export type ListTopic = typeof LIST_TOPICS[number];

/** Inputs of the `list` command. */
export interface ListInputs {
  /** Every scenario loaded. */
  scenarios: Scenario[];
  /** Every revision loaded. */
  revisions: Revision[];
  /** Seconds each run may take. */
  timeout: number;
}

/** Filters of `list scenarios`. */
export interface ScenarioFilter {
  /** A kernel path the scenario exercises (its `exercises` field). */
  path?: string;
  /** A violation kind seen on some revision (of the lineage, with `lineage`). */
  kind?: string;
  /** A lineage: scenarios of its kernel tree. */
  lineage?: string;
}

/** A row of `list scenarios`. */
export interface ScenarioRow {
  /** Scenario id. */
  id: string;
  /** The file it was loaded from. */
  file: string;
  /** The kernel tree it is written for. */
  kernel: string;
  /** The kernel paths it exercises. */
  exercises: string[];
  /** What it exercises, in one sentence. */
  purpose: string;
  /** With `--kind`: the revisions where the kind was seen. */
  seenOn?: string[];
}

/** A row of `list revisions`. */
export interface RevisionRow {
  /** Revision id. */
  id: string;
  /** The file it was loaded from. */
  file: string;
  /** Its lineage. */
  lineage: string;
  /** The kernel tree the model runs it on. */
  base: string;
  /** A fix or variant proposed in a thread. */
  candidate: boolean;
  /** The revision it comes after. */
  follows?: string;
  /** The patch series' subject. */
  title: string;
}

/** A row of `list hook-points`. */
export interface HookPointRow {
  /** The kernel path (function). */
  path: string;
  /** The hook point. */
  point: string;
  /** The kernel tree the model runs it on. */
  tree: string;
  /** What the code has just done or is about to do there. */
  doc: string;
  /** Range expressions in scope. */
  ranges: string[];
  /** Conditions a callout may sit under. */
  guards: string[];
  /** Expressions an `atomic` argument may compute. */
  exprs: string[];
  /** Whether an address is in scope. */
  address: boolean;
  /** Whether a struct page is in scope. */
  page: boolean;
  /** Where it is in each kernel tree of `docs/source-map.json` (`file:line function`). */
  sites: Record<string, string>;
}

/** A row of `list labels`. */
export interface LabelRow {
  /** The label (`during.at` names it). */
  label: string;
  /** The scenarios whose default-order run passes it, on some revision. */
  scenarios: string[];
}

/** Refuses a filter value that names nothing, saying what it may name. */
function known(option: string, value: string | undefined, names: Iterable<string>): void {
  if (value === undefined) return;
  const all = [...new Set(names)].sort();
  if (!all.includes(value)) {
    throw new RangeError(`Option "--${option}" is "${value}" (expected one of: ${all.join(", ")})`);
  }
}

/**
 * The scenarios that match every filter given.
 *
 * @param inp Scenarios, revisions and the time bound (`kind` runs them).
 * @param filter The filters.
 * @returns The rows, in the scenarios' order.
 * @throws {RangeError} For a path, kind or lineage that names nothing.
 */
export function listScenarios(inp: ListInputs, filter: ScenarioFilter = {}): ScenarioRow[] {
  known("path", filter.path, [...inp.scenarios.flatMap((s) => s.exercises), ...pathNames()]);
  known("kind", filter.kind, VIOLATION_KINDS);
  known("lineage", filter.lineage, inp.revisions.map((r) => r.lineage));
  const revs = filter.lineage === undefined
    ? inp.revisions
    : inp.revisions.filter((r) => r.lineage === filter.lineage);
  const rows: ScenarioRow[] = [];
  for (const s of inp.scenarios) {
    if (filter.path !== undefined && !s.exercises.includes(filter.path)) continue;
    const mine = revs.filter((r) => applies(s, r));
    if (filter.lineage !== undefined && mine.length === 0) continue;
    const row: ScenarioRow = {
      id: s.id,
      file: s.file,
      kernel: s.kernel,
      exercises: s.exercises,
      purpose: s.purpose,
    };
    if (filter.kind !== undefined) {
      const kind = filter.kind;
      row.seenOn = mine.filter((r) =>
        (runCell(s, r, { timeout: inp.timeout }).kinds as string[]).includes(kind)
      ).map((r) => r.id);
      if (row.seenOn.length === 0) continue;
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Every revision loaded.
 *
 * @param revisions The revisions.
 * @returns One row each, in their order.
 */
export function listRevisions(revisions: Revision[]): RevisionRow[] {
  return revisions.map((r) => {
    const row: RevisionRow = {
      id: r.id,
      file: r.file,
      lineage: r.lineage,
      base: r.base,
      candidate: r.candidate,
      title: r.title,
    };
    if (r.follows !== undefined) row.follows = r.follows;
    return row;
  });
}

/** The sites of `docs/source-map.json`, by path and point, by tree. */
export type SourceMapHooks = Record<string, Record<string, Record<string, unknown>>>;

/** Reads the hook points' sites from `docs/source-map.json` next to the sources. */
export function readSourceMapHooks(): SourceMapHooks {
  const url = new URL("../../docs/source-map.json", import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url)).hooks as SourceMapHooks;
}

function siteText(site: unknown): string | undefined {
  if (!site || typeof site !== "object") return undefined;
  const s = site as Record<string, unknown>;
  if (typeof s.absent === "string") return `absent: ${s.absent}`;
  if (typeof s.file !== "string") return undefined;
  const where = s.line === undefined ? s.file : `${s.file}:${s.line}`;
  return `${where} ${s.function}${s.hunk ? ` ${s.hunk}` : ""}`;
}

/**
 * Every hook point of every kernel path, with its place in each kernel tree.
 * Only the 2.6.24 tree has hook points: a 2.5.42 revision selects variants
 * of its nonlinear-mapping code instead.
 *
 * @param sites The source map's hook sites ({@link readSourceMapHooks}).
 * @returns One row per point, by path then point.
 */
export function listHookPoints(sites: SourceMapHooks = {}): HookPointRow[] {
  const rows: HookPointRow[] = [];
  for (const path of Object.keys(HOOK_POINTS).sort()) {
    for (const [point, h] of Object.entries(HOOK_POINTS[path])) {
      const where: Record<string, string> = {};
      for (const [tree, site] of Object.entries(sites[path]?.[point] ?? {})) {
        const text = siteText(site);
        if (text !== undefined) where[tree] = text;
      }
      rows.push({
        path,
        point,
        tree: "2.6.24",
        doc: h.doc,
        ranges: [...h.ranges ?? []],
        guards: [...h.guards ?? []],
        exprs: [...h.exprs ?? []],
        address: h.address === true,
        page: h.page === true,
        sites: where,
      });
    }
  }
  return rows;
}

/**
 * The scheduling-point labels a `during.at` can name: those the scenarios'
 * runs pass, in the default order with every lock a point, on every
 * revision of their kernel tree. A label names a lock taken or waited for
 * (`lock <name>`, `wait <name>`, with the mm or object it belongs to) or a
 * named point of a kernel function or driver (`do_wp_page:copy.unlocked`,
 * `kvm0:retry`).
 *
 * @param inp Scenarios, revisions and the time bound.
 * @returns One row per label, sorted.
 */
export function listLabels(inp: ListInputs): LabelRow[] {
  const seen = new Map<string, Set<string>>();
  for (const s of inp.scenarios) {
    for (const r of inp.revisions.filter((x) => applies(s, x))) {
      const run = new Run(s, r, {
        preemptive: true,
        onPoint: (_step, _thread, p) => {
          let ids = seen.get(p.label);
          if (!ids) seen.set(p.label, ids = new Set());
          ids.add(s.id);
        },
      });
      try {
        run.finish();
      } catch (e) {
        // A during or fail the run does not reach on this revision names no label here.
        if (!(e instanceof InputError)) throw e;
      }
    }
  }
  return [...seen.keys()].sort().map((label) => ({ label, scenarios: [...seen.get(label)!] }));
}

/** Left-aligned columns, two spaces apart, the last one unpadded. */
function columns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd() + "\n"
  ).join("");
}

/**
 * Renders rows of a topic as plain text: one line per row, in columns.
 *
 * @param topic What the rows are.
 * @param rows The rows of that topic.
 * @returns The text, ending in a newline ("none" when there is no row).
 */
export function formatList(
  topic: ListTopic,
  rows: ScenarioRow[] | RevisionRow[] | HookPointRow[] | LabelRow[],
): string {
  if (rows.length === 0) return `no ${topic.replace(/s$/, "")} matches\n`;
  if (topic === "scenarios") {
    const r = rows as ScenarioRow[];
    const seen = r.some((x) => x.seenOn);
    return columns([
      ["scenario", "kernel", "exercises", seen ? "seen on" : "purpose"],
      ...r.map((x) => [
        x.id,
        x.kernel,
        x.exercises.join(","),
        seen ? x.seenOn!.join(",") : x.purpose,
      ]),
    ]);
  }
  if (topic === "revisions") {
    return columns([
      ["revision", "lineage", "base", "follows", "title"],
      ...(rows as RevisionRow[]).map((x) => [
        x.id + (x.candidate ? "*" : ""),
        x.lineage,
        x.base,
        x.follows ?? "-",
        x.title,
      ]),
    ]);
  }
  if (topic === "hook-points") {
    return columns([
      ["path", "point", "ranges", "v2.6.24", "what the code has just done"],
      ...(rows as HookPointRow[]).map((x) => [
        x.path,
        x.point,
        x.ranges.join(",") || "-",
        x.sites["v2.6.24"] ?? "-",
        x.doc,
      ]),
    ]);
  }
  return columns([
    ["label", "scenarios"],
    ...(rows as LabelRow[]).map((x) => [
      x.label,
      x.scenarios.slice(0, 3).join(",") +
      (x.scenarios.length > 3 ? ` (+${x.scenarios.length - 3} more)` : ""),
    ]),
  ]);
}
