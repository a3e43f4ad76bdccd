/**
 * Diffs outcomes across revisions: classifies each scenario's change from
 * one revision to another (regression, fix, change, same), groups revisions
 * whose outcomes are equal, names the config keys that differ, and for each
 * changed verdict the keys that cause it (see `blame.ts`).
 *
 * @module
 */
import type { ViolationKind } from "../check/checker.ts";
import { type Matrix, scenariosFor } from "../run/matrix.ts";
import { behaviourDigest, type CellStatus, type Outcome } from "../run/outcome.ts";
import {
  diffConfig,
  type KeyChange,
  nonlinearKeyFunction,
  type Revision,
} from "../run/revision.ts";
import { digest } from "../model/state.ts";
import { blame } from "./blame.ts";
import { isVerdictChange } from "./_classes.ts";
import { type ChangeSummary, changeSummary } from "../analysis/summary.ts";

export { isVerdictChange };

/**
 * How a scenario's outcome changed from one revision to the next:
 * `regression` (a violation kind appears), `fix` (one disappears), `change`
 * (same kinds, other parts of the outcome differ) or `same`.
 */
export type ChangeClass = "regression" | "fix" | "change" | "same";

export type { CellStatus };

/** Every {@link CellStatus}, in order of precedence from the lowest. */
export const CELL_STATUSES: readonly CellStatus[] = ["pass", "fail", "unsupported", "timeout"];

/**
 * The CI status of an outcome, as the runner recorded it (see `CellStatus`).
 *
 * @param o The outcome.
 * @returns Its status.
 *
 * @example
 * ```ts
 * import { cellStatus } from "./diff.ts";
 * import type { Outcome } from "../run/outcome.ts";
 * const o = { verdict: "fail", status: "timeout" };
 * console.log(cellStatus(o as unknown as Outcome)); // "timeout"
 * ```
 */
export function cellStatus(o: Outcome): CellStatus {
  // An outcome of an older writer of outcome@1 has no status: its verdict is the best known.
  return o.status ?? o.verdict;
}

/**
 * Whether an outcome regressed against a baseline outcome of the same
 * scenario: it has a violation kind the baseline lacks, or its status is
 * `unsupported` or `timeout` where the baseline's is not.
 *
 * @param baseline The outcome on the baseline revision.
 * @param o The outcome on the revision checked.
 * @returns True when `o` regressed.
 *
 * @example
 * ```ts
 * import { regressedAgainst } from "./diff.ts";
 * import type { Outcome } from "../run/outcome.ts";
 * const base = { status: "pass", kinds: [] } as unknown as Outcome;
 * const bad = { status: "fail", kinds: ["lost-write"] } as unknown as Outcome;
 * console.log(regressedAgainst(base, bad), regressedAgainst(bad, base)); // true false
 * ```
 */
export function regressedAgainst(baseline: Outcome, o: Outcome): boolean {
  if (o.kinds.some((k) => !baseline.kinds.includes(k))) return true;
  const s = cellStatus(o);
  return (s === "unsupported" || s === "timeout") && cellStatus(baseline) !== s;
}

/** Parts of an outcome compared by {@link outcomeDifferences}. */
export const OUTCOME_PARTS = [
  "violations",
  "returns",
  "trace",
  "counters",
  "secondaries",
  "aborted",
  "stateDigest",
] as const;

/** One part of an outcome. */
export type OutcomePart = typeof OUTCOME_PARTS[number];

/** How one scenario's outcome changed between two revisions. */
export interface ScenarioChange {
  /** The scenario id. */
  scenario: string;
  /** The earlier revision. */
  from: string;
  /** The later revision. */
  to: string;
  /**
   * `["regression"]`, `["fix"]`, `["regression", "fix"]` (kinds swapped),
   * `["change"]` or `["same"]`.
   */
  classes: ChangeClass[];
  /** Violation kinds on `from`. */
  fromKinds: ViolationKind[];
  /** Violation kinds on `to`. */
  toKinds: ViolationKind[];
  /** The {@link CellStatus} on `from`. */
  fromStatus: CellStatus;
  /** The {@link CellStatus} on `to`. */
  toStatus: CellStatus;
  /** Kinds present on `to` only. */
  added: ViolationKind[];
  /** Kinds present on `from` only. */
  removed: ViolationKind[];
  /** Outcome parts that differ (empty when the class is `same`). */
  differs: OutcomePart[];
  /**
   * The differing config keys relevant to the scenario: `chain.*` keys and
   * keys of the kernel paths that appear in either outcome's trace.
   */
  relevant: KeyChange[];
  /**
   * For a regression or fix: the smallest set of differing keys found that
   * alone flips the verdict (`from` with these keys taken from `to` has
   * `to`'s violation kinds; see `blame`). Empty when no set of the differing
   * keys does. The verdict blamed is the cell's, one run: for a race
   * scenario, its default schedule. Absent when blame was not asked for,
   * for other classes, and when a run was stopped by the time bound.
   */
  causes?: KeyChange[];
  /**
   * Present with {@link ScenarioChange.causes}: other keys that each flip the
   * verdict alone as well (when more than one single key does).
   */
  alternatives?: KeyChange[];
  /** Present with {@link ScenarioChange.causes}: the other keys that differ. */
  alsoDiffer?: KeyChange[];
  /**
   * For a regression or fix: the command that reproduces the outcome on
   * `to` (a user file by its path; see `reproduceCommand`).
   */
  reproduce?: string;
}

/** Options of {@link compareRevisions}, {@link lineageDiff} and `bisect`. */
export interface CompareOptions {
  /** Search the keys that cause each regression and fix (default true; see `blame`). */
  blame?: boolean;
  /** The time bound of each run of the blame search, in seconds (`DEFAULT_TIMEOUT_SECONDS` when absent). */
  timeout?: number;
}

/** The comparison of two revisions over every scenario of a matrix. */
export interface Comparison {
  /** The earlier (or baseline) revision id. */
  from: string;
  /** The later revision id. */
  to: string;
  /** Every behaviour key that differs between the two revisions. */
  keys: KeyChange[];
  /** One entry per scenario, in matrix order. */
  scenarios: ScenarioChange[];
  /** The scenarios counted by class of change, each once (see `changeSummary`). */
  summary: ChangeSummary;
}

/** Revisions whose outcomes on one scenario are equal. */
export interface OutcomeGroup {
  /** Behaviour digest shared by the group. */
  digest: string;
  /** Violation kinds shared by the group. */
  kinds: ViolationKind[];
  /** Revision ids, in the order they were given. */
  revisions: string[];
}

/** A lineage's revisions in order, with their candidates. */
export interface LineageOrder {
  /** The lineage name. */
  lineage: string;
  /** Posted revisions, root first, each following the one before. */
  order: string[];
  /** Candidate revisions and the revision each follows, sorted by id. */
  candidates: { id: string; parent?: string }[];
}

/** Every change along a lineage, and each candidate against its parent. */
export interface LineageDiff extends LineageOrder {
  /** Comparisons of consecutive revisions along {@link LineageOrder.order}. */
  steps: Comparison[];
  /** Comparisons of each candidate's parent (`from`) with the candidate (`to`). */
  candidateSteps: Comparison[];
  /** Per scenario, the revisions of the lineage grouped by equal outcome. */
  groups: { scenario: string; groups: OutcomeGroup[] }[];
}

/**
 * Classifies the change of one scenario's outcome from `a` to `b`.
 * A change of kinds is a regression (a kind appears), a fix (one
 * disappears) or both; otherwise a different behaviour digest is a change.
 *
 * @param a The outcome on the earlier revision.
 * @param b The outcome on the later revision.
 * @returns The classes that apply, in the order regression, fix, change, same.
 *
 * @example
 * ```ts
 * import { classifyChange } from "./diff.ts";
 * import type { Outcome } from "../run/outcome.ts";
 * const a = { kinds: [] } as unknown as Outcome;
 * const b = { kinds: ["unbalanced-range"] } as unknown as Outcome;
 * console.log(classifyChange(a, b)); // ["regression"]
 * ```
 */
export function classifyChange(a: Outcome, b: Outcome): ChangeClass[] {
  const added = b.kinds.filter((k) => !a.kinds.includes(k));
  const removed = a.kinds.filter((k) => !b.kinds.includes(k));
  const out: ChangeClass[] = [];
  if (added.length) out.push("regression");
  if (removed.length) out.push("fix");
  if (out.length) return out;
  return behaviourOf(a) === behaviourOf(b) ? ["same"] : ["change"];
}

/** Behaviour digests, computed once per outcome (outcomes are not mutated). */
const behaviours = new WeakMap<Outcome, string>();

function behaviourOf(o: Outcome): string {
  let d = behaviours.get(o);
  if (d === undefined) behaviours.set(o, d = behaviourDigest(o));
  return d;
}

/**
 * Names the parts of two outcomes that differ (the revision id, hashes and
 * reproduce command are not compared).
 *
 * @param a One outcome.
 * @param b Another outcome.
 * @returns The differing parts, in {@link OUTCOME_PARTS} order.
 */
export function outcomeDifferences(a: Outcome, b: Outcome): OutcomePart[] {
  return OUTCOME_PARTS.filter((p) => digest(a[p] ?? null) !== digest(b[p] ?? null));
}

/**
 * The kernel paths a scenario's outcomes traverse with a callout: the
 * `path` of every trace entry, sorted and deduplicated.
 *
 * @param outcomes Outcomes of one scenario (on any revisions).
 * @returns Path names, sorted.
 */
export function tracedPaths(...outcomes: Outcome[]): string[] {
  const paths = new Set<string>();
  for (const o of outcomes) {
    for (const t of o.trace) paths.add(t.path);
    for (const p of o.paths ?? []) paths.add(p);
  }
  return [...paths].sort();
}

/**
 * Filters config key changes down to those relevant to a scenario: keys of
 * the notifier chain (`chain.*`), keys under `paths.<p>.` for every path
 * `p` in `paths`, and `nonlinear.*` keys of the 2.5.42 functions in `paths`
 * (`remap_args` and `default_prot` belong to `sys_remap_file_pages`).
 *
 * @param keys Key changes, as from `diffConfig`.
 * @param paths Kernel paths the scenario's traces show.
 * @returns The relevant subset, in the original order.
 *
 * @example
 * ```ts
 * import { relevantKeys } from "./diff.ts";
 * const keys = [
 *   { key: "chain.list", from: "rwlock", to: "rcu" },
 *   { key: "paths.do_wp_page.callouts[unlock:invalidate_range_end]", to: "range=page" },
 *   { key: "paths.exit_mmap.callouts[entry:release]", to: "present" },
 * ];
 * console.log(relevantKeys(keys, ["do_wp_page"]).map((k) => k.key));
 * ```
 */
export function relevantKeys(keys: KeyChange[], paths: string[]): KeyChange[] {
  return keys.filter((k) =>
    k.key.startsWith("chain.") || paths.some((p) => k.key.startsWith(`paths.${p}.`)) ||
    (k.key.startsWith("nonlinear.") && paths.includes(nonlinearKeyFunction(k.key)))
  );
}

/**
 * Finds a revision of a matrix by id.
 *
 * @param matrix The matrix.
 * @param id A revision id.
 * @returns The revision.
 * @throws {RangeError} When the matrix has no such revision.
 */
export function revisionOf(matrix: Matrix, id: string): Revision {
  const r = matrix.revisions.find((x) => x.id === id);
  if (!r) {
    throw new RangeError(
      `Unknown revision "${id}" (known: ${matrix.revisions.map((x) => x.id).join(", ")})`,
    );
  }
  return r;
}

/** Outcomes by scenario, then revision, per matrix cell array (matrices are not mutated). */
const indexes = new WeakMap<Outcome[], Map<string, Map<string, Outcome>>>();

function index(matrix: Matrix): Map<string, Map<string, Outcome>> {
  let m = indexes.get(matrix.cells);
  if (m) return m;
  m = new Map();
  for (const c of matrix.cells) {
    let row = m.get(c.scenario);
    if (!row) m.set(c.scenario, row = new Map());
    row.set(c.revision, c);
  }
  indexes.set(matrix.cells, m);
  return m;
}

/**
 * The outcome of one scenario on one revision, looked up in an index built
 * once per matrix.
 *
 * @param matrix The matrix.
 * @param scenario A scenario id.
 * @param revision A revision id.
 * @returns The outcome.
 * @throws {RangeError} When the matrix has no such outcome.
 */
export function outcomeOf(matrix: Matrix, scenario: string, revision: string): Outcome {
  const o = index(matrix).get(scenario)?.get(revision);
  if (!o) throw new RangeError(`No outcome for scenario "${scenario}" on revision "${revision}"`);
  return o;
}

/**
 * Describes how one scenario changed between two outcomes, given the config
 * keys that differ between their revisions.
 *
 * @param a The outcome on the earlier revision.
 * @param b The outcome on the later revision.
 * @param keys The config keys that differ from `a`'s revision to `b`'s.
 * @returns The change, with the relevant subset of `keys`.
 */
export function scenarioChange(a: Outcome, b: Outcome, keys: KeyChange[]): ScenarioChange {
  const classes = classifyChange(a, b);
  return {
    scenario: a.scenario,
    from: a.revision,
    to: b.revision,
    classes,
    fromKinds: a.kinds,
    toKinds: b.kinds,
    fromStatus: cellStatus(a),
    toStatus: cellStatus(b),
    added: b.kinds.filter((k) => !a.kinds.includes(k)),
    removed: a.kinds.filter((k) => !b.kinds.includes(k)),
    differs: classes[0] === "same" ? [] : outcomeDifferences(a, b),
    relevant: relevantKeys(keys, tracedPaths(a, b)),
  };
}

/**
 * Compares revision `a` with revision `b` on every scenario of a matrix.
 * Each regression and fix names the keys that cause it (see `blame`),
 * unless `opts.blame` is false.
 *
 * @param matrix A matrix holding outcomes of both revisions.
 * @param a The earlier (or baseline) revision id.
 * @param b The later revision id.
 * @param opts Whether to search the causes, and the time bound of each run.
 * @returns The differing config keys and one {@link ScenarioChange} per scenario.
 * @throws {RangeError} When a revision or an outcome is missing.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { compareRevisions } from "./diff.ts";
 * const emmu = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const m = runMatrix(loadScenarioDir("scenarios"), emmu);
 * const c = compareRevisions(m, "emmu-v5", "emmu-v5-holt-guard");
 * for (const s of c.scenarios) console.log(s.scenario, s.classes.join("+"));
 * ```
 */
export function compareRevisions(
  matrix: Matrix,
  a: string,
  b: string,
  opts: CompareOptions = {},
): Comparison {
  const ra = revisionOf(matrix, a);
  const rb = revisionOf(matrix, b);
  const keys = diffConfig(ra, rb);
  if (ra.base !== rb.base) {
    throw new RangeError(
      `Revisions "${a}" (${ra.base}) and "${b}" (${rb.base}) apply to different kernel trees: no scenario runs on both`,
    );
  }
  const scenarios = scenariosFor(matrix, a, b).map((s) => {
    const to = outcomeOf(matrix, s.id, b);
    const c: ScenarioChange = {
      ...scenarioChange(outcomeOf(matrix, s.id, a), to, keys),
      ...verdictCauses(matrix, { scenario: s.id, from: a, to: b }, opts),
    };
    if (isVerdictChange(c)) c.reproduce = to.reproduce;
    return c;
  });
  return { from: a, to: b, keys, scenarios, summary: changeSummary(scenarios) };
}

/** The keys that cause a verdict change (see {@link verdictCauses}). */
export interface VerdictCauses {
  /** The smallest set of differing keys found that alone flips the verdict; empty when none does. */
  causes: KeyChange[];
  /** Other keys that each flip the verdict alone as well. */
  alternatives: KeyChange[];
  /** The other keys that differ. */
  alsoDiffer: KeyChange[];
}

/**
 * The keys that cause a scenario's verdict to change from one revision of a
 * matrix to another, searched with `blame` on the verdict of one run.
 * Undefined when there is nothing to search: the violation kinds are the
 * same, a run was stopped by the time bound (its verdict is partial), or
 * `opts.blame` is false.
 *
 * @param matrix A matrix holding the scenario and both revisions.
 * @param change The scenario id and the two revision ids.
 * @param opts Whether to search, and the time bound of each run.
 * @returns The causes, or undefined.
 * @throws {RangeError} When the matrix lacks the scenario, a revision or an outcome.
 */
export function verdictCauses(
  matrix: Matrix,
  change: { scenario: string; from: string; to: string },
  opts: CompareOptions = {},
): VerdictCauses | undefined {
  const a = outcomeOf(matrix, change.scenario, change.from);
  const b = outcomeOf(matrix, change.scenario, change.to);
  if (opts.blame === false || !isVerdictChange({ classes: classifyChange(a, b) })) return undefined;
  if (cellStatus(a) === "timeout" || cellStatus(b) === "timeout") return undefined;
  const scenario = matrix.scenarios.find((s) => s.id === change.scenario)!;
  const from = revisionOf(matrix, change.from);
  const to = revisionOf(matrix, change.to);
  const { causes, alternatives, alsoDiffer } = blame(scenario, from, to, {
    timeout: opts.timeout,
    known: { from: a, to: b },
  });
  return { causes, alternatives, alsoDiffer };
}

/**
 * Groups revisions by equal outcome (equal behaviour digest) on one scenario.
 *
 * @param matrix The matrix.
 * @param scenario A scenario id.
 * @param revisions Revision ids to group, in display order.
 * @returns The groups, in order of their first revision.
 */
export function groupRevisions(
  matrix: Matrix,
  scenario: string,
  revisions: string[],
): OutcomeGroup[] {
  const groups: OutcomeGroup[] = [];
  for (const r of revisions) {
    const o = outcomeOf(matrix, scenario, r);
    const d = behaviourOf(o);
    const g = groups.find((x) => x.digest === d);
    if (g) g.revisions.push(r);
    else groups.push({ digest: d, kinds: o.kinds, revisions: [r] });
  }
  return groups;
}

/**
 * The lineages of a set of revisions: sorted by name, with `reference` last.
 *
 * @param revisions Revisions.
 * @returns Lineage names.
 */
export function lineages(revisions: Revision[]): string[] {
  const names = [...new Set(revisions.map((r) => r.lineage))];
  return names.sort((a, b) =>
    Number(a === "reference") - Number(b === "reference") || a.localeCompare(b)
  );
}

/**
 * Orders a lineage: starting at its root (the one posted revision that
 * follows nothing of the lineage), each next revision is the posted revision
 * that `follows` the previous one. Candidates are listed apart with their parent.
 *
 * @param revisions Every revision (other lineages are ignored).
 * @param lineage The lineage name.
 * @returns The order and the candidates.
 * @throws {RangeError} When the lineage is unknown, has no single root, or branches.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { lineageOrder } from "./diff.ts";
 * console.log(lineageOrder(loadRevisionDir("patches"), "emmu").order.join(" -> "));
 * ```
 */
export function lineageOrder(revisions: Revision[], lineage: string): LineageOrder {
  const mine = revisions.filter((r) => r.lineage === lineage);
  if (mine.length === 0) {
    throw new RangeError(
      `Unknown lineage "${lineage}" (known: ${lineages(revisions).join(", ")})`,
    );
  }
  const posted = mine.filter((r) => !r.candidate);
  const postedIds = new Set(posted.map((r) => r.id));
  const roots = posted.filter((r) => r.follows === undefined || !postedIds.has(r.follows));
  if (roots.length !== 1) {
    throw new RangeError(
      `Lineage "${lineage}" has ${roots.length} roots (${
        roots.map((r) => r.id).join(", ") || "none"
      }); exactly one posted revision must follow nothing of the lineage`,
    );
  }
  const order = [roots[0].id];
  for (;;) {
    const last = order[order.length - 1];
    const next = posted.filter((r) => r.follows === last).map((r) => r.id).sort();
    if (next.length === 0) break;
    if (next.length > 1) {
      throw new RangeError(
        `Lineage "${lineage}" branches after "${last}": ${
          next.map((n) => `"${n}"`).join(" and ")
        } follow it (mark all but one as candidates)`,
      );
    }
    order.push(next[0]);
  }
  const lost = posted.filter((r) => !order.includes(r.id)).map((r) => r.id);
  if (lost.length) {
    throw new RangeError(
      `Lineage "${lineage}": ${lost.join(", ")} cannot be reached from "${order[0]}"`,
    );
  }
  const candidates = mine.filter((r) => r.candidate).map((r) => {
    const c: { id: string; parent?: string } = { id: r.id };
    if (r.follows !== undefined) c.parent = r.follows;
    return c;
  }).sort((a, b) => a.id.localeCompare(b.id));
  return { lineage, order, candidates };
}

/**
 * Display order of a lineage's revisions: each posted revision followed by
 * the candidates that follow it (and theirs), then candidates with no parent.
 *
 * @param lo The lineage order.
 * @returns Revision ids.
 */
export function displayOrder(lo: LineageOrder): string[] {
  const out: string[] = [];
  const visit = (id: string) => {
    out.push(id);
    for (const c of lo.candidates) if (c.parent === id && !out.includes(c.id)) visit(c.id);
  };
  for (const id of lo.order) visit(id);
  for (const c of lo.candidates) if (!out.includes(c.id)) visit(c.id);
  return out;
}

/**
 * The revisions that come after a baseline in its lineage: the posted
 * revisions after it, and the candidates that follow it or one of those
 * (or follow such a candidate), in display order. A baseline check judges
 * these, never the revisions before the baseline.
 *
 * @param revisions Every revision.
 * @param baseline The baseline revision id.
 * @returns Revision ids, the baseline excluded.
 * @throws {RangeError} When the baseline is unknown or its lineage malformed.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { revisionsAfter } from "./diff.ts";
 * console.log(revisionsAfter(loadRevisionDir("patches"), "emmu-v5"));
 * ```
 */
export function revisionsAfter(revisions: Revision[], baseline: string): string[] {
  const b = revisions.find((r) => r.id === baseline);
  if (!b) throw new RangeError(`Unknown revision "${baseline}"`);
  const lo = lineageOrder(revisions, b.lineage);
  const i = lo.order.indexOf(baseline);
  const after = new Set(i < 0 ? [] : lo.order.slice(i + 1));
  const from = new Set([baseline, ...after]);
  for (let grew = true; grew;) {
    grew = false;
    for (const c of lo.candidates) {
      if (!from.has(c.id) && c.parent !== undefined && from.has(c.parent)) {
        from.add(c.id);
        after.add(c.id);
        grew = true;
      }
    }
  }
  return displayOrder(lo).filter((id) => after.has(id));
}

/**
 * Diffs a lineage: every pair of consecutive posted revisions, and every
 * candidate against its parent, over every scenario of the matrix, each
 * regression and fix with its causes (see {@link compareRevisions}).
 *
 * @param matrix A matrix holding the lineage's revisions.
 * @param lineage The lineage name.
 * @param opts Whether to search the causes, and the time bound of each run.
 * @returns The lineage order, the comparisons and the outcome groups.
 * @throws {RangeError} When the lineage is unknown or malformed.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { lineageDiff } from "./diff.ts";
 * const emmu = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const m = runMatrix(loadScenarioDir("scenarios"), emmu);
 * for (const step of lineageDiff(m, "emmu").steps) {
 *   const hits = step.scenarios.filter((s) => s.classes.includes("regression"));
 *   console.log(`${step.from} -> ${step.to}: ${hits.length} regression(s)`);
 * }
 * ```
 */
export function lineageDiff(
  matrix: Matrix,
  lineage: string,
  opts: CompareOptions = {},
): LineageDiff {
  const lo = lineageOrder(matrix.revisions, lineage);
  const steps: Comparison[] = [];
  for (let i = 1; i < lo.order.length; i++) {
    steps.push(compareRevisions(matrix, lo.order[i - 1], lo.order[i], opts));
  }
  const candidateSteps = lo.candidates.filter((c) => c.parent !== undefined).map((c) =>
    compareRevisions(matrix, c.parent!, c.id, opts)
  );
  const shown = displayOrder(lo);
  const groups = scenariosFor(matrix, ...shown).map((s) => ({
    scenario: s.id,
    groups: groupRevisions(matrix, s.id, shown),
  }));
  return { ...lo, steps, candidateSteps, groups };
}

/** A scenario that regressed on a revision against the baseline. */
export interface BaselineRegression {
  /** The scenario id. */
  scenario: string;
  /** The revision that regressed. */
  revision: string;
  /** The status on the baseline. */
  baselineStatus: CellStatus;
  /** The status on the revision. */
  status: CellStatus;
  /** Violation kinds on the baseline. */
  baselineKinds: ViolationKind[];
  /** Violation kinds on the revision. */
  kinds: ViolationKind[];
  /** Kinds on the revision that the baseline lacks. */
  added: ViolationKind[];
}

/** Every revision checked against one baseline revision (see {@link checkBaseline}). */
export interface BaselineCheck {
  /** The baseline revision id. */
  revision: string;
  /** The revisions checked against it, in the order given. */
  checked: string[];
  /** Every (scenario, revision) that regressed, scenario-major. */
  regressions: BaselineRegression[];
}

/**
 * Checks revisions against a baseline revision on every scenario of a
 * matrix: a cell regressed when {@link regressedAgainst} says so. CI exits
 * 1 when the result lists a regression.
 *
 * @param matrix A matrix holding the baseline and the revisions.
 * @param baseline The baseline revision id.
 * @param revisions The revisions to check (the baseline itself is skipped).
 * @returns The regressions.
 * @throws {RangeError} When a revision or an outcome is missing.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { checkBaseline } from "./diff.ts";
 * const emmu = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const m = runMatrix(loadScenarioDir("scenarios"), emmu);
 * const c = checkBaseline(m, "emmu-v5", ["emmu-v5-holt-guard"]);
 * console.log(c.regressions.length); // 0
 * ```
 */
export function checkBaseline(
  matrix: Matrix,
  baseline: string,
  revisions: string[],
): BaselineCheck {
  const base0 = revisionOf(matrix, baseline).base;
  // A revision of another kernel tree shares no scenario with the baseline.
  const checked = revisions.filter((r) => r !== baseline && revisionOf(matrix, r).base === base0);
  const regressions: BaselineRegression[] = [];
  for (const s of scenariosFor(matrix, baseline)) {
    const base = outcomeOf(matrix, s.id, baseline);
    for (const r of checked) {
      const o = outcomeOf(matrix, s.id, r);
      if (!regressedAgainst(base, o)) continue;
      regressions.push({
        scenario: s.id,
        revision: r,
        baselineStatus: cellStatus(base),
        status: cellStatus(o),
        baselineKinds: base.kinds,
        kinds: o.kinds,
        added: o.kinds.filter((k) => !base.kinds.includes(k)),
      });
    }
  }
  return { revision: baseline, checked, regressions };
}
