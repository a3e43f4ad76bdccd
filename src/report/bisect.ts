/**
 * Bisect: the first revision along a lineage where a scenario's verdict
 * changes, with the config keys that changed there and those that cause
 * the change.
 *
 * @module
 */
import type { ViolationKind } from "../check/checker.ts";
import { type Matrix, scenariosFor } from "../run/matrix.ts";
import type { Outcome } from "../run/outcome.ts";
import { diffConfig, type KeyChange } from "../run/revision.ts";
import {
  type CellStatus,
  cellStatus,
  type CompareOptions,
  lineageOrder,
  outcomeOf,
  relevantKeys,
  revisionOf,
  tracedPaths,
  type VerdictCauses,
  verdictCauses,
} from "./diff.ts";
import {
  causeLines,
  formatKeyChange,
  formatViolation,
  statusText,
  verdictText,
} from "./_format.ts";

/** A verdict change between two consecutive revisions of a lineage. */
export interface Transition {
  /** The revision before the change. */
  from: string;
  /** The revision where the verdict changed. */
  to: string;
  /** `["regression"]` (kinds appear), `["fix"]` (kinds disappear) or both. */
  classes: ("regression" | "fix")[];
  /** Kinds on `to` that `from` lacks. */
  added: ViolationKind[];
  /** Kinds on `from` that `to` lacks. */
  removed: ViolationKind[];
  /** How many config keys differ from `from` to `to`. */
  keyCount: number;
  /** The differing config keys relevant to the scenario (chain keys, keys of traced paths). */
  relevant: KeyChange[];
  /**
   * The smallest set of differing keys found that alone flips the verdict
   * (see `blame`); empty when none does. Absent when blame was not asked
   * for, or a run was stopped by the time bound.
   */
  causes?: KeyChange[];
  /** Present with {@link Transition.causes}: other keys that each flip the verdict alone as well. */
  alternatives?: KeyChange[];
  /** Present with {@link Transition.causes}: the other keys that differ. */
  alsoDiffer?: KeyChange[];
  /** The command that reproduces the outcome on `to`. */
  reproduce: string;
}

/** The result of {@link bisect}. */
export interface BisectResult {
  /** The lineage name. */
  lineage: string;
  /** The scenario id. */
  scenario: string;
  /** Posted revisions of the lineage, in order, with their kinds and status on the scenario. */
  steps: { revision: string; kinds: ViolationKind[]; status: CellStatus }[];
  /**
   * Every verdict change along the lineage, in order: the first one (the
   * pair {@link BisectResult.last} / {@link BisectResult.first}) and every
   * later one ("regressed in", "fixed in").
   */
  transitions: Transition[];
  /** The last revision whose kinds equal the first revision's. */
  last: string;
  /** The first revision whose kinds differ from the first revision's; absent when none does. */
  first?: string;
  /** `regression` when kinds appear, `fix` when they only disappear. */
  change?: "regression" | "fix";
  /**
   * How to name the two revisions: "good" / "bad", "bad" / "good" for a fix,
   * or "unchanged" / "changed" where kinds both appear and disappear.
   */
  labels?: [string, string];
  /** Kinds on {@link BisectResult.first} that the lineage's first revision lacks. */
  added: ViolationKind[];
  /** Kinds of the lineage's first revision that {@link BisectResult.first} lacks. */
  removed: ViolationKind[];
  /** Every config key that differs from `last` to `first`. */
  keys: KeyChange[];
  /** The subset of {@link BisectResult.keys} relevant to the scenario. */
  relevant: KeyChange[];
  /** The keys that cause the change from `last` to `first` (as {@link Transition.causes}). */
  causes?: KeyChange[];
  /** Other keys that each cause it alone as well (as {@link Transition.alternatives}). */
  alternatives?: KeyChange[];
  /** The other keys that differ from `last` to `first` (as {@link Transition.alsoDiffer}). */
  alsoDiffer?: KeyChange[];
  /** The outcome on `last`. */
  lastOutcome: Outcome;
  /** The outcome on `first`, when there is one. */
  firstOutcome?: Outcome;
}

/**
 * Finds, along a lineage's posted revisions (candidates excluded), the first
 * revision whose violation kinds on a scenario differ from the first
 * revision's, and the config keys that differ from the revision before it;
 * for that change and every later one, the keys that cause it (see `blame`),
 * unless `opts.blame` is false.
 *
 * @param matrix A matrix holding the lineage's revisions and the scenario.
 * @param lineage The lineage name.
 * @param scenario The scenario id.
 * @param opts Whether to search the causes, and the time bound of each run.
 * @returns The bisection; `first` is absent when the kinds never change.
 * @throws {RangeError} When the lineage, scenario or an outcome is missing.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { bisect, formatBisect } from "./bisect.ts";
 * const emmu = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const m = runMatrix(loadScenarioDir("scenarios"), emmu);
 * console.log(formatBisect(bisect(m, "emmu", m.scenarios[0].id)));
 * ```
 */
export function bisect(
  matrix: Matrix,
  lineage: string,
  scenario: string,
  opts: CompareOptions = {},
): BisectResult {
  if (!matrix.scenarios.some((s) => s.id === scenario)) {
    throw new RangeError(
      `Unknown scenario "${scenario}" (known: ${matrix.scenarios.map((s) => s.id).join(", ")})`,
    );
  }
  const { order } = lineageOrder(matrix.revisions, lineage);
  if (!scenariosFor(matrix, ...order).some((s) => s.id === scenario)) {
    throw new RangeError(
      `Scenario "${scenario}" is not written for the kernel tree of lineage "${lineage}"`,
    );
  }
  const outcomes = order.map((r) => outcomeOf(matrix, scenario, r));
  const steps = outcomes.map((o) => ({
    revision: o.revision,
    kinds: o.kinds,
    status: cellStatus(o),
  }));
  const same = (a: ViolationKind[], b: ViolationKind[]) =>
    a.length === b.length && a.every((k) => b.includes(k));
  const transitions: Transition[] = [];
  for (let j = 1; j < outcomes.length; j++) {
    const [a, b] = [outcomes[j - 1], outcomes[j]];
    if (same(a.kinds, b.kinds)) continue;
    const added = b.kinds.filter((k) => !a.kinds.includes(k));
    const removed = a.kinds.filter((k) => !b.kinds.includes(k));
    const keys = diffConfig(revisionOf(matrix, a.revision), revisionOf(matrix, b.revision));
    transitions.push({
      from: a.revision,
      to: b.revision,
      classes: [
        ...(added.length ? ["regression" as const] : []),
        ...(removed.length ? ["fix" as const] : []),
      ],
      added,
      removed,
      keyCount: keys.length,
      relevant: relevantKeys(keys, tracedPaths(a, b)),
      ...verdictCauses(matrix, { scenario, from: a.revision, to: b.revision }, opts),
      reproduce: b.reproduce,
    });
  }
  const base = outcomes[0].kinds;
  const i = outcomes.findIndex((o) => !same(o.kinds, base));
  if (i < 0) {
    return {
      lineage,
      scenario,
      steps,
      transitions,
      last: order[order.length - 1],
      added: [],
      removed: [],
      keys: [],
      relevant: [],
      lastOutcome: outcomes[outcomes.length - 1],
    };
  }
  const before = outcomes[i - 1];
  const after = outcomes[i];
  const added = after.kinds.filter((k) => !base.includes(k));
  const removed = base.filter((k) => !after.kinds.includes(k));
  const keys = diffConfig(revisionOf(matrix, before.revision), revisionOf(matrix, after.revision));
  const change = added.length ? "regression" : "fix";
  // The first change is the first transition: its causes are already searched.
  const t = transitions[0];
  const causes: Partial<VerdictCauses> = t.causes
    ? { causes: t.causes, alternatives: t.alternatives, alsoDiffer: t.alsoDiffer }
    : {};
  return {
    lineage,
    scenario,
    steps,
    transitions,
    last: before.revision,
    first: after.revision,
    change,
    // A change that both adds and removes kinds is neither good to bad nor bad to good.
    labels: added.length && removed.length
      ? ["unchanged", "changed"]
      : change === "regression"
      ? ["good", "bad"]
      : ["bad", "good"],
    added,
    removed,
    keys,
    relevant: relevantKeys(keys, tracedPaths(before, after)),
    ...causes,
    lastOutcome: before,
    firstOutcome: after,
  };
}

/**
 * Renders a bisection as plain text: the verdict along the lineage, then
 * "last good / first bad" (or "last bad / first good" for a fix, "last
 * unchanged / first changed" where kinds both appear and disappear) with
 * the config keys that differ between the two.
 *
 * @param b The bisection.
 * @returns Text, ending with a newline.
 */
export function formatBisect(b: BisectResult): string {
  const lines = [`bisect ${b.scenario} along ${b.lineage}:`];
  const width = Math.max(...b.steps.map((s) => s.revision.length));
  const cells = b.steps.map((s) => statusText(s.status, s.kinds));
  const cellWidth = Math.max(...cells.map((c) => c.length));
  b.steps.forEach((s, i) => {
    const t = b.transitions.find((x) => x.to === s.revision);
    const line = `  ${s.revision.padEnd(width)}  ${cells[i]}`;
    lines.push(t ? `${line.padEnd(width + cellWidth + 4)}  <- ${transitionText(t)}` : line);
  });
  if (!b.first) {
    lines.push(
      `no verdict change: every revision of ${b.lineage} gives ${verdictText(b.steps[0].kinds)}`,
    );
    return lines.join("\n") + "\n";
  }
  const kindsOf = (id: string) => {
    const s = b.steps.find((s) => s.revision === id)!;
    return statusText(s.status, s.kinds);
  };
  const [x, y] = b.labels!;
  const lastLabel = `last ${x}:`;
  const firstLabel = `first ${y}:`;
  const w = Math.max(lastLabel.length, firstLabel.length);
  lines.push(`${lastLabel.padEnd(w)} ${b.last} (${kindsOf(b.last)})`);
  lines.push(`${firstLabel.padEnd(w)} ${b.first} (${kindsOf(b.first)})`);
  const delta = [...b.added.map((k) => `+${k}`), ...b.removed.map((k) => `-${k}`)];
  lines.push(`${b.change}: ${delta.join(" ")}`);
  // The violation that tells the story: the first new one, or for a fix the
  // first one that went away.
  const bad = b.change === "regression" ? b.firstOutcome! : b.lastOutcome;
  const v = bad.violations.find((x) =>
    (b.change === "regression" ? b.added : b.removed).includes(x.kind)
  );
  if (v) {
    lines.push(`first violation on ${bad.revision}: ${formatViolation(v)}`);
  }
  lines.push(...causeLines({ ...b, from: b.last, to: b.first }, b.keys.length));
  if (b.causes === undefined) {
    const other = b.keys.filter((k) => !b.relevant.includes(k));
    if (other.length) {
      lines.push(`other config keys that differ (${other.length}):`);
      for (const k of other) lines.push(`  ${formatKeyChange(k)}`);
    }
  }
  lines.push(`reproduce: ${b.lastOutcome.reproduce}`);
  lines.push(`           ${b.firstOutcome!.reproduce}`);
  const later = b.transitions.slice(1);
  if (later.length) {
    lines.push(`later verdict changes along ${b.lineage} (${later.length}):`);
    for (const t of later) {
      const kinds = [...t.added.map((k) => `+${k}`), ...t.removed.map((k) => `-${k}`)].join(" ");
      lines.push(
        `  ${transitionText(t)} (after ${t.from}): ${kindsOf(t.from)} -> ${
          kindsOf(t.to)
        } (${kinds})`,
      );
      lines.push(...causeLines(t, t.keyCount, { indent: "    " }));
      lines.push(`    reproduce: ${t.reproduce}`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * Names a transition as a regzbot-style line: "regressed in V", "fixed in
 * V", or "regressed and fixed in V" when kinds swap.
 *
 * @param t The transition.
 * @returns The phrase.
 */
export function transitionText(t: Transition): string {
  const verbs = t.classes.map((c) => c === "regression" ? "regressed" : "fixed");
  return `${verbs.join(" and ")} in ${t.to}`;
}
