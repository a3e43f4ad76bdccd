/**
 * Runs the units of a run (matrix cells, explorations and cost tables) on a
 * pool of Web Workers, and puts the results back in the units' order: the
 * order they finish in never shows.
 *
 * @module
 */
import type { ExploreResult } from "../explore/explorer.ts";
import type { CostTable } from "../report/costs.ts";
import type { CellPair } from "../run/matrix.ts";
import { type Outcome, revisionHash, scenarioHash } from "../run/outcome.ts";
import type { Revision } from "../run/revision.ts";
import type { Scenario } from "../run/scenario.ts";
import {
  errorFrom,
  type FromWorker,
  runUnit,
  type ToWorker,
  type UnitKind,
  type UnitValue,
} from "./_unit.ts";

/** The units of a run. */
export interface Work {
  /** Matrix cells to run, in their order (see `matrixPairs`). */
  cells?: CellPair[];
  /** Scenarios to explore on revisions, in their order (see `racePlan`). */
  explorations?: CellPair[];
  /** Revisions to measure the cost table of (see `costTable`), in order. */
  costs?: Revision[];
}

/** The results of a {@link Work}, each list in the order of its units. */
export interface WorkResults {
  /** One outcome per cell. */
  outcomes: Outcome[];
  /** One explorer result per exploration. */
  explorations: ExploreResult[];
  /** One cost table per revision of {@link Work.costs}. */
  costs: CostTable[];
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

/**
 * Messages a worker has queued: the next is there when it finishes one, so
 * it never waits for this thread to answer.
 */
const DEPTH = 2;

interface Unit {
  index: number;
  kind: UnitKind;
  scenario?: Scenario;
  revision: Revision;
}

/**
 * Runs every unit of `work` (cells, explorations, cost tables), on
 * `opts.jobs` workers.
 *
 * The results are those of running the units one after the other in this
 * thread, cells first, then explorations, then cost tables: the same values
 * in the same order, whatever the number of workers. Each worker loads the
 * scenario and revision files again (so the units' inputs must come from
 * files, and the process needs read permission on them, which workers
 * inherit) and checks that every file still has the content hash of the
 * copy loaded here.
 *
 * When units fail, the error raised is that of the first failing unit in
 * the units' order, as in a run in this thread: once a unit has failed, no
 * later unit is handed out, and the earlier ones finish.
 *
 * @param work The cells, explorations and cost tables.
 * @param opts The number of workers, the time bound, the revisions and a progress callback.
 * @returns The outcomes, explorer results and cost tables.
 * @throws {InputError} As running the first failing unit in this thread would throw
 * (`ScenarioError` included), or when a file changed since it was loaded here.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { matrixPairs } from "../run/matrix.ts";
 * import { runWork } from "./pool.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const cells = matrixPairs(loadScenarioDir("scenarios").slice(0, 4), revs);
 * const { outcomes } = await runWork({ cells }, { jobs: 2 });
 * console.log(outcomes.length === cells.length);
 * ```
 */
export async function runWork(work: Work, opts: WorkOptions = {}): Promise<WorkResults> {
  const cells = work.cells ?? [];
  const explorations = work.explorations ?? [];
  const units: Unit[] = [
    ...cells.map((p) => ({ kind: "cell" as const, ...p })),
    ...explorations.map((p) => ({ kind: "exploration" as const, ...p })),
    ...(work.costs ?? []).map((revision) => ({ kind: "costs" as const, revision })),
  ].map((u, index) => ({ index, ...u }));
  const jobs = Math.min(
    opts.jobs === 0 ? navigator.hardwareConcurrency : opts.jobs ?? 1,
    units.length,
  );
  // One job runs in this thread with no await before it is done, as a synchronous call would.
  const values = jobs <= 1 ? inThisThread(units, opts) : await onWorkers(units, jobs, opts);
  const e = cells.length + explorations.length;
  return {
    outcomes: values.slice(0, cells.length) as Outcome[],
    explorations: values.slice(cells.length, e) as ExploreResult[],
    costs: values.slice(e) as CostTable[],
  };
}

function inThisThread(units: Unit[], opts: WorkOptions): UnitValue[] {
  const out: UnitValue[] = [];
  for (const u of units) {
    out.push(runUnit(u.kind, u.scenario, u.revision, opts.timeout));
    opts.onProgress?.(out.length, units.length);
  }
  return out;
}

function onWorkers(units: Unit[], jobs: number, opts: WorkOptions): Promise<UnitValue[]> {
  const scenarios = [...new Set(units.flatMap((u) => u.scenario ? [u.scenario] : []))];
  const scenarioIndex = new Map<Scenario, number>(scenarios.map((s, i) => [s, i]));
  const revisions = [...new Set([...(opts.revisions ?? []), ...units.map((u) => u.revision)])];
  const init: ToWorker = {
    type: "init",
    scenarios: scenarios.map((s) => ({ file: s.file, hash: scenarioHash(s) })),
    revisions: revisions.map((r) => ({
      file: r.file,
      ...(r.sources?.[0].dir === undefined ? {} : { dir: r.sources[0].dir }),
      id: r.id,
      hash: revisionHash(r),
    })),
    timeout: opts.timeout,
  };
  // The long units first (cost tables, then explorations): one started last would leave the
  // other workers idle at the end, where the cells now fill the gaps.
  const order: UnitKind[] = ["costs", "exploration", "cell"];
  const queue = order.flatMap((k) => units.filter((u) => u.kind === k));
  const values: UnitValue[] = new Array(units.length);
  const errors = new Map<number, Error>();
  let firstError = Infinity;
  let done = 0;
  let inFlight = 0;
  const queued = new Map<Worker, number>();
  const workers: Worker[] = [];
  return new Promise<UnitValue[]>((resolve, reject) => {
    const finish = (e?: Error) => {
      for (const w of workers) w.terminate();
      workers.length = 0;
      if (e) reject(e);
      else if (errors.size) reject(errors.get(firstError)!);
      else resolve(values);
    };
    /** The next batch: one long unit, or up to {@link BATCH} cells. */
    const take = (): Unit[] => {
      const batch: Unit[] = [];
      while (queue.length > 0 && batch.length < BATCH) {
        // A unit after a failed one would not run in this thread: it does not start here.
        if (queue[0].index > firstError) {
          queue.shift();
          continue;
        }
        if (batch.length > 0 && queue[0].kind !== "cell") break;
        batch.push(queue.shift()!);
        if (batch[0].kind !== "cell") break;
      }
      return batch;
    };
    const feed = (w: Worker) => {
      while ((queued.get(w) ?? 0) < DEPTH) {
        const batch = take();
        if (batch.length === 0) break;
        queued.set(w, (queued.get(w) ?? 0) + 1);
        inFlight++;
        const m: ToWorker = {
          type: "units",
          units: batch.map((u) => ({
            index: u.index,
            kind: u.kind,
            scenario: u.scenario ? scenarioIndex.get(u.scenario)! : -1,
            revision: u.revision.id,
          })),
        };
        w.postMessage(m);
      }
      if (inFlight === 0) finish();
    };
    for (let i = 0; i < jobs; i++) {
      const w = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
      workers.push(w);
      w.onmessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (m.type === "failed") return finish(errorFrom(m.error));
        if (m.type !== "results") return;
        queued.set(w, queued.get(w)! - 1);
        inFlight--;
        for (const { index, value } of m.results) values[index] = value;
        done += m.results.length;
        if (m.results.length) opts.onProgress?.(done, units.length);
        if (m.error) {
          errors.set(m.error.index, errorFrom(m.error.error));
          firstError = Math.min(firstError, m.error.index);
        }
        if (workers.length) feed(w);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        finish(new Error(`A worker failed: ${e.message}`));
      };
      // Units go right behind the init: a worker starts on them as soon as it has loaded.
      w.postMessage(init);
      feed(w);
    }
  });
}
