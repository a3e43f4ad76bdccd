/**
 * The JSON regression report: a stable, versioned schema holding the
 * revisions, the scenarios, the lineage diffs, the compact matrix of cell
 * statuses with the content hashes of their inputs, and every outcome.
 * Every field is documented in `docs/report-schema.json`, which the tests
 * validate the output against.
 *
 * @module
 */
import type { ExploreResult } from "../explore/explorer.ts";
import type { RaceTable } from "./races.ts";
import type { CostTable } from "./costs.ts";
import type { KernelBase, PostedAgainst } from "../run/revision.ts";
import type { Matrix } from "../run/matrix.ts";
import { type Outcome, revisionHash, scenarioHash } from "../run/outcome.ts";
import { canonicalJson } from "../model/state.ts";
import {
  type BaselineCheck,
  type CellStatus,
  cellStatus,
  type CompareOptions,
  type LineageDiff,
  lineageDiff,
  lineages,
} from "./diff.ts";
import { matrixDigest } from "./markdown.ts";

/** Version of the report JSON schema. */
export const REPORT_SCHEMA = "mmbisect/report@1";

/** A revision as the report lists it (provenance, no config). */
export interface ReportRevision {
  /** The revision id. */
  id: string;
  /** One-line title. */
  title: string;
  /** The lineage it belongs to. */
  lineage: string;
  /** The revision it comes after (its parent for a candidate). */
  follows?: string;
  /** Whether it is a fix or variant proposed in a thread. */
  candidate: boolean;
  /** Posting date, YYYY-MM-DD. */
  date: string;
  /** Seed file and message it reproduces. */
  source: string;
  /** The kernel tree the model runs it on (which scenarios run on it). */
  base: KernelBase;
  /** The kernel it was posted against: version, tree and how that was established. */
  postedAgainst: PostedAgainst;
  /** Content hash of the resolved config. */
  hash: string;
}

/** A scenario as the report lists it. */
export interface ReportScenario {
  /** The scenario id. */
  id: string;
  /** What the scenario exercises and why. */
  purpose: string;
  /** Kernel paths it is about. */
  exercises: string[];
  /** The seed text it reproduces. */
  cite: string;
  /** The kernel tree it is written for. */
  kernel: KernelBase;
  /** Content hash of the scenario file's JSON. */
  hash: string;
}

/** One cell of the matrix: its status, kinds and the content hashes of its inputs. */
export interface ReportCell {
  /** The scenario id. */
  scenario: string;
  /** The revision id. */
  revision: string;
  /** `pass`, `fail`, `unsupported` or `timeout`. */
  status: CellStatus;
  /** Distinct violation kinds, sorted. */
  kinds: Outcome["kinds"];
  /** Content hashes of the scenario and revision the result came from. */
  hashes: Outcome["hashes"];
}

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
}

/**
 * Options of {@link buildReport}; `blame` and `timeout` are those of
 * `lineageDiff` (the causes of each regression and fix).
 */
export interface ReportOptions extends CompareOptions {
  /** Lineages to report (default: every lineage of the matrix). */
  lineages?: string[];
  /** Explorer results of the race scenarios. */
  races?: RaceTable;
  /** The cost table to include (see `costTable`). */
  costs?: CostTable;
  /** Revisions checked against a baseline (see `checkBaseline`). */
  baseline?: BaselineCheck;
}

/**
 * Builds the JSON report of a matrix.
 *
 * @param matrix The matrix.
 * @param opts Which lineages to report, the race results, a baseline check and the blame search.
 * @returns The report object.
 * @throws {RangeError} When a lineage is unknown or malformed.
 */
export function buildReport(matrix: Matrix, opts: ReportOptions = {}): Report {
  const diffs = (opts.lineages ?? lineages(matrix.revisions)).map((l) =>
    lineageDiff(matrix, l, opts)
  );
  return {
    schema: REPORT_SCHEMA,
    digest: matrixDigest(matrix),
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
    })),
    lineages: diffs,
    cells: matrix.cells.map((o) => ({
      scenario: o.scenario,
      revision: o.revision,
      status: cellStatus(o),
      kinds: o.kinds,
      hashes: o.hashes,
    })),
    outcomes: matrix.cells,
    ...(opts.races ? { races: opts.races.results } : {}),
    ...(opts.costs ? { costs: opts.costs } : {}),
    ...(opts.baseline ? { baseline: opts.baseline } : {}),
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
 * import { loadRevisionDir, loadScenarioDir, runMatrix } from "../../mod.ts";
 * import { buildReport, reportJson } from "./json.ts";
 * const m = runMatrix(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
 * const text = reportJson(buildReport(m));
 * console.log(JSON.parse(text).schema); // "mmbisect/report@1"
 * ```
 */
export function reportJson(report: Report): string {
  return JSON.stringify(JSON.parse(canonicalJson(report)), null, 2) + "\n";
}
