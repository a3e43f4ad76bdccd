/**
 * Builds the report model from a matrix, once: every renderer formats the
 * model this returns (see `model.ts`).
 *
 * @module
 */
import type { Matrix } from "../run/matrix.ts";
import { revisionHash, scenarioHash } from "../run/outcome.ts";
import { digest } from "../model/state.ts";
import {
  checkBaseline,
  type CompareOptions,
  displayOrder,
  type LineageDiff,
  lineageDiff,
  lineages,
  revisionsAfter,
} from "../report/diff.ts";
import type { RaceTable } from "../report/races.ts";
import type { CostTable } from "../report/costs.ts";
import { driverTable } from "../report/drivers.ts";
import { type ExpectationTable, judge } from "./expect.ts";
import type { ReportModel, ReportRevision } from "./model.ts";

/**
 * Options of {@link analyse}; `blame` and `timeout` are those of
 * `lineageDiff` (the causes of each regression and fix).
 */
export interface AnalyseOptions extends CompareOptions {
  /** Lineages to report, in order (default: every lineage of the matrix). */
  lineages?: string[];
  /** Explorer results of the race scenarios. */
  races?: RaceTable;
  /** The cost table to include (see `costTable`). */
  costs?: CostTable;
  /**
   * The baseline revision: the revisions after it in its lineage (see
   * `revisionsAfter`) and those of {@link AnalyseOptions.named} are
   * checked against it.
   */
  baseline?: string;
  /** Revisions the user named (their own revision files), checked against the baseline too. */
  named?: string[];
  /** An expectation table to judge every cell shown against. */
  expect?: ExpectationTable;
  /**
   * What needs the matrix alone, when it is already made (see
   * {@link analyseMatrix}): a report makes it, blame included, while the
   * explorations still run.
   */
  matrix?: MatrixAnalysis;
}

/** What {@link analyse} makes of the matrix alone (see {@link analyseMatrix}). */
export interface MatrixAnalysis {
  /** The diff of each lineage, in order, with the causes of each verdict change. */
  diffs: LineageDiff[];
  /** The matrix's digest (see {@link matrixDigest}). */
  digest: string;
}

/**
 * What {@link analyse} makes of the matrix alone: the diff of each lineage,
 * with the causes of each verdict change (see `lineageDiff`), and the
 * matrix's digest.
 *
 * @param matrix The matrix.
 * @param opts The lineages (default: every lineage of the matrix), the blame search and its time bound.
 * @returns The diffs and the digest.
 * @throws {RangeError} When a lineage is unknown or malformed.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenarioDir, runMatrix } from "../../mod.ts";
 * import { analyseMatrix } from "./analyse.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const m = runMatrix(loadScenarioDir("scenarios"), revs);
 * console.log(analyseMatrix(m, { blame: false }).diffs.map((d) => d.order));
 * ```
 */
export function analyseMatrix(
  matrix: Matrix,
  opts: CompareOptions & { lineages?: string[] } = {},
): MatrixAnalysis {
  const names = opts.lineages ?? lineages(matrix.revisions);
  return {
    diffs: names.map((l) => lineageDiff(matrix, l, opts)),
    digest: matrixDigest(matrix),
  };
}

/**
 * Digest of a matrix's inputs and outcomes: equal digests mean the same
 * revisions, scenarios and results.
 *
 * @param matrix The matrix.
 * @returns 16 hex digits.
 *
 * @example
 * ```ts
 * import { matrixDigest } from "./analyse.ts";
 * console.log(matrixDigest({ scenarios: [], revisions: [], cells: [] }).length); // 16
 * ```
 */
export function matrixDigest(matrix: Matrix): string {
  return digest(matrix.cells);
}

/**
 * Analyses a matrix into the report model: the lineage diffs with the
 * causes of each verdict change, the baseline check, the judgements
 * against an expectation table, and the tables of the other sections.
 *
 * @param matrix The matrix.
 * @param opts What to report (see {@link AnalyseOptions}).
 * @returns The model.
 * @throws {RangeError} When a lineage is unknown or malformed, or the baseline unknown.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { analyse } from "./analyse.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const m = runMatrix(loadScenarioDir("scenarios"), revs);
 * const model = analyse(m, { baseline: "hmm-sequence-retry" });
 * console.log(model.baseline?.checked);
 * ```
 */
export function analyse(matrix: Matrix, opts: AnalyseOptions = {}): ReportModel {
  const { diffs, digest } = opts.matrix ?? analyseMatrix(matrix, opts);
  const columns = diffs.map((d) => displayOrder(d));
  const shown = new Set(columns.flat());
  const model: ReportModel = {
    digest,
    revisions: matrix.revisions.map((r) => {
      const out: ReportRevision = {
        id: r.id,
        title: r.title,
        lineage: r.lineage,
        candidate: r.candidate,
        date: r.date,
        source: r.source,
        base: r.base,
        postedAgainst: { ...r.postedAgainst },
        hash: revisionHash(r),
      };
      if (r.follows !== undefined) out.follows = r.follows;
      return out;
    }),
    scenarios: matrix.scenarios.map((s) => ({
      id: s.id,
      purpose: s.purpose,
      exercises: s.exercises,
      cite: s.cite,
      kernel: s.kernel,
      hash: scenarioHash(s),
      steps: s.steps.map((st) => st.op),
    })),
    lineages: diffs,
    columns,
    cells: matrix.cells.map((o) => ({
      scenario: o.scenario,
      revision: o.revision,
      status: o.status,
      kinds: o.kinds,
      hashes: o.hashes,
    })),
    outcomes: matrix.cells,
    drivers: driverTable(matrix, opts.races),
  };
  if (opts.baseline !== undefined) {
    const after = revisionsAfter(matrix.revisions, opts.baseline);
    const checked = [...after, ...(opts.named ?? []).filter((id) => !after.includes(id))];
    model.baseline = checkBaseline(matrix, opts.baseline, checked);
  }
  if (opts.races) model.races = opts.races;
  if (opts.costs) model.costs = opts.costs;
  if (opts.expect) {
    const order = new Map(columns.flat().map((id, i) => [id, i]));
    const cells = matrix.cells.filter((o) => shown.has(o.revision));
    // Lineage by lineage, scenario-major within each, as the matrices read.
    const byLineage = columns.flatMap((cols) =>
      cells.filter((o) => cols.includes(o.revision)).sort((a, b) =>
        matrix.scenarios.findIndex((s) => s.id === a.scenario) -
          matrix.scenarios.findIndex((s) => s.id === b.scenario) ||
        order.get(a.revision)! - order.get(b.revision)!
      )
    );
    model.judgements = judge([...new Set(byLineage)], opts.expect);
  }
  return model;
}
