/**
 * Counts of a comparison's scenarios by class of change, as one partition:
 * every scenario counts in exactly one of regression, fix, both (its kinds
 * swap: one appears and another disappears), change or same, so the counts
 * add up to the scenarios compared.
 *
 * @module
 */
import type { ScenarioChange } from "../report/diff.ts";

/** The counts of {@link changeSummary}; `scenarios` is the sum of the others. */
export interface ChangeSummary {
  /** Scenarios compared. */
  scenarios: number;
  /** Scenarios where a violation kind appears and none disappears. */
  regression: number;
  /** Scenarios where a violation kind disappears and none appears. */
  fix: number;
  /** Scenarios where one kind appears and another disappears. */
  both: number;
  /** Scenarios with the same kinds and another behaviour (trace, counters, state). */
  change: number;
  /** Scenarios with the same outcome. */
  same: number;
}

/**
 * Counts scenario changes by class, each scenario once (see the module
 * documentation).
 *
 * @param changes The scenario changes of one comparison.
 * @returns The counts.
 *
 * @example
 * ```ts
 * import { changeSummary } from "./summary.ts";
 * const s = changeSummary([
 *   { classes: ["regression", "fix"] },
 *   { classes: ["regression"] },
 *   { classes: ["same"] },
 * ]);
 * console.log(s.both, s.regression, s.same, s.scenarios); // 1 1 1 3
 * ```
 */
export function changeSummary(changes: readonly Pick<ScenarioChange, "classes">[]): ChangeSummary {
  const out: ChangeSummary = {
    scenarios: changes.length,
    regression: 0,
    fix: 0,
    both: 0,
    change: 0,
    same: 0,
  };
  for (const c of changes) {
    const r = c.classes.includes("regression");
    const f = c.classes.includes("fix");
    if (r && f) out.both++;
    else if (r) out.regression++;
    else if (f) out.fix++;
    else if (c.classes.includes("change")) out.change++;
    else out.same++;
  }
  return out;
}

/**
 * The summary in one line: the partition, then how many regressed and how
 * many were fixed in all (a scenario whose kinds swap counts in each of
 * those two, once).
 *
 * @param s The counts.
 * @returns One line.
 *
 * @example
 * ```ts
 * import { summaryText } from "./summary.ts";
 * const s = { scenarios: 4, regression: 1, fix: 0, both: 1, change: 1, same: 1 };
 * console.log(summaryText(s));
 * ```
 */
export function summaryText(s: ChangeSummary): string {
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  return `${n(s.scenarios, "scenario", "scenarios")} = ${
    n(s.regression, "regression", "regressions")
  } + ${n(s.fix, "fix", "fixes")} + ${s.both} both + ${
    n(s.change, "other change", "other changes")
  } + ${s.same} same; ` +
    `${s.regression + s.both} regressed and ${s.fix + s.both} fixed in all`;
}

/**
 * The sum of summaries: the counts of several comparisons taken together
 * (the steps of a lineage, say), each scenario of each comparison once.
 *
 * @param list The summaries.
 * @returns Their sum; all zeros for none.
 *
 * @example
 * ```ts
 * import { addSummaries } from "./summary.ts";
 * const a = { scenarios: 3, regression: 1, fix: 0, both: 1, change: 0, same: 1 };
 * const b = { scenarios: 3, regression: 0, fix: 1, both: 0, change: 1, same: 1 };
 * console.log(addSummaries([a, b]).scenarios); // 6
 * ```
 */
export function addSummaries(list: readonly ChangeSummary[]): ChangeSummary {
  const out: ChangeSummary = { scenarios: 0, regression: 0, fix: 0, both: 0, change: 0, same: 0 };
  for (const s of list) {
    for (const k of Object.keys(out) as (keyof ChangeSummary)[]) out[k] += s[k];
  }
  return out;
}
