/**
 * The runner: runs one scenario on one revision and returns its outcome.
 *
 * Each step runs on its thread to completion. A step with `during` starts a
 * second thread when the first reaches the named scheduling point; from then
 * on the second thread runs whenever it is not blocked (a fixed, replayable
 * schedule).
 *
 * @module
 */
import {
  type CalloutEvent,
  Kernel,
  KernelBug,
  KernelDeadlock,
  type KGen,
  type Observation,
  type SchedPoint,
} from "../kernel/context.ts";
import { allocPage, newFile, newState } from "../model/state.ts";
import type { FileObj, MmState } from "../model/types.ts";
import { NotifierChain } from "../notifier/chain.ts";
import { Kvm } from "../secondary/kvm.ts";
import { HmmMirror } from "../secondary/hmm.ts";
import { Gru } from "../secondary/gru.ts";
import { Xpmem } from "../secondary/xpmem.ts";
import type { Checker, Violation } from "../check/checker.ts";
import { createCheckers } from "../check/registry.ts";
import { type OpResult, runOp, type World } from "./ops.ts";
import type { Scenario, Step } from "./scenario.ts";
import type { Revision } from "./revision.ts";
import { buildOutcome, type Outcome } from "./outcome.ts";
import { checkDuringReached, checkFailsReached } from "./step_checks.ts";

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Keep the full callout trace (default true). */
  trace?: boolean;
  /** Make every lock acquisition a scheduling point (used by the explorer). */
  preemptive?: boolean;
  /** Called at every scheduling point a thread passes (for readable schedules). */
  onPoint?: (step: number, thread: string, point: SchedPoint) => void;
}

/** A thread of a step as the scheduler sees it. */
export interface ThreadView {
  /** Thread name (the step's `thread`, or a `race` thread's name). */
  name: string;
  /** Whether its operations have returned. */
  done: boolean;
  /** The scheduling point it stopped at last. */
  last?: SchedPoint;
  /** How many scheduling points it has passed. */
  points: number;
}

/**
 * Picks the thread to run at a point where more than one can run; returns
 * null to stop the run there (the explorer prunes a state it has seen).
 */
export type Decider = (enabled: ThreadView[], run: Run) => ThreadView | null;

interface Thread extends ThreadView {
  gen: KGen<OpResult>;
  waiting: boolean;
  result?: OpResult;
}

/**
 * A 2.5.42 file's page cache when the scenario starts: the `cached` pages
 * are in it; a shmem file's other pages are in swap (a regular file's are
 * on disk, which needs no record).
 */
function setUpCache(state: MmState, file: FileObj, cached: number[]): void {
  const inCache = new Set(cached);
  for (const i of [...inCache].sort((a, b) => a - b)) {
    const page = allocPage(
      state,
      { kind: "file", file: file.name, index: i },
      `cache:${file.name}`,
    );
    file.cache[i] = page.pfn;
  }
  if (file.kind !== "shmem") return;
  file.backed = {};
  for (let i = 0; i < file.size; i++) if (!inCache.has(i)) file.backed[i] = true;
}

/** Raised by a run that a decider stopped. */
export class RunStopped extends Error {}

class StepAborted extends Error {}

/** Runs a list of operations one after another on one thread. */
function* sequence(w: World, ops: Step[]): KGen<OpResult> {
  const out: string[] = [];
  for (const op of ops) out.push(String(yield* runOp(w, op)));
  return out.join(",");
}

/** Scheduling points a step may pass before it is reported as making no progress. */
const STEP_POINT_BOUND = 100_000;

/**
 * One run of a scenario on a revision, step by step. The default schedule
 * runs the highest-priority thread that can run: a `during` thread once
 * started, otherwise the threads of a `race` in the order they are declared;
 * a thread that only retries (`wait`) runs when no other thread can.
 */
export class Run {
  /** The primary MMU of this run: model state, locks, the revision's kernel paths. */
  readonly kernel: Kernel;
  /** The notifier chain of this run, with the scenario's secondary MMUs. */
  readonly chain: NotifierChain;
  /** The kernel and chain together, as operations see them. */
  readonly world: World;
  /** Violations reported so far. */
  readonly violations: Violation[] = [];
  /** Every callout the kernel has made, in order. */
  readonly trace: CalloutEvent[] = [];
  /** For each callout of `trace`, the notifiers on the mm's list at that moment. */
  readonly listeners: string[][] = [];
  /** Return value of each step run so far. */
  readonly returns: OpResult[] = [];
  /** Set when a step stopped on a deadlock or BUG; no later step runs. */
  aborted?: string;
  /** Threads of the step being run, in priority order. */
  threads: ThreadView[] = [];
  /** The registered checkers observing this run. */
  readonly checkers: Checker[] = createCheckers();
  private readonly ctx;

  /**
   * Sets up a fresh world: the scenario's files, the revision's kernel paths
   * and notifier chain, and the scenario's secondary MMUs (not registered yet).
   *
   * @param scenario The scenario to run.
   * @param revision The revision to run it on.
   * @param opts Run options.
   */
  constructor(
    readonly scenario: Scenario,
    readonly revision: Revision,
    readonly opts: RunOptions = {},
  ) {
    if (scenario.kernel !== revision.base) {
      throw new RangeError(
        `Scenario "${scenario.id}" is written for ${scenario.kernel} and revision "${revision.id}" applies to ${revision.base}: it cannot run there`,
      );
    }
    const state = newState();
    for (const f of scenario.files) {
      const file = newFile(f.name, f.pages, f.kind);
      file.pageMkwrite = f.pageMkwrite;
      state.files[f.name] = file;
      if (scenario.kernel === "2.5.42") setUpCache(state, file, f.cached ?? []);
    }
    this.chain = new NotifierChain(revision.chain);
    this.kernel = new Kernel(state, revision.paths, this.chain);
    this.kernel.preemptive = opts.preemptive ?? false;
    this.kernel.variants = revision.kernel;
    if (revision.nonlinear) this.kernel.nonlinear = revision.nonlinear;
    for (const s of scenario.secondaries) {
      this.chain.add(
        s.driver === "hmm"
          ? new HmmMirror(s.id, s.mm, revision.drivers.hmm.snapshot)
          : s.driver === "gru"
          ? new Gru(s.id, s.mm)
          : s.driver === "xpmem"
          ? new Xpmem(s.id, s.mm, revision.chain.rmapNotifier ?? false)
          : new Kvm(s.id, s.mm),
      );
    }
    this.world = { kernel: this.kernel, chain: this.chain };
    this.ctx = {
      kernel: this.kernel,
      chain: this.chain,
      config: revision.chain,
      report: (v: Violation) => this.violations.push(v),
    };
    this.kernel.observers.push((o: Observation) => {
      if (o.type === "callout") {
        this.trace.push(o.ev);
        this.listeners.push(o.listeners);
      }
      for (const c of this.checkers) c.observe?.(this.ctx, o);
    });
  }

  /** Runs step `i`; `decide` chooses at points where several threads can run. */
  runStep(i: number, decide?: Decider): void {
    const step = this.scenario.steps[i];
    this.kernel.beginStep(i, step.fail);
    try {
      this.returns.push(this.schedule(step, decide));
      checkFailsReached(this.scenario, this.revision, i, this.kernel.allocationsMade());
    } catch (e) {
      if (e instanceof RunStopped) throw e;
      if (e instanceof KernelDeadlock) {
        this.kernel.emit({ type: "no-progress", step: i, thread: e.thread, what: e.message });
        this.aborted = `step ${i}: ${e.message}`;
      } else if (e instanceof KernelBug || e instanceof StepAborted) {
        this.aborted = `step ${i}: ${e.message}`;
      } else {
        throw e;
      }
      this.returns.push("aborted");
    }
    for (const c of this.checkers) c.afterStep?.(this.ctx, i);
  }

  /** Runs the remaining steps and returns the outcome. */
  finish(decide?: Decider): Outcome {
    for (let i = this.returns.length; i < this.scenario.steps.length && !this.aborted; i++) {
      this.runStep(i, decide);
    }
    for (const c of this.checkers) c.atEnd?.(this.ctx, this.scenario.steps.length - 1);
    return this.outcome();
  }

  /** Runs one step's threads until all return, scheduling them; returns the step's result. */
  private schedule(step: Step, decide?: Decider): OpResult {
    const k = this.kernel;
    const mk = (name: string, gen: KGen<OpResult>): Thread => ({
      name,
      gen,
      done: false,
      points: 0,
      waiting: false,
    });
    const threads: Thread[] = step.threads
      ? Object.entries(step.threads).map(([name, ops]) => mk(name, sequence(this.world, ops)))
      : [mk(step.thread, runOp(this.world, step))];
    this.threads = threads;
    let started = false;
    let points = 0;
    const reached = new Set<string>();
    const runnable = (t: Thread) =>
      !t.done && !(t.last?.blockedOn && !k.canTake(t.last.blockedOn, t.last.blockedKind!));
    for (;;) {
      const live = threads.filter(runnable);
      if (live.length === 0) {
        if (threads.every((t) => t.done)) break;
        const names = threads.filter((t) => !t.done).map((t) => t.name).join(", ");
        k.emit({
          type: "no-progress",
          step: k.step,
          thread: names,
          what: `deadlock: ${names} all wait`,
        });
        throw new StepAborted("deadlock");
      }
      const eager = live.filter((t) => !t.waiting);
      const enabled = eager.length > 0 ? eager : live;
      let t = enabled[0];
      if (enabled.length > 1 && decide) {
        const choice = decide(enabled, this);
        if (!choice) throw new RunStopped();
        t = choice as Thread;
      }
      if (++points > STEP_POINT_BOUND) {
        k.emit({ type: "no-progress", step: k.step, thread: t.name, what: "step bound reached" });
        throw new StepAborted("step bound reached");
      }
      const r = t.gen.next();
      if (r.done) {
        t.done = true;
        t.result = r.value;
        t.last = undefined;
        continue;
      }
      t.last = r.value;
      t.points++;
      reached.add(r.value.label);
      this.opts.onPoint?.(k.step, t.name, r.value);
      t.waiting = !!r.value.wait;
      if (!started && step.during && r.value.label === step.during.at) {
        started = true;
        threads.unshift(mk(step.during.step.thread, runOp(this.world, step.during.step)));
      }
    }
    if (!started) checkDuringReached(this.scenario, this.revision, k.step, reached);
    if (step.threads) return threads.map((t) => `${t.name}=${t.result}`).join("; ");
    return threads[threads.length - 1].result!;
  }

  /** The outcome of what has run so far. */
  outcome(): Outcome {
    return buildOutcome({
      scenario: this.scenario,
      revision: this.revision,
      violations: this.violations,
      trace: this.opts.trace === false ? [] : this.trace,
      listeners: this.listeners,
      returns: this.returns,
      aborted: this.aborted,
      world: this.world,
    });
  }
}

/**
 * Runs `scenario` on `revision`: one fresh world, every step in order, every
 * checker observing, on the default schedule. Deterministic: the same inputs
 * give an equal outcome.
 *
 * @param scenario A loaded scenario.
 * @param revision A loaded revision.
 * @param opts Run options.
 * @returns The outcome.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario, runScenario } from "../../mod.ts";
 * const revs = loadRevisionDir("patches");
 * const v5 = revs.find((r) => r.id === "emmu-v5")!;
 * const out = runScenario(loadScenario("scenarios/wp-reuse-after-fork.json"), v5);
 * console.log(out.verdict, out.kinds);
 * ```
 */
export function runScenario(
  scenario: Scenario,
  revision: Revision,
  opts: RunOptions = {},
): Outcome {
  return new Run(scenario, revision, opts).finish();
}
