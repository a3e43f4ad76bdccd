/**
 * The matrix: every scenario run on every revision.
 *
 * @module
 */
import type { Scenario } from "./scenario.ts";
import type { Revision } from "./revision.ts";
import { type Outcome } from "./outcome.ts";
import { runScenario } from "./runner.ts";

/**
 * Whether a scenario runs on a revision: both are written for the same
 * kernel tree (a 2.5.42 scenario has no meaning on a 2.6.24 revision).
 */
export function applies(s: Scenario, r: Revision): boolean {
  return s.kernel === r.base;
}

/** The scenarios of a matrix that run on every one of the given revisions, in order. */
export function scenariosFor(m: Matrix, ...revisions: string[]): Scenario[] {
  const revs = m.revisions.filter((r) => revisions.includes(r.id));
  return m.scenarios.filter((s) => revs.every((r) => applies(s, r)));
}

/** Outcomes of every scenario on every revision of its kernel tree. */
export interface Matrix {
  /** The scenarios, in run order. */
  scenarios: Scenario[];
  /** The revisions, in run order. */
  revisions: Revision[];
  /** One outcome per (scenario, revision) of the same kernel tree, scenario-major. */
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
  const total = scenarios.reduce((n, s) => n + revisions.filter((r) => applies(s, r)).length, 0);
  for (const s of scenarios) {
    for (const r of revisions) {
      if (!applies(s, r)) continue;
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
