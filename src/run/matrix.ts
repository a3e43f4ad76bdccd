/**
 * The matrix: every scenario run on every revision.
 *
 * @module
 */
import type { Scenario } from "./scenario.ts";
import type { Revision } from "./revision.ts";
import { type Outcome } from "./outcome.ts";
import { runScenario } from "./runner.ts";

/** Outcomes of every scenario on every revision. */
export interface Matrix {
  /** The scenarios, in run order. */
  scenarios: Scenario[];
  /** The revisions, in run order. */
  revisions: Revision[];
  /** One outcome per (scenario, revision), scenario-major. */
  cells: Outcome[];
}

/**
 * Runs every scenario on every revision.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenarioDir, runMatrix } from "../../mod.ts";
 * const m = runMatrix(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
 * console.log(m.cells.filter((c) => c.verdict === "fail").length);
 * ```
 */
export function runMatrix(
  scenarios: Scenario[],
  revisions: Revision[],
  onCell?: (done: number, total: number) => void,
): Matrix {
  const cells: Outcome[] = [];
  const total = scenarios.length * revisions.length;
  for (const s of scenarios) {
    for (const r of revisions) {
      cells.push(runScenario(s, r));
      onCell?.(cells.length, total);
    }
  }
  return { scenarios, revisions, cells };
}

/** The outcome of one cell. */
export function cell(m: Matrix, scenario: string, revision: string): Outcome {
  const c = m.cells.find((o) => o.scenario === scenario && o.revision === revision);
  if (!c) throw new RangeError(`No outcome for scenario "${scenario}" on revision "${revision}"`);
  return c;
}
