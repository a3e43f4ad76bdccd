/**
 * The JSON regression report: a stable, versioned schema holding the
 * revisions, the scenarios, the lineage diffs, the compact matrix of cell
 * statuses with the content hashes of their inputs, every outcome, and the
 * judgement of each cell shown against the pinned expectations.
 * Every field is documented in `docs/report-schema.json`, which the tests
 * validate the output against.
 *
 * @module
 */
import type { ExploreResult } from "../explore/explorer.ts";
import type { CostTable } from "./costs.ts";
import type { BaselineCheck, LineageDiff } from "./diff.ts";
import { canonicalJson } from "../model/state.ts";
import type { Judgement } from "../analysis/expect.ts";
import type {
  Outcome,
  ReportCell,
  ReportModel,
  ReportRevision,
  ReportScenario,
} from "../analysis/model.ts";

export type { ReportCell, ReportRevision, ReportScenario };

/** Version of the report JSON schema. */
export const REPORT_SCHEMA = "mmbisect/report@1";

/** The JSON report. */
export interface Report {
  /** Always {@link REPORT_SCHEMA}. */
  schema: typeof REPORT_SCHEMA;
  /** Digest of every outcome in the matrix. */
  digest: string;
  /** Every revision run, sorted by id. */
  revisions: ReportRevision[];
  /** Every scenario run, sorted by id. */
  scenarios: ReportScenario[];
  /** The reported lineages, each with its order, comparisons and outcome groups. */
  lineages: LineageDiff[];
  /** Every cell of the matrix, scenario-major: the compact matrix. */
  cells: ReportCell[];
  /** Every outcome of the matrix, scenario-major. */
  outcomes: Outcome[];
  /** The revisions checked against a baseline, when one was named. */
  baseline?: BaselineCheck;
  /** Explorer results of the race scenarios, when they were explored. */
  races?: ExploreResult[];
  /** The F8 cover letter's claims measured on a 2.5.42 revision, when the report has one. */
  costs?: CostTable;
  /**
   * Every cell shown judged against the pinned expectations, when the
   * model was analysed with an expectation table.
   */
  judgements?: Judgement[];
}

/**
 * Builds the JSON report of a report model.
 *
 * @param model The report model (see `analyse`).
 * @returns The report object.
 *
 * @example
 * ```ts
 * import { analyse } from "../analysis/analyse.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { buildReport } from "./json.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const report = buildReport(analyse(runMatrix(loadScenarioDir("scenarios"), revs)));
 * console.log(report.cells.length === report.outcomes.length); // true
 * ```
 */
export function buildReport(model: ReportModel): Report {
  return {
    schema: REPORT_SCHEMA,
    digest: model.digest,
    revisions: model.revisions,
    scenarios: model.scenarios.map(({ steps: _steps, ...s }) => s),
    lineages: model.lineages,
    cells: model.cells,
    outcomes: model.outcomes,
    ...(model.races ? { races: model.races.results } : {}),
    ...(model.costs ? { costs: model.costs } : {}),
    ...(model.baseline ? { baseline: model.baseline } : {}),
    ...(model.judgements ? { judgements: model.judgements } : {}),
  };
}

/**
 * Serialises a report canonically: sorted keys, two-space indent, trailing
 * newline, so the same input gives byte-identical text.
 *
 * @param report The report.
 * @returns JSON text.
 *
 * @example
 * ```ts
 * import { analyse } from "../analysis/analyse.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { buildReport, reportJson } from "./json.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const text = reportJson(buildReport(analyse(runMatrix(loadScenarioDir("scenarios"), revs))));
 * console.log(JSON.parse(text).schema); // "mmbisect/report@1"
 * ```
 */
export function reportJson(report: Report): string {
  return JSON.stringify(JSON.parse(canonicalJson(report)), null, 2) + "\n";
}
