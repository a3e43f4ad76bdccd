/**
 * Runs the units of a run (matrix cells, explorations and cost tables) on a
 * pool of Web Workers, and puts the results back in the units' order: the
 * order they finish in never shows.
 *
 * @module
 */
import { type ExploreResult, resultOn } from "../explore/explorer.ts";
import type { CostTable } from "../report/costs.ts";
import type { CellPair } from "../run/matrix.ts";
import { type Outcome, revisionHash, scenarioHash } from "../run/outcome.ts";
import { reproduceCommand } from "../run/reproduce.ts";
import { behaviourKey } from "../report/_hybrid.ts";
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
  /**
   * Workers started ahead by {@link spawnWorkers}, used before any new one
   * is started; those the run does not need are ended.
   */
  workers?: Worker[];
}

/**
 * Starts `count` workers ahead of {@link runWork}, which takes them in
 * {@link WorkOptions.workers}: each loads its modules while the caller
 * still loads its inputs. A caller that does not reach `runWork` ends them
 * (`terminate()`).
 *
 * @param count How many.
 * @returns The workers, waiting for their units.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenarioDir, matrixPairs } from "../../mod.ts";
 * import { runWork, spawnWorkers } from "./pool.ts";
 * const workers = spawnWorkers(1);
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const cells = matrixPairs(loadScenarioDir("scenarios").slice(0, 4), revs);
 * const { outcomes } = await runWork({ cells }, { jobs: 2, workers });
 * console.log(outcomes.length === cells.length);
 * ```
 */
export function spawnWorkers(count: number): Worker[] {
  return Array.from(
    { length: count },
    () => new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" }),
  );
}

interface Unit {
  kind: UnitKind;
  scenario?: Scenario;
  revision: Revision;
}

/**
 * Runs every unit of `work` (cells, cost tables, explorations), on
 * `opts.jobs` threads: this one and `opts.jobs - 1` workers.
 *
 * The results are those of running the units one after the other in this
 * thread, cells first, then cost tables, then explorations: the same values
 * in the same order, whatever the number of threads. This thread takes
 * units from the front (the cells, whose outcomes need not cross from a
 * worker, then the cost tables), the workers from the back (the
 * explorations), until they meet: each kind of unit mostly runs, and warms
 * up its code, in one thread. Each worker loads the scenario and
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
  const ready = [...(opts.workers ?? [])];
  try {
    return await runUnits(work, opts, ready);
  } finally {
    for (const w of ready) w.terminate();
  }
}

/** {@link runWork}, which ends the workers of `ready` that this does not take. */
async function runUnits(work: Work, opts: WorkOptions, ready: Worker[]): Promise<WorkResults> {
  const cells = work.cells ?? [];
  const explorations = work.explorations ?? [];
  const units: Unit[] = [
    ...cells.map((p) => ({ kind: "cell" as const, ...p })),
    ...(work.costs ?? []).map((revision) => ({ kind: "costs" as const, revision })),
    ...explorations.map((p) => ({ kind: "exploration" as const, ...p })),
  ];
  // A unit whose scenario runs on a revision of the same behaviour as an earlier unit's is
  // not run: its value is that unit's, under its own revision.
  const same = sameUnits(units);
  const run: Unit[] = [];
  const runIndex: number[] = [];
  units.forEach((u, i) => {
    if (same[i] === i) {
      runIndex[i] = run.length;
      run.push(u);
    }
  });
  const weight = run.map(() => 0);
  for (const j of same) weight[runIndex[j]]++;
  const expand = (values: UnitValue[], n: number) =>
    units.slice(0, n).map((u, i) => {
      const v = values[runIndex[same[i]]];
      return same[i] === i ? v : sameValue(u, v);
    });
  let done = 0;
  const inner: Inner = {
    timeout: opts.timeout,
    revisions: opts.revisions,
    onDone: (i) => {
      done += weight[i];
      opts.onProgress?.(done, units.length);
    },
  };
  const after = opts.afterCells;
  if (after) inner.afterCells = (values) => after(expand(values, cells.length) as Outcome[]);
  const runCells = run.filter((u) => u.kind === "cell").length;
  const jobs = Math.min(
    opts.jobs === 0 ? navigator.hardwareConcurrency : opts.jobs ?? 1,
    run.length,
  );
  // One job runs in this thread with no await before it is done, as a synchronous call would.
  const values = expand(
    jobs <= 1
      ? inThisThread(run, runCells, inner)
      : await withWorkers(run, runCells, jobs - 1, inner, ready),
    units.length,
  );
  const e = units.length - explorations.length;
  return {
    outcomes: values.slice(0, cells.length) as Outcome[],
    explorations: values.slice(e) as ExploreResult[],
    costs: values.slice(cells.length, e) as CostTable[],
  };
}

/** What {@link inThisThread} and {@link withWorkers} need of the options, per unit run. */
interface Inner {
  timeout?: number;
  revisions?: Revision[];
  /** Called after unit `i` has run. */
  onDone: (i: number) => void;
  /** Called with the values of the cells once they have all run (see {@link WorkOptions.afterCells}). */
  afterCells?: (values: UnitValue[]) => void;
}

/**
 * For each unit, the index of the first unit of the same kind that runs
 * the same scenario on a revision of the same behaviour (`behaviourKey`):
 * its own index for the first. Cost tables are each their own.
 */
function sameUnits(units: Unit[]): number[] {
  const first = new Map<string, Map<Scenario | undefined, number>>();
  return units.map((u, i) => {
    if (u.kind === "costs") return i;
    const key = `${u.kind}\n${behaviourKey(u.revision)}`;
    let byScenario = first.get(key);
    if (!byScenario) first.set(key, byScenario = new Map());
    const j = byScenario.get(u.scenario);
    if (j !== undefined) return j;
    byScenario.set(u.scenario, i);
    return i;
  });
}

/**
 * The value of unit `u` from the value of a unit of the same kind, scenario
 * and behaviour on another revision: the same, but for what names the
 * revision (its id, its hash and the commands that reproduce it).
 */
function sameValue(u: Unit, value: UnitValue): UnitValue {
  const scenario = u.scenario!;
  if (u.kind === "cell") {
    const o = value as Outcome;
    return {
      ...o,
      revision: u.revision.id,
      hashes: { ...o.hashes, revision: revisionHash(u.revision) },
      reproduce: reproduceCommand(scenario, u.revision),
    };
  }
  return resultOn(value as ExploreResult, scenario, u.revision);
}

function inThisThread(units: Unit[], cells: number, inner: Inner): UnitValue[] {
  const out: UnitValue[] = [];
  for (const u of units) {
    if (out.length === cells) inner.afterCells?.(out);
    out.push(runUnit(u.kind, u.scenario, u.revision, inner.timeout));
    inner.onDone(out.length - 1);
  }
  if (out.length === cells) inner.afterCells?.(out);
  return out;
}

async function withWorkers(
  units: Unit[],
  cells: number,
  count: number,
  inner: Inner,
  ready: Worker[],
): Promise<UnitValue[]> {
  const claims = new Claims(units.length);
  const values: UnitValue[] = new Array(units.length);
  const errors = new Map<number, Error>();
  // The workers start loading first; this thread takes its units meanwhile.
  const workers = startWorkers(units, count, ready, claims, inner, (m) => {
    if (m.type === "result") {
      values[m.index] = m.value;
      inner.onDone(m.index);
    } else if (m.type === "error") {
      errors.set(m.index, errorFrom(m.error));
    }
  });
  let after = inner.afterCells;
  const cellsDone = () => {
    if (!after || errors.size) return;
    const f = after;
    after = undefined;
    f(values);
  };
  try {
    for (let i = 0; claims.takeFront(i); i++) {
      if (i === cells) cellsDone();
      if (claims.skipped(i)) continue;
      const u = units[i];
      try {
        values[i] = runUnit(u.kind, u.scenario, u.revision, inner.timeout);
      } catch (e) {
        claims.failed(i);
        errors.set(i, e as Error);
        continue;
      }
      inner.onDone(i);
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
 * Sets `count` workers on the units (those of `ready` first, taken from it,
 * then new ones) and hands each message to `onMessage`;
 * `done` settles once every worker has run out of units (rejected when one
 * could not load the inputs or crashed), `stop` ends them at once.
 */
function startWorkers(
  units: Unit[],
  count: number,
  ready: Worker[],
  claims: Claims,
  opts: Inner,
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
    const spawned = spawnWorkers(Math.max(0, count - ready.length));
    for (let i = 0; i < count; i++) {
      const w = ready.shift() ?? spawned.shift()!;
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
