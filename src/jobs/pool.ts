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
  Claims,
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
   * Threads to run the units on: this one and `jobs - 1` Web Workers
   * (default 1, which runs them all in this thread, one after the other; 0
   * for one per CPU, `navigator.hardwareConcurrency`). No more threads run
   * than there are units.
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
  /**
   * Called in this thread with the outcomes once every cell has run without
   * an error, before this thread takes an exploration or a cost table: what
   * needs the cells alone runs there while the workers run the rest. When a
   * worker still runs a cell then, it is called once the workers are done.
   */
  afterCells?: (outcomes: Outcome[]) => void;
}

interface Unit {
  kind: UnitKind;
  scenario?: Scenario;
  revision: Revision;
}

/**
 * Runs every unit of `work` (cells, explorations, cost tables), on
 * `opts.jobs` threads: this one and `opts.jobs - 1` workers.
 *
 * The results are those of running the units one after the other in this
 * thread, cells first, then explorations, then cost tables: the same values
 * in the same order, whatever the number of threads. This thread takes
 * units from the front (the cells first, whose outcomes need not cross from
 * a worker), the workers from the back (the cost tables and the
 * explorations first), until they meet. Each worker loads the scenario and
 * revision files again (so the units' inputs must come from files, and the
 * process needs read permission on them, which workers inherit) and checks
 * that every file still has the content hash of the copy loaded here.
 *
 * When units fail, the error raised is that of the first failing unit in
 * the units' order, as in a run in this thread: once a unit has failed, no
 * later unit starts, and the earlier ones finish.
 *
 * @param work The cells, explorations and cost tables.
 * @param opts The number of threads, the time bound, the revisions and a progress callback.
 * @returns The outcomes, explorer results and cost tables.
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
  const cells = work.cells ?? [];
  const explorations = work.explorations ?? [];
  const units: Unit[] = [
    ...cells.map((p) => ({ kind: "cell" as const, ...p })),
    ...explorations.map((p) => ({ kind: "exploration" as const, ...p })),
    ...(work.costs ?? []).map((revision) => ({ kind: "costs" as const, revision })),
  ];
  const jobs = Math.min(
    opts.jobs === 0 ? navigator.hardwareConcurrency : opts.jobs ?? 1,
    units.length,
  );
  // One job runs in this thread with no await before it is done, as a synchronous call would.
  const values = jobs <= 1
    ? inThisThread(units, cells.length, opts)
    : await withWorkers(units, cells.length, jobs - 1, opts);
  const e = cells.length + explorations.length;
  return {
    outcomes: values.slice(0, cells.length) as Outcome[],
    explorations: values.slice(cells.length, e) as ExploreResult[],
    costs: values.slice(e) as CostTable[],
  };
}

function inThisThread(units: Unit[], cells: number, opts: WorkOptions): UnitValue[] {
  const out: UnitValue[] = [];
  for (const u of units) {
    if (out.length === cells) opts.afterCells?.(out as Outcome[]);
    out.push(runUnit(u.kind, u.scenario, u.revision, opts.timeout));
    opts.onProgress?.(out.length, units.length);
  }
  if (out.length === cells) opts.afterCells?.(out as Outcome[]);
  return out;
}

async function withWorkers(
  units: Unit[],
  cells: number,
  count: number,
  opts: WorkOptions,
): Promise<UnitValue[]> {
  const claims = new Claims(units.length);
  const values: UnitValue[] = new Array(units.length);
  const errors = new Map<number, Error>();
  let done = 0;
  const progress = () => opts.onProgress?.(++done, units.length);
  // The workers start loading first; this thread takes its units meanwhile.
  const workers = startWorkers(units, count, claims, opts, (m) => {
    if (m.type === "result") {
      values[m.index] = m.value;
      progress();
    } else if (m.type === "error") {
      errors.set(m.index, errorFrom(m.error));
    }
  });
  let after = opts.afterCells;
  const cellsDone = () => {
    if (!after || errors.size) return;
    const f = after;
    after = undefined;
    f(values.slice(0, cells) as Outcome[]);
  };
  try {
    for (let i = 0; claims.takeFront(i); i++) {
      if (i === cells) cellsDone();
      if (claims.skipped(i)) continue;
      const u = units[i];
      try {
        values[i] = runUnit(u.kind, u.scenario, u.revision, opts.timeout);
      } catch (e) {
        claims.failed(i);
        errors.set(i, e as Error);
        continue;
      }
      progress();
    }
  } catch (e) {
    workers.stop();
    throw e;
  }
  await workers.done;
  if (errors.size) throw errors.get(Math.min(...errors.keys()))!;
  cellsDone();
  return values;
}

/**
 * Starts `count` workers on the units and hands each message to `onMessage`;
 * `done` settles once every worker has run out of units (rejected when one
 * could not load the inputs or crashed), `stop` ends them at once.
 */
function startWorkers(
  units: Unit[],
  count: number,
  claims: Claims,
  opts: WorkOptions,
  onMessage: (m: FromWorker) => void,
): { done: Promise<void>; stop: () => void } {
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
    units: units.map((u) => ({
      kind: u.kind,
      scenario: u.scenario ? scenarioIndex.get(u.scenario)! : -1,
      revision: u.revision.id,
    })),
    claims: claims.buffer,
  };
  const workers: Worker[] = [];
  const stop = () => {
    for (const w of workers) w.terminate();
    workers.length = 0;
  };
  let running = count;
  const done = new Promise<void>((resolve, reject) => {
    const finish = (e?: Error) => {
      stop();
      if (e) reject(e);
      else resolve();
    };
    for (let i = 0; i < count; i++) {
      const w = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
      workers.push(w);
      w.onmessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (m.type === "failed") return finish(errorFrom(m.error));
        onMessage(m);
        if (m.type === "done" && --running === 0) finish();
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        finish(new Error(`A worker failed: ${e.message}`));
      };
      w.postMessage(init);
    }
  });
  return { done, stop };
}
