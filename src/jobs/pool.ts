/**
 * Runs the units of a run (matrix cells and explorations) on a pool of Web
 * Workers, one unit at a time per worker, and puts the results back in the
 * units' order: the order they finish in never shows.
 *
 * @module
 */
import type { ExploreResult } from "../explore/explorer.ts";
import type { CellPair } from "../run/matrix.ts";
import { type Outcome, revisionHash, scenarioHash } from "../run/outcome.ts";
import type { Revision } from "../run/revision.ts";
import type { Scenario } from "../run/scenario.ts";
import { errorFrom, type FromWorker, runUnit, type ToWorker, type UnitKind } from "./_unit.ts";

/** The units of a run. */
export interface Work {
  /** Matrix cells to run, in their order (see `matrixPairs`). */
  cells?: CellPair[];
  /** Scenarios to explore on revisions, in their order (see `racePlan`). */
  explorations?: CellPair[];
}

/** The results of a {@link Work}, each list in the order of its units. */
export interface WorkResults {
  /** One outcome per cell. */
  outcomes: Outcome[];
  /** One explorer result per exploration. */
  explorations: ExploreResult[];
}

/** Options of {@link runWork}. */
export interface WorkOptions {
  /**
   * Workers to run the units on (default 1, which runs them in this thread,
   * one after the other; 0 for one per CPU, `navigator.hardwareConcurrency`).
   * No more workers start than there are units.
   */
  jobs?: number;
  /** The time bound of each unit, in seconds (the runner's and explorer's default when absent). */
  timeout?: number;
  /**
   * Every revision a unit's revision may extend (default: the units' own
   * revisions). A worker loads its revisions again from their files, and
   * resolves `extends` among these.
   */
  revisions?: Revision[];
  /** Called after each unit with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Cells sent to a worker in one message: a cell takes about a millisecond,
 * and a message to and from a worker about as long again.
 */
const BATCH = 16;

interface Unit {
  index: number;
  kind: UnitKind;
  pair: CellPair;
}

/**
 * Runs every cell and every exploration of `work`, on `opts.jobs` workers.
 *
 * The results are those of running the units one after the other in this
 * thread, cells first: the same values in the same order, whatever the
 * number of workers. Each worker loads the scenario and revision files
 * again (so the units' inputs must come from files, and the process needs
 * read permission on them, which workers inherit) and checks that every
 * file still has the content hash of the copy loaded here.
 *
 * When units fail, the error raised is that of the first failing unit in
 * the units' order, as in a run in this thread: a worker stops taking units
 * that come after a failed one, and finishes those before it.
 *
 * @param work The cells and explorations.
 * @param opts The number of workers, the time bound, the revisions and a progress callback.
 * @returns The outcomes and explorer results.
 * @throws {InputError} As running the first failing unit in this thread would throw
 * (`ScenarioError` included), or when a file changed since it was loaded here.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenarioDir, matrixPairs } from "../../mod.ts";
 * import { runWork } from "./pool.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const cells = matrixPairs(loadScenarioDir("scenarios").slice(0, 4), revs);
 * const { outcomes } = await runWork({ cells }, { jobs: 2 });
 * console.log(outcomes.length === cells.length);
 * ```
 */
export async function runWork(work: Work, opts: WorkOptions = {}): Promise<WorkResults> {
  const units: Unit[] = [
    ...(work.cells ?? []).map((pair) => ({ kind: "cell" as const, pair })),
    ...(work.explorations ?? []).map((pair) => ({ kind: "exploration" as const, pair })),
  ].map((u, index) => ({ index, ...u }));
  const jobs = Math.min(
    opts.jobs === 0 ? navigator.hardwareConcurrency : opts.jobs ?? 1,
    units.length,
  );
  const values = jobs <= 1 ? inThisThread(units, opts) : await onWorkers(units, jobs, opts);
  const cells = work.cells?.length ?? 0;
  return {
    outcomes: values.slice(0, cells) as Outcome[],
    explorations: values.slice(cells) as ExploreResult[],
  };
}

function inThisThread(units: Unit[], opts: WorkOptions): (Outcome | ExploreResult)[] {
  const out: (Outcome | ExploreResult)[] = [];
  for (const u of units) {
    out.push(runUnit(u.kind, u.pair.scenario, u.pair.revision, opts.timeout));
    opts.onProgress?.(out.length, units.length);
  }
  return out;
}

function onWorkers(
  units: Unit[],
  jobs: number,
  opts: WorkOptions,
): Promise<(Outcome | ExploreResult)[]> {
  const scenarios = [...new Set(units.map((u) => u.pair.scenario))];
  const scenarioIndex = new Map<Scenario, number>(scenarios.map((s, i) => [s, i]));
  const revisions = [...new Set([...(opts.revisions ?? []), ...units.map((u) => u.pair.revision)])];
  const init: ToWorker = {
    type: "init",
    scenarios: scenarios.map((s) => ({ file: s.file, hash: scenarioHash(s) })),
    revisions: revisions.map((r) => ({ file: r.file, id: r.id, hash: revisionHash(r) })),
    timeout: opts.timeout,
  };
  // Explorations first: they are the long units, and a long one started last would leave the
  // other workers idle at the end.
  const queue = [
    ...units.filter((u) => u.kind === "exploration"),
    ...units.filter((u) => u.kind === "cell"),
  ];
  const values: (Outcome | ExploreResult)[] = new Array(units.length);
  const errors = new Map<number, Error>();
  let firstError = Infinity;
  let done = 0;
  let busy = 0;
  const workers: Worker[] = [];
  return new Promise<(Outcome | ExploreResult)[]>((resolve, reject) => {
    const finish = (e?: Error) => {
      for (const w of workers) w.terminate();
      workers.length = 0;
      if (e) reject(e);
      else if (errors.size) reject(errors.get(firstError)!);
      else resolve(values);
    };
    const feed = (w: Worker) => {
      const batch: Unit[] = [];
      while (queue.length > 0 && batch.length < BATCH) {
        const u = queue.shift()!;
        // A unit after a failed one would not run in this thread: skip it.
        if (u.index > firstError) continue;
        batch.push(u);
        if (u.kind === "exploration") break;
        if (queue[0]?.kind === "exploration") break;
      }
      if (batch.length === 0) {
        if (busy === 0) finish();
        return;
      }
      busy++;
      const m: ToWorker = {
        type: "units",
        units: batch.map((u) => ({
          index: u.index,
          kind: u.kind,
          scenario: scenarioIndex.get(u.pair.scenario)!,
          revision: u.pair.revision.id,
        })),
      };
      w.postMessage(m);
    };
    for (let i = 0; i < jobs; i++) {
      const w = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
      workers.push(w);
      w.onmessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (m.type === "failed") return finish(errorFrom(m.error));
        if (m.type === "results") {
          busy--;
          for (const { index, value } of m.results) values[index] = value;
          done += m.results.length;
          if (m.results.length) opts.onProgress?.(done, units.length);
          if (m.error) {
            errors.set(m.error.index, errorFrom(m.error.error));
            firstError = Math.min(firstError, m.error.index);
          }
        }
        if (workers.length) feed(w);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        finish(new Error(`A worker failed: ${e.message}`));
      };
      w.postMessage(init);
    }
  });
}
