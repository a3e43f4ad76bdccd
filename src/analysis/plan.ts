/**
 * The plan of a report, decided before anything runs: which revisions the
 * matrix holds (those of the lineages shown, the baseline and the revisions
 * it judges), which cells, which race explorations, which revision the cost
 * table measures; then, once the units have run, the report model of the
 * plan. `report` plans from its options, `merge` from the options of its
 * result sets, and both end in {@link analyseReport}, so a merged report is
 * the report.
 *
 * @module
 */
import type { Revision } from "../run/revision.ts";
import type { Scenario } from "../run/scenario.ts";
import { type CellPair, type Matrix, matrixPairs } from "../run/matrix.ts";
import type { Outcome } from "../run/outcome.ts";
import type { ExploreResult } from "../explore/explorer.ts";
import { lineageOrder, lineages, revisionsAfter } from "../report/diff.ts";
import { type RacePlan, racePlan, raceTable } from "../report/races.ts";
import { type CostTable, costTable } from "../report/costs.ts";
import { analyse, analyseMatrix, type MatrixAnalysis } from "./analyse.ts";
import type { ExpectationTable } from "./expect.ts";
import type { ReportModel } from "./model.ts";

/** What a report shows: the options {@link planReport} plans from. */
export interface PlanOptions {
  /** The lineages to report, in order (default: every lineage). */
  lineages?: string[];
  /** The baseline revision id: it and the revisions after it run, shown or not. */
  baseline?: string;
  /** Whether to explore the race scenarios on the revisions shown. */
  races: boolean;
  /** Ids of the revisions the user named (their own files), judged against the baseline too. */
  named?: string[];
}

/** What a report runs and shows (see {@link planReport}). */
export interface ReportPlan {
  /** Every revision loaded, which a worker needs to resolve `extends`. */
  revisions: Revision[];
  /** Every scenario loaded. */
  scenarios: Scenario[];
  /** The revisions of the matrix: those shown, then the baseline and those it judges. */
  chosen: Revision[];
  /** The ids of the revisions shown (those of the lineages reported). */
  shown: string[];
  /** The lineages reported, in order. */
  lineages: string[];
  /** The baseline revision id, when one was named. */
  baseline?: string;
  /** The revisions the user named, judged against the baseline too. */
  named: string[];
  /** The cells of the matrix, scenario-major. */
  cells: CellPair[];
  /** The explorations of the race section, unless races were not asked for. */
  races?: RacePlan;
  /**
   * The revision of the cost table (the F8 cover letter's claims): the first
   * posted 2.5.42 revision shown that follows nothing, when the report shows one.
   */
  f8?: Revision;
}

/**
 * Plans a report: the revisions of the lineages asked for (each posted
 * revision with its candidates and their parents), the baseline and the
 * revisions after it together with those the user named (run even when not
 * shown, since the baseline check judges them), every scenario on every
 * revision of its tree, the race explorations on the revisions shown, and
 * the revision the cost table measures.
 *
 * @param revisions Every revision loaded.
 * @param scenarios Every scenario loaded.
 * @param opts The lineages, baseline, races and the user's revisions.
 * @returns The plan.
 * @throws {RangeError} When a lineage is unknown or malformed, or the baseline unknown.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { planReport } from "./plan.ts";
 * const plan = planReport(loadRevisionDir("patches"), loadScenarioDir("scenarios"), {
 *   lineages: ["emmu"],
 *   baseline: "emmu-v5",
 *   races: false,
 * });
 * console.log(plan.chosen.map((r) => r.id), plan.cells.length);
 * ```
 */
export function planReport(
  revisions: Revision[],
  scenarios: Scenario[],
  opts: PlanOptions,
): ReportPlan {
  let chosen = revisions;
  if (opts.lineages) {
    const ids = new Set<string>();
    for (const l of opts.lineages) {
      const lo = lineageOrder(revisions, l);
      for (const id of lo.order) ids.add(id);
      for (const c of lo.candidates) {
        ids.add(c.id);
        if (c.parent) ids.add(c.parent);
      }
    }
    chosen = revisions.filter((r) => ids.has(r.id));
  } else {
    // Every lineage is reported: each must be well formed.
    for (const l of lineages(revisions)) lineageOrder(revisions, l);
  }
  const shown = chosen.map((r) => r.id);
  const named = opts.named ?? [];
  if (opts.baseline !== undefined) {
    const after = revisionsAfter(revisions, opts.baseline);
    const base = revisions.filter((r) => r.id === opts.baseline);
    const judged = [
      ...base,
      ...revisions.filter((r) => after.includes(r.id)),
      ...revisions.filter((r) => named.includes(r.id)),
    ];
    for (const r of judged) if (!chosen.includes(r)) chosen = [...chosen, r];
  }
  const plan: ReportPlan = {
    revisions,
    scenarios,
    chosen,
    shown,
    lineages: opts.lineages ?? lineages(revisions),
    named,
    cells: matrixPairs(scenarios, chosen),
  };
  if (opts.baseline !== undefined) plan.baseline = opts.baseline;
  if (opts.races) {
    plan.races = racePlan(scenarios, chosen.filter((r) => shown.includes(r.id)));
  }
  const f8 = chosen.find((r) =>
    r.base === "2.5.42" && !r.candidate && r.follows === undefined && shown.includes(r.id)
  );
  if (f8) plan.f8 = f8;
  return plan;
}

/** The results of a plan's units, each list in the order of the plan's. */
export interface PlanResults {
  /** One outcome per cell of {@link ReportPlan.cells}. */
  outcomes: Outcome[];
  /** One explorer result per pair of {@link ReportPlan.races}. */
  explorations: ExploreResult[];
  /** The cost table of {@link ReportPlan.f8}, when it was measured with the other units. */
  costs?: CostTable[];
  /** What needs the cells alone, when it was made with the other units (see {@link planMatrix}). */
  matrix?: MatrixAnalysis;
}

/** Options of {@link analyseReport}. */
export interface ReportAnalysisOptions {
  /** The time bound of each run of the blame search, in seconds. */
  timeout?: number;
  /** The expectation table to judge the cells shown against. */
  expect?: ExpectationTable;
  /** Search the keys that cause each verdict change (default true). */
  blame?: boolean;
}

/**
 * What a plan's report makes of its cells alone: the lineage diffs, blame
 * included, and the matrix digest (see `analyseMatrix`). A report makes it
 * while its explorations still run, and {@link analyseReport} takes it in
 * {@link PlanResults.matrix}.
 *
 * @param plan The plan (see {@link planReport}).
 * @param outcomes One outcome per cell of the plan.
 * @param opts The time bound and the blame search.
 * @returns The diffs and the digest.
 * @throws {RangeError} When the outcomes are not those of the plan.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenarioDir, planReport, runMatrix } from "../../mod.ts";
 * import { planMatrix } from "./plan.ts";
 * const plan = planReport(loadRevisionDir("patches"), loadScenarioDir("scenarios"), {
 *   lineages: ["hmm"],
 *   races: false,
 * });
 * const m = runMatrix(plan.scenarios, plan.chosen);
 * console.log(planMatrix(plan, m.cells, { blame: false }).digest);
 * ```
 */
export function planMatrix(
  plan: ReportPlan,
  outcomes: Outcome[],
  opts: Pick<ReportAnalysisOptions, "timeout" | "blame"> = {},
): MatrixAnalysis {
  return analyseMatrix(matrixOf(plan, outcomes), { ...opts, lineages: plan.lineages });
}

function matrixOf(plan: ReportPlan, outcomes: Outcome[]): Matrix {
  if (outcomes.length !== plan.cells.length) {
    throw new RangeError(
      `The results hold ${outcomes.length} outcomes for the plan's ${plan.cells.length} cells`,
    );
  }
  return { scenarios: plan.scenarios, revisions: plan.chosen, cells: outcomes };
}

/**
 * The report model of a plan from the results of its units: the matrix,
 * the race table, the cost table (measured now when the results do not
 * hold it, as after a merge of shards), the baseline check and the
 * judgements (see `analyse`).
 *
 * @param plan The plan (see {@link planReport}).
 * @param res The results of its units.
 * @param opts The time bound, the expectation table and the blame search.
 * @returns The model.
 * @throws {RangeError} When the results are not those of the plan.
 *
 * @example
 * ```ts
 * import { analyseReport, planReport } from "./plan.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * const plan = planReport(loadRevisionDir("patches"), loadScenarioDir("scenarios"), {
 *   lineages: ["hmm"],
 *   races: false,
 * });
 * const m = runMatrix(plan.scenarios, plan.chosen);
 * const model = analyseReport(plan, { outcomes: m.cells, explorations: [] });
 * console.log(model.lineages.map((d) => d.lineage)); // ["hmm"]
 * ```
 */
export function analyseReport(
  plan: ReportPlan,
  res: PlanResults,
  opts: ReportAnalysisOptions = {},
): ReportModel {
  const m = matrixOf(plan, res.outcomes);
  const races = plan.races ? raceTable(plan.races, res.explorations) : undefined;
  const costs = plan.f8 ? res.costs?.[0] ?? costTable(plan.f8) : undefined;
  return analyse(m, {
    lineages: plan.lineages,
    races,
    costs,
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    ...(opts.blame !== undefined ? { blame: opts.blame } : {}),
    ...(plan.baseline !== undefined ? { baseline: plan.baseline, named: plan.named } : {}),
    ...(opts.expect ? { expect: opts.expect } : {}),
    ...(res.matrix ? { matrix: res.matrix } : {}),
  });
}
