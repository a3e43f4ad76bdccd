/**
 * The report model: everything a report shows, analysed once from a
 * matrix by `analyse()` — the cells with their statuses (as the runner
 * recorded them), the lineage diffs with their comparisons and causes, the
 * baseline check, the judgements against pinned expectations, the races,
 * the driver table and the costs. Every renderer (Markdown, JSON, HTML,
 * mail, TAP, JUnit) takes this model and only formats it; the small lookups
 * here are all they need to find a cell, a revision or a scenario.
 *
 * @module
 */
import type { KernelBase, Revision } from "../run/revision.ts";
import type { CellStatus, Outcome } from "../run/outcome.ts";
import type { BaselineCheck, LineageDiff } from "../report/diff.ts";
import type { RaceTable } from "../report/races.ts";
import type { CostTable } from "../report/costs.ts";
import type { DriverCell } from "../report/drivers.ts";
import type { Judgement } from "./expect.ts";

export type { CellStatus, Outcome };

/** A revision as the report lists it: its provenance (the fields of {@link Revision}), no config. */
export type ReportRevision =
  & Pick<
    Revision,
    | "id"
    | "title"
    | "lineage"
    | "follows"
    | "candidate"
    | "date"
    | "source"
    | "base"
    | "postedAgainst"
  >
  & {
    /** Content hash of the resolved config. */
    hash: string;
  };

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

/** The report model (see the module documentation). */
export interface ReportModel {
  /** Digest of every outcome in the matrix. */
  digest: string;
  /** Every revision run, in the matrix's order. */
  revisions: ReportRevision[];
  /** Every scenario run, in the matrix's order, with the operation of each step. */
  scenarios: (ReportScenario & { steps: string[] })[];
  /** The reported lineages, in order, each with its order, comparisons and outcome groups. */
  lineages: LineageDiff[];
  /**
   * The columns of each lineage of {@link ReportModel.lineages}: its
   * revisions in display order, each posted revision followed by its candidates.
   */
  columns: string[][];
  /** Every cell of the matrix, scenario-major. */
  cells: ReportCell[];
  /** Every outcome of the matrix, scenario-major (the order of {@link ReportModel.cells}). */
  outcomes: Outcome[];
  /** The revisions checked against a baseline, when one was named. */
  baseline?: BaselineCheck;
  /** Explorer results of the race scenarios, when they were explored. */
  races?: RaceTable;
  /** The F8 cover letter's claims measured on a 2.5.42 revision, when the report has one. */
  costs?: CostTable;
  /** The driver-by-revision table of the revisions shown. */
  drivers: DriverCell[];
  /**
   * Each cell shown judged against an expectation table, lineage by
   * lineage, scenario-major; absent when no table was given.
   */
  judgements?: Judgement[];
}

/**
 * The outcome of one cell of a model.
 *
 * @param model The model.
 * @param scenario A scenario id.
 * @param revision A revision id.
 * @returns The outcome.
 * @throws {RangeError} When the model has no such cell.
 *
 * @example
 * ```ts
 * import { modelOutcome, type ReportModel } from "./model.ts";
 * const model = { outcomes: [{ scenario: "s", revision: "r", kinds: [] }] } as unknown as ReportModel;
 * console.log(modelOutcome(model, "s", "r").kinds); // []
 * ```
 */
export function modelOutcome(model: ReportModel, scenario: string, revision: string): Outcome {
  let index = indexes.get(model.outcomes);
  if (!index) {
    index = new Map(model.outcomes.map((o) => [`${o.scenario}\n${o.revision}`, o]));
    indexes.set(model.outcomes, index);
  }
  const o = index.get(`${scenario}\n${revision}`);
  if (!o) throw new RangeError(`No outcome for scenario "${scenario}" on revision "${revision}"`);
  return o;
}

const indexes = new WeakMap<Outcome[], Map<string, Outcome>>();

/**
 * A revision of a model by id.
 *
 * @param model The model.
 * @param id A revision id.
 * @returns The revision.
 * @throws {RangeError} When the model has no such revision.
 *
 * @example
 * ```ts
 * import { modelRevision, type ReportModel } from "./model.ts";
 * const model = { revisions: [{ id: "r", title: "R" }] } as unknown as ReportModel;
 * console.log(modelRevision(model, "r").title); // "R"
 * ```
 */
export function modelRevision(model: ReportModel, id: string): ReportRevision {
  const r = model.revisions.find((x) => x.id === id);
  if (!r) throw new RangeError(`Unknown revision "${id}"`);
  return r;
}

/**
 * The scenarios of a model that run on the given revisions: those written
 * for the kernel tree of the first (all of one lineage share it), in model order.
 *
 * @param model The model.
 * @param revisions Revision ids.
 * @returns The scenarios.
 *
 * @example
 * ```ts
 * import { modelScenarios, type ReportModel } from "./model.ts";
 * const model = {
 *   revisions: [{ id: "r", base: "2.6.24" }],
 *   scenarios: [{ id: "a", kernel: "2.6.24" }, { id: "b", kernel: "2.5.42" }],
 * } as unknown as ReportModel;
 * console.log(modelScenarios(model, ["r"]).map((s) => s.id)); // ["a"]
 * ```
 */
export function modelScenarios(
  model: ReportModel,
  revisions: readonly string[],
): ReportModel["scenarios"] {
  if (revisions.length === 0) return [];
  const base = modelRevision(model, revisions[0]).base;
  return model.scenarios.filter((s) => s.kernel === base);
}

/**
 * The ids of the revisions a model shows, lineage by lineage in display order.
 *
 * @param model The model.
 * @returns Revision ids, each once.
 *
 * @example
 * ```ts
 * import { shownRevisions, type ReportModel } from "./model.ts";
 * const model = { columns: [["a", "c", "b"], ["d"]] } as unknown as ReportModel;
 * console.log(shownRevisions(model)); // ["a", "c", "b", "d"]
 * ```
 */
export function shownRevisions(model: ReportModel): string[] {
  return [...new Set(model.columns.flat())];
}
