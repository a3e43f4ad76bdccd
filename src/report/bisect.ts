/**
 * Bisect: the first revision along a lineage where a scenario's verdict
 * changes, with the config keys that changed there.
 *
 * @module
 */
import type { ViolationKind } from "../check/checker.ts";
import type { Matrix } from "../run/matrix.ts";
import type { Outcome } from "../run/outcome.ts";
import { diffConfig, type KeyChange } from "../run/revision.ts";
import { lineageOrder, outcomeOf, relevantKeys, revisionOf, tracedPaths } from "./diff.ts";
import { formatKeyChange, formatViolation, verdictText } from "./_format.ts";

/** The result of {@link bisect}. */
export interface BisectResult {
  /** The lineage name. */
  lineage: string;
  /** The scenario id. */
  scenario: string;
  /** Posted revisions of the lineage, in order, with their kinds on the scenario. */
  steps: { revision: string; kinds: ViolationKind[] }[];
  /** The last revision whose kinds equal the first revision's. */
  last: string;
  /** The first revision whose kinds differ from the first revision's; absent when none does. */
  first?: string;
  /** `regression` when kinds appear, `fix` when they only disappear. */
  change?: "regression" | "fix";
  /** How to name the two revisions: "good" / "bad", or "bad" / "good" for a fix. */
  labels?: [string, string];
  /** Kinds on {@link BisectResult.first} that the lineage's first revision lacks. */
  added: ViolationKind[];
  /** Kinds of the lineage's first revision that {@link BisectResult.first} lacks. */
  removed: ViolationKind[];
  /** Every config key that differs from `last` to `first`. */
  keys: KeyChange[];
  /** The subset of {@link BisectResult.keys} relevant to the scenario. */
  relevant: KeyChange[];
  /** The outcome on `last`. */
  lastOutcome: Outcome;
  /** The outcome on `first`, when there is one. */
  firstOutcome?: Outcome;
}

/**
 * Finds, along a lineage's posted revisions (candidates excluded), the first
 * revision whose violation kinds on a scenario differ from the first
 * revision's, and the config keys that differ from the revision before it.
 *
 * @param matrix A matrix holding the lineage's revisions and the scenario.
 * @param lineage The lineage name.
 * @param scenario The scenario id.
 * @returns The bisection; `first` is absent when the kinds never change.
 * @throws {RangeError} When the lineage, scenario or an outcome is missing.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenarioDir, runMatrix } from "../../mod.ts";
 * import { bisect, formatBisect } from "./bisect.ts";
 * const m = runMatrix(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
 * console.log(formatBisect(bisect(m, "emmu", m.scenarios[0].id)));
 * ```
 */
export function bisect(matrix: Matrix, lineage: string, scenario: string): BisectResult {
  if (!matrix.scenarios.some((s) => s.id === scenario)) {
    throw new RangeError(
      `Unknown scenario "${scenario}" (known: ${matrix.scenarios.map((s) => s.id).join(", ")})`,
    );
  }
  const { order } = lineageOrder(matrix.revisions, lineage);
  const outcomes = order.map((r) => outcomeOf(matrix, scenario, r));
  const steps = outcomes.map((o) => ({ revision: o.revision, kinds: o.kinds }));
  const same = (a: ViolationKind[], b: ViolationKind[]) =>
    a.length === b.length && a.every((k) => b.includes(k));
  const base = outcomes[0].kinds;
  const i = outcomes.findIndex((o) => !same(o.kinds, base));
  if (i < 0) {
    return {
      lineage,
      scenario,
      steps,
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
  return {
    lineage,
    scenario,
    steps,
    last: before.revision,
    first: after.revision,
    change,
    labels: change === "regression" ? ["good", "bad"] : ["bad", "good"],
    added,
    removed,
    keys,
    relevant: relevantKeys(keys, tracedPaths(before, after)),
    lastOutcome: before,
    firstOutcome: after,
  };
}

/**
 * Renders a bisection as plain text: the verdict along the lineage, then
 * "last good / first bad" (or "last bad / first good" for a fix) with the
 * config keys that differ between the two.
 *
 * @param b The bisection.
 * @returns Text, ending with a newline.
 */
export function formatBisect(b: BisectResult): string {
  const lines = [`bisect ${b.scenario} along ${b.lineage}:`];
  const width = Math.max(...b.steps.map((s) => s.revision.length));
  for (const s of b.steps) lines.push(`  ${s.revision.padEnd(width)}  ${verdictText(s.kinds)}`);
  if (!b.first) {
    lines.push(
      `no verdict change: every revision of ${b.lineage} gives ${verdictText(b.steps[0].kinds)}`,
    );
    return lines.join("\n") + "\n";
  }
  const kindsOf = (id: string) => verdictText(b.steps.find((s) => s.revision === id)!.kinds);
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
  const other = b.keys.filter((k) => !b.relevant.includes(k));
  lines.push(`config keys that differ, relevant to the scenario (${b.relevant.length}):`);
  for (const k of b.relevant) lines.push(`  ${formatKeyChange(k)}`);
  if (other.length) {
    lines.push(`other config keys that differ (${other.length}):`);
    for (const k of other) lines.push(`  ${formatKeyChange(k)}`);
  }
  lines.push(`reproduce: ${b.lastOutcome.reproduce}`);
  lines.push(`           ${b.firstOutcome!.reproduce}`);
  return lines.join("\n") + "\n";
}
