/**
 * One unit of work (a matrix cell, an exploration or a cost table) and the
 * messages that carry units to a worker and results back. Both the
 * in-process path and the worker run a unit through {@link runUnit}, so the
 * two cannot drift apart.
 *
 * @module
 */
import { explore, type ExploreResult } from "../explore/explorer.ts";
import { type CostTable, costTable } from "../report/costs.ts";
import { InputError, ScenarioError } from "../run/errors.ts";
import { runCell } from "../run/matrix.ts";
import type { Outcome } from "../run/outcome.ts";
import { revisionHash, scenarioHash } from "../run/outcome.ts";
import { loadRevisionSources, type Revision } from "../run/revision.ts";
import { loadScenario, type Scenario } from "../run/scenario.ts";

/** What a unit does: run a cell, explore every schedule, or measure a revision's cost table. */
export type UnitKind = "cell" | "exploration" | "costs";

/** What a unit gives. */
export type UnitValue = Outcome | ExploreResult | CostTable;

/** Runs one unit in this thread (a cost table has no scenario). */
export function runUnit(
  kind: UnitKind,
  scenario: Scenario | undefined,
  revision: Revision,
  timeout: number | undefined,
): UnitValue {
  if (kind === "costs") return costTable(revision);
  return kind === "cell"
    ? runCell(scenario!, revision, { timeout })
    : explore(scenario!, revision, { timeout });
}

/**
 * Sets a worker up: the files to load and the content hash each must have.
 * Inputs go by path and id, never as objects: a worker loads its own copy,
 * and the hashes make sure it is the copy the caller loaded.
 */
export interface InitMessage {
  type: "init";
  /** Scenario files, with the hash of each (`scenarioHash`). */
  scenarios: { file: string; hash: string }[];
  /** Revision files, every one a revision of the units may extend, with hashes by id. */
  revisions: { file: string; dir?: string; id: string; hash: string }[];
  /** The time bound of each unit, in seconds (undefined: the default). */
  timeout?: number;
}

/**
 * One unit: the scenario by its index in {@link InitMessage.scenarios} (-1
 * for a cost table), the revision by id.
 */
export interface UnitRef {
  /** The unit's index in the caller's list, echoed in the answer. */
  index: number;
  kind: UnitKind;
  scenario: number;
  revision: string;
}

/**
 * Runs a batch of units, in order. Short units (cells) go several to a
 * message: one message per cell would cost about as much as the cell.
 */
export interface UnitsMessage {
  type: "units";
  units: UnitRef[];
}

/** A message to a worker. */
export type ToWorker = InitMessage | UnitsMessage;

/** An error as it crosses from a worker: enough to raise the same class with the same message. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  file?: string;
  field?: string;
  expected?: string;
  revision?: string;
}

/**
 * A message from a worker: ready after init (or the error that stopped it),
 * then one answer per batch: the results of its units up to the first that
 * failed, and that unit's error.
 */
export type FromWorker =
  | { type: "ready" }
  | { type: "failed"; error: ErrorData }
  | {
    type: "results";
    results: { index: number; value: UnitValue }[];
    error?: { index: number; error: ErrorData };
  };

/** Flattens an error for `postMessage` (which would drop an InputError's class and fields). */
export function errorData(e: unknown): ErrorData {
  if (!(e instanceof Error)) return { name: "Error", message: String(e) };
  const out: ErrorData = { name: e.name, message: e.message, stack: e.stack };
  if (e instanceof InputError) {
    out.file = e.file;
    out.field = e.field;
    out.expected = e.expected;
  }
  if (e instanceof ScenarioError) out.revision = e.revision;
  return out;
}

const BUILT_IN: Record<string, ErrorConstructor> = {
  Error,
  RangeError,
  TypeError,
  SyntaxError,
};

/** Raises again, in the caller's thread, the error a worker flattened. */
export function errorFrom(d: ErrorData): Error {
  if (d.name === "ScenarioError") {
    return new ScenarioError(d.file!, d.field!, d.expected!, { revision: d.revision! });
  }
  if (d.name === "InputError") return new InputError(d.file!, d.field!, d.expected!);
  const e = new (Object.hasOwn(BUILT_IN, d.name) ? BUILT_IN[d.name] : Error)(d.message);
  e.name = d.name;
  if (d.stack) e.stack = d.stack;
  return e;
}

/**
 * The worker's side: loads the inputs on init and answers each unit.
 *
 * @param post Sends a message to the caller.
 * @returns The handler of the caller's messages.
 */
export function serveUnits(post: (m: FromWorker) => void): (m: ToWorker) => void {
  let scenarios: Scenario[] = [];
  const revisions = new Map<string, Revision>();
  let timeout: number | undefined;
  return (m) => {
    if (m.type === "init") {
      try {
        scenarios = m.scenarios.map(({ file, hash }) => {
          const s = loadScenario(file);
          if (scenarioHash(s) !== hash) throw changed(file);
          return s;
        });
        const sources = m.revisions.map((
          { file, dir },
        ) => (dir === undefined ? { file } : { file, dir }));
        for (const r of loadRevisionSources(sources)) revisions.set(r.id, r);
        for (const { file, id, hash } of m.revisions) {
          const r = revisions.get(id);
          if (!r || revisionHash(r) !== hash) throw changed(file);
        }
        timeout = m.timeout;
        post({ type: "ready" });
      } catch (e) {
        post({ type: "failed", error: errorData(e) });
      }
      return;
    }
    const results: { index: number; value: UnitValue }[] = [];
    for (const u of m.units) {
      try {
        const scenario = u.scenario < 0 ? undefined : scenarios[u.scenario];
        const value = runUnit(u.kind, scenario, revisions.get(u.revision)!, timeout);
        results.push({ index: u.index, value });
      } catch (e) {
        // The units after it in the batch come after it in the run: they would not run either.
        post({ type: "results", results, error: { index: u.index, error: errorData(e) } });
        return;
      }
    }
    post({ type: "results", results });
  };
}

/** A file that no longer holds what the caller loaded from it. */
function changed(file: string): InputError {
  return new InputError(file, "(file)", "changed while the run was going on (run again)");
}
