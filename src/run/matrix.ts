/**
 * The matrix: every scenario run on every revision, each cell within a time
 * bound.
 *
 * @module
 */
import type { Scenario } from "./scenario.ts";
import type { Revision } from "./revision.ts";
import { type Outcome } from "./outcome.ts";
import { Run } from "./runner.ts";
import { type Deadline, deadline, DEFAULT_TIMEOUT_SECONDS } from "./deadline.ts";

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

/** One scenario and one revision of its kernel tree: a cell of the matrix, or an exploration. */
export interface CellPair {
  /** The scenario. */
  scenario: Scenario;
  /** The revision it runs on. */
  revision: Revision;
}

/**
 * The cells of a matrix in run order: every scenario on every revision of
 * its kernel tree, scenario-major. {@link runMatrix} runs them in this
 * order and a parallel or sharded run indexes them by it, so the index of a
 * cell is the same wherever it runs.
 *
 * @param scenarios Loaded scenarios, in run order.
 * @param revisions Loaded revisions, in run order.
 * @returns The pairs, scenario-major.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "./revision.ts";
 * import { loadScenarioDir } from "./scenario.ts";
 * import { matrixPairs } from "./matrix.ts";
 * const pairs = matrixPairs(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
 * console.log(pairs[0].scenario.id, pairs[0].revision.id);
 * ```
 */
export function matrixPairs(scenarios: Scenario[], revisions: Revision[]): CellPair[] {
  const out: CellPair[] = [];
  for (const scenario of scenarios) {
    for (const revision of revisions) {
      if (applies(scenario, revision)) out.push({ scenario, revision });
    }
  }
  return out;
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

/** Options of {@link runCell}. */
export interface CellOptions {
  /**
   * The time bound of the cell, in seconds (default
   * {@link DEFAULT_TIMEOUT_SECONDS}; `Infinity` for none).
   */
  timeout?: number;
  /** A deadline to stop at instead of `timeout` (tests pass one with a fake clock). */
  deadline?: Deadline;
}

/** Options of {@link runMatrix}. */
export interface MatrixOptions {
  /** The time bound of each cell, in seconds (see {@link CellOptions.timeout}). */
  timeout?: number;
  /** Called after each cell with the number of cells done and the total. */
  onCell?: (done: number, total: number) => void;
}

/**
 * Runs `scenario` on `revision` as `runScenario()` does, within a time
 * bound checked before each step. When the bound passes first, the run stops
 * there: the outcome holds the steps run so far and the checkers' verdict on
 * them, and its `aborted` reads "step N: time bound reached after S s", which
 * makes its status `timeout`. Such an outcome depends on the machine's speed;
 * one that completes is the same on every machine.
 *
 * @param scenario A loaded scenario.
 * @param revision A loaded revision of its kernel tree.
 * @param opts The time bound.
 * @returns The outcome.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "./revision.ts";
 * import { loadScenario } from "./scenario.ts";
 * import { runCell } from "./matrix.ts";
 * const v5 = loadRevisionDir("patches").find((r) => r.id === "emmu-v5")!;
 * const out = runCell(loadScenario("scenarios/wp-reuse-after-fork.json"), v5, { timeout: 5 });
 * console.log(out.verdict, out.aborted);
 * ```
 */
export function runCell(scenario: Scenario, revision: Revision, opts: CellOptions = {}): Outcome {
  const clock = opts.deadline ?? deadline(opts.timeout ?? DEFAULT_TIMEOUT_SECONDS);
  return new Run(scenario, revision, { deadline: clock }).finish();
}

/**
 * Runs every scenario on every revision of its kernel tree, each cell within
 * its own time bound (see {@link runCell}).
 *
 * @param scenarios Loaded scenarios.
 * @param revisions Loaded revisions.
 * @param opts The time bound of each cell, and a progress callback.
 * @returns The matrix.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "./revision.ts";
 * import { loadScenarioDir } from "./scenario.ts";
 * import { runMatrix } from "./matrix.ts";
 * const emmu = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const m = runMatrix(loadScenarioDir("scenarios"), emmu);
 * console.log(m.cells.filter((c) => c.verdict === "fail").length);
 * ```
 */
export function runMatrix(
  scenarios: Scenario[],
  revisions: Revision[],
  opts: MatrixOptions = {},
): Matrix {
  const cells: Outcome[] = [];
  const pairs = matrixPairs(scenarios, revisions);
  for (const { scenario, revision } of pairs) {
    cells.push(runCell(scenario, revision, { timeout: opts.timeout }));
    opts.onCell?.(cells.length, pairs.length);
  }
  return { scenarios, revisions, cells };
}

/** The outcome of one cell. */
export function cell(m: Matrix, scenario: string, revision: string): Outcome {
  const c = m.cells.find((o) => o.scenario === scenario && o.revision === revision);
  if (!c) throw new RangeError(`No outcome for scenario "${scenario}" on revision "${revision}"`);
  return c;
}
