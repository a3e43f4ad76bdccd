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
 * Sets a worker up and starts it: the files to load and the content hash
 * each must have, the units, and the claims it shares with the other
 * threads. Inputs go by path and id, never as objects: a worker loads its
 * own copy, and the hashes make sure it is the copy the caller loaded.
 */
export interface InitMessage {
  type: "init";
  /** Scenario files, with the hash of each (`scenarioHash`). */
  scenarios: { file: string; hash: string }[];
  /** Revision files, every one a revision of the units may extend, with hashes by id. */
  revisions: { file: string; dir?: string; id: string; hash: string }[];
  /** The time bound of each unit, in seconds (undefined: the default). */
  timeout?: number;
  /** Every unit of the run, in the units' order: a unit's index is its place here. */
  units: UnitRef[];
  /** The claims on the units, shared by every thread (see {@link Claims}). */
  claims: SharedArrayBuffer;
}

/**
 * One unit: the scenario by its index in {@link InitMessage.scenarios} (-1
 * for a cost table), the revision by id.
 */
export interface UnitRef {
  kind: UnitKind;
  scenario: number;
  revision: string;
}

/** A message to a worker. */
export type ToWorker = InitMessage;

/**
 * Who runs which unit, shared by the calling thread and its workers: the
 * caller takes units from the front of the list (the cells, whose outcomes
 * it keeps, and which need not cross to it, then the cost tables), the
 * workers from the back (the explorations). Each unit has a flag, set once by
 * whoever takes it; the front stops at the first unit already taken, a
 * worker at the first it cannot take, so every unit runs exactly once and
 * the threads meet wherever their speeds make them meet. After a unit
 * fails, no unit after it in the units' order starts, and the units before
 * it still run, as in one thread.
 */
export class Claims {
  /** One flag per unit, then the next unit from the back, then the first failed unit's index. */
  readonly #cells: Int32Array;
  readonly #units: number;

  /**
   * @param buffer The shared buffer ({@link Claims.buffer}), or the number of units for a new one.
   */
  constructor(buffer: SharedArrayBuffer | number) {
    const b = typeof buffer === "number"
      ? new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (buffer + 2))
      : buffer;
    this.#cells = new Int32Array(b);
    this.#units = this.#cells.length - 2;
    if (typeof buffer === "number") {
      this.#cells[this.#units] = this.#units - 1;
      this.#cells[this.#units + 1] = this.#units;
    }
  }

  /** The shared buffer, for a worker's {@link InitMessage}. */
  get buffer(): SharedArrayBuffer {
    return this.#cells.buffer as SharedArrayBuffer;
  }

  /** Takes unit `i` from the front; false when a worker has it. */
  takeFront(i: number): boolean {
    return i < this.#units && Atomics.compareExchange(this.#cells, i, 0, 1) === 0;
  }

  /** Takes the next unit from the back: its index, or -1 when none is left. */
  takeBack(): number {
    const i = Atomics.sub(this.#cells, this.#units, 1);
    return i >= 0 && Atomics.compareExchange(this.#cells, i, 0, 1) === 0 ? i : -1;
  }

  /** Whether unit `i` comes after a unit that failed, and so must not start. */
  skipped(i: number): boolean {
    return i > Atomics.load(this.#cells, this.#units + 1);
  }

  /** Records that unit `i` failed. */
  failed(i: number): void {
    const at = this.#units + 1;
    for (let old = Atomics.load(this.#cells, at); i < old;) {
      const seen = Atomics.compareExchange(this.#cells, at, old, i);
      if (seen === old) break;
      old = seen;
    }
  }
}

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
 * A message from a worker: the result of each unit it ran, or the error of
 * the unit that failed, then `done` once no unit is left for it (or
 * `failed` when it could not load the inputs).
 */
export type FromWorker =
  | { type: "done" }
  | { type: "failed"; error: ErrorData }
  | { type: "result"; index: number; value: UnitValue }
  | { type: "error"; index: number; error: ErrorData };

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
 * The worker's side: loads the inputs, then takes units from the back of
 * the shared list ({@link Claims}) and sends each one's result, until none
 * is left.
 *
 * @param post Sends a message to the caller.
 * @returns The handler of the caller's message.
 */
export function serveUnits(post: (m: FromWorker) => void): (m: ToWorker) => void {
  return (m) => {
    const scenarios: Scenario[] = [];
    const revisions = new Map<string, Revision>();
    try {
      for (const { file, hash } of m.scenarios) {
        const s = loadScenario(file);
        if (scenarioHash(s) !== hash) throw changed(file);
        scenarios.push(s);
      }
      const sources = m.revisions.map((
        { file, dir },
      ) => (dir === undefined ? { file } : { file, dir }));
      for (const r of loadRevisionSources(sources)) revisions.set(r.id, r);
      for (const { file, id, hash } of m.revisions) {
        const r = revisions.get(id);
        if (!r || revisionHash(r) !== hash) throw changed(file);
      }
    } catch (e) {
      post({ type: "failed", error: errorData(e) });
      return;
    }
    const claims = new Claims(m.claims);
    for (let i = claims.takeBack(); i >= 0; i = claims.takeBack()) {
      if (claims.skipped(i)) continue;
      const u = m.units[i];
      try {
        const scenario = u.scenario < 0 ? undefined : scenarios[u.scenario];
        post({
          type: "result",
          index: i,
          value: runUnit(u.kind, scenario, revisions.get(u.revision)!, m.timeout),
        });
      } catch (e) {
        claims.failed(i);
        post({ type: "error", index: i, error: errorData(e) });
      }
    }
    post({ type: "done" });
  };
}

/** A file that no longer holds what the caller loaded from it. */
function changed(file: string): InputError {
  return new InputError(file, "(file)", "changed while the run was going on (run again)");
}
