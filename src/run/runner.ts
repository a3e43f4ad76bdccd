/**
 * The runner: runs one scenario on one revision and returns its outcome.
 *
 * Each step runs its threads until all return. A step with `during` starts a
 * second thread when the first reaches the named scheduling point; from then
 * on the second thread runs whenever it is not blocked (a fixed, replayable
 * schedule). A run is plain data all the way down (the model, the locks, the
 * chain, the drivers, the checkers' memory and every thread's frames), so
 * the explorer can copy it at a choice point ({@link Run.fork}).
 *
 * @module
 */
import {
  type CalloutEvent,
  Kernel,
  KernelBug,
  KernelDeadlock,
  type Observation,
  type SchedPoint,
} from "../kernel/context.ts";
import { advance, type PointInfo, startThread, type ThreadState } from "../kernel/steps.ts";
import { beginPerCpu, endPerCpu, newFile, newState } from "../model/state.ts";
import { type ChainConfig, NotifierChain } from "../notifier/chain.ts";
import { Kvm } from "../secondary/kvm.ts";
import { HmmMirror } from "../secondary/hmm.ts";
import { Gru } from "../secondary/gru.ts";
import { Xpmem } from "../secondary/xpmem.ts";
import type { CheckContext, Checker, Violation } from "../check/checker.ts";
import { createCheckers } from "../check/registry.ts";
import { type OpResult, sequence, type World } from "./ops.ts";
import type { Scenario } from "./scenario.ts";
import type { Revision } from "./revision.ts";
import { type KernelTree, kernelTree } from "./kernel_tree.ts";
import { buildOutcome, type Outcome } from "./outcome.ts";
import type { Deadline } from "./deadline.ts";
import { checkDuringReached, checkFailsReached } from "./step_checks.ts";

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Keep the full callout trace (default true). */
  trace?: boolean;
  /** Make every lock acquisition a scheduling point (used by the explorer). */
  preemptive?: boolean;
  /** Called at every scheduling point a thread passes (for readable schedules). */
  onPoint?: (step: number, thread: string, point: SchedPoint) => void;
  /**
   * A time bound checked before each step: once it has passed, the run stops
   * there with `aborted` reading "step N: time bound reached after S s".
   */
  deadline?: Deadline;
  /**
   * Scheduling points a step may pass before it stops with "step bound
   * reached" as making no progress (default 100,000; smaller for tests of
   * the bound).
   */
  stepBound?: number;
}

/** A thread of a step as the scheduler sees it. */
export interface ThreadView {
  /** Thread name (the step's `thread`, or a `race` thread's name). */
  name: string;
  /** Whether its operations have returned. */
  done: boolean;
  /** The scheduling point it stopped at last. */
  last?: PointInfo;
  /** How many scheduling points it has passed. */
  points: number;
  /** Whether its last point only retries: it runs only when no other thread can. */
  waiting?: boolean;
}

/**
 * Picks the thread to run at a point where more than one can run; returns
 * null to stop the run there.
 */
export type Decider = (enabled: ThreadView[], run: Run) => ThreadView | null;

/** A thread of the step being run: its continuation and how it waits. */
interface Thread extends ThreadState {
  /** Set when its last point only retries: it runs when no other thread can. */
  waiting: boolean;
}

/** The step being run: its threads (in priority order) and what the schedule did so far. */
interface Current {
  /** Index of the scenario step. */
  index: number;
  /** Its threads, highest priority first. */
  threads: Thread[];
  /** Whether the `during` thread has started. */
  started: boolean;
  /** Scheduling points passed in this step. */
  points: number;
  /** Labels passed while a `during` waits for its point (for the error when it is never reached). */
  reached?: string[];
}

/** Raised by a run that a decider stopped. */
export class RunStopped extends Error {}

class StepAborted extends Error {
  /** Whether a bound stopped the step (its status is `timeout`), not a deadlock. */
  readonly bound: boolean;

  constructor(message: string, bound = false) {
    super(message);
    this.bound = bound;
  }
}

/** Scheduling points a step may pass before it is reported as making no progress. */
const STEP_POINT_BOUND = 100_000;

/**
 * Fields of a {@link Run} that are history (see {@link Run.history}): the
 * violations (their kinds are hashed apart), the trace, the callout count,
 * the step results (their count is the step index), the per-step point
 * counts and the points the threads of races have reached.
 */
const RUN_HISTORY: ReadonlySet<string> = new Set([
  "violations",
  "trace",
  "listeners",
  "callouts",
  "returns",
  "pointsAt",
  "racePointCount",
]);
/** Fields of the step being run that are history: the labels passed before `during` started. */
const CUR_HISTORY: ReadonlySet<string> = new Set(["reached"]);
const CUR_HISTORY_AND_POINTS: ReadonlySet<string> = new Set(["reached", "points"]);
/** A thread's point count: nothing reads it. */
const THREAD_HISTORY: ReadonlySet<string> = new Set(["points"]);
/** A lock owner's thread: nothing reads it (a thread's own locks are in `held`). */
const OWNER_HISTORY: ReadonlySet<string> = new Set(["thread"]);

/**
 * One run of a scenario on a revision, step by step. The default schedule
 * runs the highest-priority thread that can run: a `during` thread once
 * started, otherwise the threads of a `race` in the order they are declared;
 * a thread that only retries (`wait`) runs when no other thread can.
 */
export class Run implements CheckContext {
  /** The primary MMU of this run: model state, locks, the revision's kernel paths. */
  readonly kernel: Kernel;
  /** The notifier chain of this run, with the scenario's secondary MMUs. */
  readonly chain: NotifierChain;
  /** Violations reported so far. */
  readonly violations: Violation[] = [];
  /** Every callout the kernel has made, in order (empty when the trace is off). */
  readonly trace: CalloutEvent[] = [];
  /** For each callout of `trace`, the notifiers on the mm's list at that moment. */
  readonly listeners: string[][] = [];
  /** Return value of each step run so far. */
  readonly returns: OpResult[] = [];
  /** Callouts the kernel has made, trace or not. */
  callouts = 0;
  /** Set when a step stopped on a deadlock or BUG; no later step runs. */
  aborted?: string;
  /**
   * Set when the run did not complete the scenario: a step returned
   * `"unsupported"` (or a thread of a race step did), or a bound stopped it.
   */
  incomplete?: "unsupported" | "timeout";
  /** The registered checkers observing this run (stateless definitions). */
  readonly checkers: readonly Checker[] = createCheckers();
  /** Each checker's memory, in the order of {@link Run.checkers}: part of the run's state. */
  readonly memory: unknown[] = this.checkers.map((c) => c.init?.());
  /** The step being run, if one has started and not finished. */
  private cur: Current | null = null;
  /** Whether the checkers' end-of-run checks have run. */
  private ended = false;
  /** Scheduling points each finished step passed, by step index. */
  private readonly pointsAt: number[] = [];
  /**
   * Scheduling points the threads of `race` and `during` steps have reached
   * so far: the lines of a schedule's readable steps (see `replaySchedule()`).
   */
  private racePointCount = 0;

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
      this.tree.setUpFile(state, file, f.cached ?? []);
    }
    this.chain = new NotifierChain(revision.chain);
    this.kernel = new Kernel({
      state,
      paths: revision.paths,
      sink: this.chain,
      preemptive: opts.preemptive ?? false,
      variants: revision.kernel,
      nonlinear: revision.nonlinear,
      observer: this,
    });
    for (const s of scenario.secondaries) {
      this.chain.add(
        s.driver === "hmm"
          ? new HmmMirror(s.id, s.mm, revision.drivers.hmm.snapshot)
          : s.driver === "gru"
          ? new Gru(s.id, s.mm)
          : s.driver === "xpmem"
          ? new Xpmem(s.id, s.mm, revision.chain.rmapNotifier ?? false)
          : new Kvm(s.id, s.mm, revision.drivers.kvm.release),
      );
    }
  }

  /**
   * The kernel tree the revision applies to. Looked up, not kept in a field:
   * the run's fields are its state, which the explorer copies and hashes,
   * and the tree is the same in every state.
   */
  get tree(): KernelTree {
    return kernelTree(this.revision.base);
  }

  /** The kernel and chain together, as operations see them. */
  get world(): World {
    return { kernel: this.kernel, chain: this.chain };
  }

  /** The revision's notifier-chain behaviour (for the checkers). */
  get config(): ChainConfig {
    return this.revision.chain;
  }

  /** Threads of the step being run, in priority order. */
  get threads(): ThreadView[] {
    return this.cur?.threads ?? [];
  }

  /** Index of the step being run, or of the next one to run between steps. */
  get stepIndex(): number {
    return this.cur?.index ?? this.returns.length;
  }

  /** Scheduling points a step may pass before it stops as making no progress. */
  get stepBound(): number {
    return this.opts.stepBound ?? STEP_POINT_BOUND;
  }

  /** Scheduling points the step being run has passed so far (0 between steps). */
  get stepPoints(): number {
    return this.cur?.points ?? 0;
  }

  /**
   * Scheduling points the threads of `race` and `during` steps have reached
   * so far. Schedules that order the same steps of each thread differently
   * reach as many, so it measures a counterexample whatever the order of
   * its independent steps.
   */
  get racePoints(): number {
    return this.racePointCount;
  }

  /** Scheduling points step `i` passed, once it has finished. */
  pointsOf(i: number): number | undefined {
    return this.pointsAt[i];
  }

  /**
   * The parts of this run that are history: recorded, never read by a step,
   * a checker or the scheduler (see the explorer's module documentation for
   * why each cannot decide the future). With `points` false the step's point
   * counter is left out too (it decides only whether the step bound is hit).
   * `omit` maps an object to its fields left out; records in `sorted` are read
   * only by key (and an empty list reads as none), never in their order.
   */
  history(points: boolean): {
    omit: Map<object, ReadonlySet<string>>;
    sorted: Set<object>;
  } {
    const omit = new Map<object, ReadonlySet<string>>([[this, RUN_HISTORY]]);
    if (this.cur) {
      omit.set(this.cur, points ? CUR_HISTORY : CUR_HISTORY_AND_POINTS);
      for (const t of this.cur.threads) omit.set(t, THREAD_HISTORY);
    }
    for (const name in this.kernel.owners) omit.set(this.kernel.owners[name], OWNER_HISTORY);
    const k = this.kernel;
    const sorted = new Set<object>([k.owners, k.held, k.gathers, k.sharers, k.queued]);
    for (const name in k.sharers) sorted.add(k.sharers[name]);
    return { omit, sorted };
  }

  /** The kinds of the violations reported so far, sorted (what of them decides an ending). */
  kinds(): string[] {
    return [...new Set(this.violations.map((v) => v.kind))].sort();
  }

  /** Records a violation (for the checkers). */
  report(v: Violation): void {
    this.violations.push(v);
  }

  /** Hands an observation to the trace and every checker. */
  observe(o: Observation): void {
    if (o.type === "callout") {
      this.callouts++;
      if (this.opts.trace !== false) {
        this.trace.push(o.ev);
        this.listeners.push(o.listeners);
      }
    }
    this.checkers.forEach((c, i) => c.observe?.(this, o, this.memory[i]));
  }

  /**
   * Runs on the default schedule until a point where more than one thread can
   * run, and returns their names (highest priority first); returns null once
   * every step has run and the checkers have made their end-of-run checks.
   *
   * @param forced Runs the only thread that can run at a point, as
   * {@link Run.pick} would (the explorer records what it touches); by
   * default `next()` runs it.
   * @param stopAt Stops before starting scenario step `stopAt` (when the
   * run gets there and has not stopped) and returns an empty list: the
   * explorer keys the run there, before steps that race with nothing. A
   * later call without `stopAt` goes on from there.
   */
  next(forced?: (name: string) => void, stopAt?: number): string[] | null {
    for (;;) {
      if (!this.cur) {
        const i = this.returns.length;
        if (this.aborted || i >= this.scenario.steps.length) {
          if (!this.ended) {
            this.ended = true;
            const last = this.scenario.steps.length - 1;
            this.checkers.forEach((c, i) => c.atEnd?.(this, last, this.memory[i]));
          }
          return null;
        }
        if (i === stopAt) return [];
        if (this.opts.deadline?.expired()) {
          this.aborted = `step ${i}: time bound reached after ${this.opts.deadline.seconds} s`;
          this.incomplete ??= "timeout";
          continue;
        }
        this.begin(i);
      }
      const enabled = this.guard(() => this.enabled());
      if (enabled === null) continue;
      if (enabled.length > 1) return enabled.map((t) => t.name);
      if (forced) forced(enabled[0].name);
      else this.guard(() => this.runThread(enabled[0]));
    }
  }

  /** Runs thread `name` (one of those {@link Run.next} returned) to its next scheduling point. */
  pick(name: string): void {
    const t = this.cur?.threads.find((x) => x.name === name);
    if (!t) throw new RangeError(`Thread "${name}" cannot run here`);
    this.guard(() => this.runThread(t));
  }

  /** Runs the remaining steps and returns the outcome; `decide` chooses where several threads can run. */
  finish(decide?: Decider): Outcome {
    this.complete(decide);
    return this.outcome();
  }

  /**
   * Runs the remaining steps, as {@link Run.finish} does, without building
   * the outcome: for a caller that reads only the violations or the counters.
   *
   * @param decide Chooses where several threads can run (default: the first).
   *
   * @example
   * ```ts
   * import { loadRevisionDir, loadScenario, Run } from "../../mod.ts";
   * const v3 = loadRevisionDir("patches").find((r) => r.id === "emmu-v3")!;
   * const run = new Run(loadScenario("scenarios/wp-reuse-after-fork.json"), v3, { trace: false });
   * run.complete();
   * console.log(run.kinds());
   * ```
   */
  complete(decide?: Decider): void {
    for (let names = this.next(); names; names = this.next()) {
      const threads = this.cur!.threads;
      const enabled = names.map((n) => threads.find((t) => t.name === n)!);
      const choice = decide ? decide(enabled, this) : enabled[0];
      if (!choice) throw new RunStopped();
      this.pick(choice.name);
    }
  }

  /**
   * A copy of this run that goes on independently, made by `copy`, which
   * must copy every mutable part (the model, the locks, the chain and
   * drivers, the checkers' memory, the threads' frames) and may share the
   * immutable inputs (scenario, revision, options, checker definitions) and
   * every frozen value of the model (ptes, struct pages and their
   * copy-on-write containers, and the threads' stacks, which it freezes; see
   * `model/_cow.ts`).
   */
  fork(copy: <T>(v: T) => T): Run {
    return copy(this);
  }

  /** Starts step `i`: its allocation-failure plan and its threads. */
  private begin(i: number): void {
    const step = this.scenario.steps[i];
    this.kernel.beginStep(i, step.fail);
    const threads: Thread[] = step.threads
      ? Object.entries(step.threads).map(([name, ops]) => ({
        ...startThread(name, sequence, { ops, runOp: this.tree.runOp }),
        waiting: false,
      }))
      : [{ ...startThread(step.thread, this.tree.runOp, { op: step }), waiting: false }];
    this.cur = { index: i, threads, started: false, points: 0 };
    if (step.threads) {
      // The race's threads, and a thread that starts during it, each with its own row.
      const names = Object.keys(step.threads);
      const during = step.during?.step.thread;
      if (during !== undefined && !names.includes(during)) names.push(during);
      beginPerCpu(this.kernel.state, names);
    }
  }

  /**
   * Runs `body`; when it stops the step (a deadlock, a BUG, a bound), records
   * the abort, ends the step and returns null.
   */
  private guard<T>(body: () => T): T | null {
    try {
      return body();
    } catch (e) {
      const i = this.cur!.index;
      if (e instanceof KernelDeadlock) {
        this.kernel.emit({ type: "no-progress", step: i, thread: e.thread, what: e.message });
      } else if (!(e instanceof KernelBug || e instanceof StepAborted)) {
        throw e;
      }
      this.aborted = `step ${i}: ${e.message}`;
      if (e instanceof StepAborted && e.bound) this.incomplete ??= "timeout";
      this.endStep("aborted");
      return null;
    }
  }

  /**
   * The threads that may run now, or throws when none can; ends the step
   * (and returns null) when every thread has returned.
   */
  private enabled(): Thread[] | null {
    const cur = this.cur!;
    const k = this.kernel;
    const live = cur.threads.filter((t) =>
      !t.done &&
      !(t.last?.blockedOn && !k.canTake(t.last.blockedOn, t.last.blockedKind as never, t.name))
    );
    if (live.length === 0) {
      if (!cur.threads.every((t) => t.done)) {
        const names = cur.threads.filter((t) => !t.done).map((t) => t.name).join(", ");
        k.emit({
          type: "no-progress",
          step: k.step,
          thread: names,
          what: `deadlock: ${names} all wait`,
        });
        throw new StepAborted("deadlock");
      }
      const step = this.scenario.steps[cur.index];
      if (!cur.started) {
        checkDuringReached(this.scenario, this.revision, cur.index, new Set(cur.reached));
      }
      if (!step.failOptional) {
        checkFailsReached(this.scenario, this.revision, cur.index, k.allocationsMade());
      }
      const results = step.threads
        ? cur.threads.map((t) => t.result)
        : [cur.threads[cur.threads.length - 1].result];
      if (results.includes("unsupported")) this.incomplete = "unsupported";
      this.endStep(
        step.threads
          ? cur.threads.map((t) => `${t.name}=${t.result}`).join("; ")
          : results[0] as OpResult,
      );
      return null;
    }
    const eager = live.filter((t) => !t.waiting);
    return eager.length > 0 ? eager : live;
  }

  /** Runs one thread to its next scheduling point. */
  private runThread(t: Thread): void {
    const cur = this.cur!;
    const k = this.kernel;
    if (++cur.points > this.stepBound) {
      k.emit({ type: "no-progress", step: k.step, thread: t.name, what: "step bound reached" });
      throw new StepAborted("step bound reached", true);
    }
    const p = advance(k, t);
    if (!p) {
      t.waiting = false;
      return;
    }
    const step = this.scenario.steps[cur.index];
    if (step.threads || step.during) this.racePointCount++;
    this.opts.onPoint?.(k.step, t.name, { thread: t.name, ...p });
    t.waiting = !!p.wait;
    if (!cur.started && step.during && !cur.reached?.includes(p.label)) {
      (cur.reached ??= []).push(p.label);
    }
    if (!cur.started && step.during && p.label === step.during.at) {
      cur.started = true;
      const d = step.during.step;
      cur.threads.unshift({ ...startThread(d.thread, this.tree.runOp, { op: d }), waiting: false });
    }
  }

  /** Ends the step being run with its result and lets the checkers look at it. */
  private endStep(result: OpResult): void {
    const i = this.cur!.index;
    this.pointsAt[i] = this.cur!.points;
    this.cur = null;
    endPerCpu(this.kernel.state);
    this.returns.push(result);
    this.checkers.forEach((c, j) => c.afterStep?.(this, i, this.memory[j]));
  }

  /** The outcome of what has run so far. */
  outcome(): Outcome {
    return buildOutcome({
      scenario: this.scenario,
      revision: this.revision,
      violations: this.violations,
      trace: this.trace,
      listeners: this.listeners,
      callouts: this.callouts,
      returns: this.returns,
      aborted: this.aborted,
      incomplete: this.incomplete,
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
 * import { loadRevisionDir } from "./revision.ts";
 * import { loadScenario } from "./scenario.ts";
 * import { runScenario } from "./runner.ts";
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
