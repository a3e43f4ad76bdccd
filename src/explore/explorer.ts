/**
 * The explorer: runs every schedule of a scenario's threads within bounds
 * and reports, for each violation kind, whether it is reachable always,
 * sometimes or never, with the shortest schedule that reaches it.
 *
 * A schedule's length is the number of scheduling points the threads of its
 * races reach: the lines of its readable steps ({@link Counterexample.steps},
 * `Run.racePoints`). Schedules that differ only in the order of steps that
 * commute reach the same points, so they are as long, whichever of them a
 * search runs; of two schedules as long, the one with fewer choices is
 * shorter. (Counting choices alone would not do: the same steps in another
 * order can pass more or fewer points where two threads can run.)
 *
 * The search is stateful and depth first: at a choice point (a scheduling
 * point where more than one thread can run) the run is copied, and each copy
 * goes on with one of the threads. Nothing is replayed.
 *
 * Structural sharing: the records that make up most of a world (every pte,
 * every struct page with its references) are frozen values that the model
 * replaces and never changes, kept in copy-on-write containers (an mm's
 * ptes, the struct pages; `model/_cow.ts`), and every thread's stack of
 * frames is frozen at a copy and copied frame by frame as the thread writes
 * it. A copy shares every frozen record, container and stack, and the hash
 * takes each frozen one from a cache, so a state costs its mutable part
 * (locks, drivers, checkers' memory) and what its step replaced, whatever
 * the size of the world. A writer that misses the accessors, or a step that
 * changes an object a frame shares, throws on the frozen object, so a shared
 * object cannot be changed under a sibling state.
 *
 * Reduction (state caching): a run is plain data all the way down (the
 * model, locks, chain, drivers, checkers' memory, violations and returns, and
 * every thread's stack of frames). The memo key is a 128-bit hash of what the
 * copy copies, less history: parts recorded but never read by a step, a
 * checker or the scheduler. Two choice points with the same key have the
 * same futures, so the subtree is explored once and its summary (the endings
 * reachable from it, each with its final state digest, the shortest suffix
 * reaching each kind, the drivers' maxima) reused. What is left out
 * ({@link Run.history}), and why it cannot decide anything reported:
 *
 * - The violations: an ending is the set of violation kinds, so only the
 *   kinds so far are hashed, not the messages or their order. No checker
 *   reads the run's violations (a checker's own memory, which is hashed,
 *   says what it has reported).
 * - The trace, its listener lists and the callout count: the explorer runs
 *   without a trace, and nothing reads the count but the outcome, which the
 *   explorer does not report.
 * - The step results: nothing reads them but the outcome; their count is the
 *   index of the step being run, which is hashed.
 * - Each thread's point count: nothing reads it.
 * - The labels a step passed before its `during` thread started: they only
 *   word the error thrown when the point is never reached, and whether it is
 *   reached is the hashed `started`.
 * - A lock owner's `thread`: the lock paths read whether a lock has an
 *   exclusive owner, never who it is (a thread's own locks are in `held`).
 * - The key order of `Kernel.owners`, `Kernel.held`, `Kernel.gathers`,
 *   `Kernel.sharers` and its records, `Kernel.queued` (the order of the
 *   waiters in a queue is hashed), and a page's `refs`, a thread's empty
 *   list in `held` and a lock's empty record in `sharers`: they are read by
 *   key only (`owners[name]`, `locksOf(thread)`, `gathers[thread]`, `queued[name]`,
 *   `refs[holder]`), through order-free folds (the sum of the references,
 *   `some`, whether a record has a key), and in sorted order (the page-leak
 *   checker, the final state digest); an absent list or record and an empty
 *   one read the same.
 * - The step's point count. It decides one thing: whether the step passes
 *   {@link Run.stepBound} points and stops with "step bound reached". The
 *   search without it is exact as long as no schedule comes near the bound,
 *   and it checks that: it gives up when a key repeats on the search path (a
 *   schedule can loop, so the count could grow to the bound), when a run hits
 *   the bound, or when the longest schedule, computed over the summaries
 *   (each keeps the most points any schedule from it passes in the rest of
 *   its step and in a later step), passes more than the bound in a step. It
 *   then searches again with the count in the key, which is the exact state.
 *
 * Everything else a copy copies is hashed, so a part added to the run is in
 * the key unless it is declared history.
 *
 * The same key is taken where a run reaches the scenario's last steps that
 * race with nothing (the teardown after the last race: steps of one thread,
 * none to start): from there the run goes one way to its end, so a second
 * run reaching the same key takes the first one's ending (its violation
 * kinds, final digest and drivers' maxima) without running the teardown
 * again. It counts as a schedule, as the run it stands for would, and not
 * as a state (a state is a choice point). On the shipped races three
 * quarters of the schedules end this way; it pays where the teardown is
 * long (an exit that unmaps a large world: see BENCHMARKS.md). The test suite checks on every
 * race scenario that merging (against the search without it, or where that
 * is too large against a key with the history, {@link ExploreOptions.fullKey})
 * and the search order never change the endings, their final digests, the
 * verdicts or the shortest counterexamples (their steps and their choices).
 *
 * Reuse across revisions: the revisions of a lineage mostly differ in paths
 * a given race never runs, and the same exploration would be made on each.
 * The runs of an exploration read the revision through a recording view
 * (`run/_reads.ts`, `run/reuse.ts`) that logs every read: each value, key
 * list and descriptor, which objects alias and which are arrays. The log
 * and the result are kept with the scenario object; a later exploration of
 * that scenario with the same options, on a revision that answers every
 * logged read the same way, reads the same values in the same order, so it
 * would run the same steps and find the same result: it takes that result,
 * with its own id and reproducers. A revision that differs in a value the runs read (one
 * callout's placement, a chain variant) is explored afresh. Nothing
 * declares what is read, so no read can be left out; a timeout is never
 * kept; `reuse: false` explores afresh.
 *
 * Partial-order reduction ({@link ExploreOptions.partialOrder}, off by
 * default): each step runs through recording views of the run
 * (`explore/_footprint.ts`), which log every place it reads and writes, and
 * a choice point tries one thread at first and another only where a step
 * of that thread may not commute with one taken there (`explore/_por.ts`:
 * dynamic partial-order reduction, with the events of a state explored
 * before taken from its summary), and a thread whose next step commutes
 * with every step taken since it was tried, or passed over, from an earlier
 * choice point is asleep and not tried again (sleep sets; a state explored
 * with a sleep set that is part of the one it is reached with now is not
 * explored again, Godefroid's rule for sleep sets with state caching). The
 * endings and verdicts are those of the search without it, and so is the
 * length of each shortest counterexample: the reduction runs at least one
 * order of the steps of every schedule (Flanagan and Godefroid's theorem,
 * given that the footprints are right), and every order of the same steps
 * is as long. Among schedules as long, the one it reports may have more
 * choices than the search without it finds. A step of a thread that
 * retries (waits for another to move, and runs only when no other can) is
 * dependent on every other thread's, and as such threads make cycles, the
 * search keys the step's point count as soon as one retries, so that the
 * reduction runs on an acyclic space. Where objects alias otherwise than at
 * the first step (places would be named differently), the search is made
 * without it. On the shipped races it removes up to three quarters of the
 * transitions and half the states, but records at a cost that exceeds the
 * saving: see BENCHMARKS.md.
 *
 * Bounds: a run count and a time bound (see `deadline.ts`) stop the walk and
 * leave what it explored so far. The walk keeps its path on an explicit
 * stack, so a long scenario costs heap, not call stack.
 *
 * @module
 */
import { reproduceCommand } from "../run/reproduce.ts";
import type { ViolationKind } from "../check/checker.ts";
import { digest } from "../model/state.ts";
import type { Outcome } from "../run/outcome.ts";
import type { Revision } from "../run/revision.ts";
import { type Decider, Run } from "../run/runner.ts";
import type { Scenario } from "../run/scenario.ts";
import { type Deadline, deadline, DEFAULT_TIMEOUT_SECONDS } from "../run/deadline.ts";
import { cloneGraph, hashGraph, reachable } from "./_graph.ts";
import type { ReadRecorder } from "../run/_reads.ts";
import { reuse } from "../run/reuse.ts";
import { pickRecorded } from "./_footprint.ts";
import {
  append,
  asleep,
  type Choice,
  type Event,
  eventOf,
  join,
  type Joined,
  pending,
  type Placed,
  revisit,
} from "./_por.ts";

/** Runs between two readings of the clock. */
const POLL_EVERY = 16;

/** Whether a violation kind is reachable. */
export type Reach = "always" | "sometimes" | "never";

/** Options of {@link explore}. */
export interface ExploreOptions {
  /** Merge schedules that reach the same state (default true). */
  reduction?: boolean;
  /** Stop after this many runs (transitions from a choice point); the result is then "bounded". */
  maxRuns?: number;
  /**
   * Stop after this many seconds (default {@link DEFAULT_TIMEOUT_SECONDS});
   * the result is then "timeout". `Infinity` sets no time bound.
   */
  timeout?: number;
  /** A deadline to stop at instead of `timeout` (one shared by several explorations, say). */
  deadline?: Deadline;
  /** The step bound of every run (`RunOptions.stepBound`; for tests of the bound). */
  stepBound?: number;
  /** Try the threads at each choice point in reverse priority order (for soundness tests). */
  reverse?: boolean;
  /**
   * Partial-order reduction on top of merging (default false): a choice
   * point tries one thread, and others only where a step of theirs may not
   * commute with one taken there, as the recorded footprints say, less the
   * threads asleep there (see
   * "Partial-order reduction" in the module documentation). The endings and
   * verdicts are those of the search without it, and a counterexample is as
   * short (in steps; it may have more choices). Ignored without merging and with {@link fullKey}; where
   * a thread retries (waits for another to move, which makes cycles), the
   * step's point count is keyed; the search is made again without it where
   * objects alias otherwise than at its first step.
   * {@link ExploreResult.partialOrder} says whether it was used.
   */
  partialOrder?: boolean;
  /**
   * Key states by everything a copy of the run copies, history included (for
   * soundness tests of what the key leaves out; more states, same endings).
   */
  fullKey?: boolean;
  /**
   * Also collect the final state digest of every ending ({@link ExploreResult.finals})
   * and count the runs a search without merging would make
   * ({@link ExploreResult.unmergedRuns}): what a soundness check compares.
   */
  finals?: boolean;
  /**
   * Reuse an earlier exploration of the same scenario object, with the same
   * options, on a revision that answers every read that exploration made of
   * its revision the same way (default true; see "Reuse across revisions"
   * in the module documentation). A result is kept only when no time bound
   * stopped it, so a later exploration whose time bound would have stopped
   * it takes the whole result. False explores afresh and records nothing
   * (benchmarks, and tests of the bounds).
   */
  reuse?: boolean;
}

/**
 * A counterexample: the thread chosen at each choice point, and what each
 * thread did. The shortest is the one with the fewest `steps`, then the
 * fewest choices (see the module documentation).
 */
export interface Counterexample {
  /** The thread picked at each choice point, in order (the `--schedule` argument). */
  schedule: string[];
  /**
   * The scheduling points the threads of the scenario's races reached on
   * that schedule, one line each: the schedule's length.
   */
  steps: string[];
  /** The command that replays the schedule. */
  replay: string;
}

/** What the explorer found for one scenario on one revision. */
export interface ExploreResult {
  /** Id of the scenario explored. */
  scenario: string;
  /** Id of the revision it ran on. */
  revision: string;
  /**
   * "complete": every schedule explored; "bounded": `maxRuns` was hit;
   * "timeout": the time bound was hit. When not complete, the counts, the
   * verdicts and the endings are those of the schedules explored so far (a
   * kind is "always" when every one of those reached it), and after a
   * timeout they depend on the machine's speed.
   */
  status: "complete" | "bounded" | "timeout";
  /** Runs made: transitions taken from a choice point. */
  runs: number;
  /** Complete schedules (leaves) run to the end. */
  schedules: number;
  /** Distinct choice states explored. */
  states: number;
  /** Whether schedules reaching the same state were merged ({@link ExploreOptions.reduction}). */
  reduction: boolean;
  /**
   * Present when the partial-order reduction made this result
   * ({@link ExploreOptions.partialOrder}; absent where it gave way).
   */
  partialOrder?: true;
  /** Every violation kind seen on some schedule, and how often it is reachable. */
  verdicts: Partial<Record<ViolationKind, Reach>>;
  /** The distinct sets of violation kinds the schedules end with. */
  endings: string[][];
  /**
   * For each violation kind seen, the shortest schedule that reaches it (the
   * fewest steps, then the fewest choices).
   */
  counterexamples: Partial<Record<ViolationKind, Counterexample>>;
  /**
   * The largest value each numeric driver counter reaches at the end of any
   * schedule (`<secondary>.<counter>`), e.g. how long invalidations stalled.
   */
  maxima: Record<string, number>;
  /** With {@link ExploreOptions.finals}: every distinct ending as `kinds|final state digest`, sorted. */
  finals?: string[];
  /**
   * With {@link ExploreOptions.finals}, for a complete search that merged
   * states without the partial-order reduction: the runs the same search
   * without merging makes ({@link ExploreOptions.reduction} false), counted
   * on the merged graph (a state reached by several paths counts once per
   * path). A search without merging that makes another number did not walk
   * the tree this one merged.
   */
  unmergedRuns?: number;
}

interface Summary {
  sigs: Set<string>;
  finals: Set<string>;
  shortest: Map<string, Suffix>;
  maxima: Map<string, number>;
  /** The most scheduling points any schedule from here passes in the rest of this step. */
  rise: number;
  /** The most scheduling points any schedule from here passes in a later step. */
  worst: number;
  /** With the partial-order reduction: every event of the subtree, joined by scenario step and thread. */
  events?: Joined;
  /** The runs from here of a search without merging: one per transition of every path. */
  paths: number;
}

/** Where a transition from a choice point led, as far as the step bound is concerned. */
interface Link {
  /** The scheduling points the transition passed in the parent's step. */
  seg: number;
  /** Whether the child is a choice point of the parent's step. */
  same: boolean;
  /** The child's points in its own step (a choice point), or -1 (a leaf). */
  p: number;
  /** The points the threads of races reached on the way ({@link Run.racePoints}). */
  steps: number;
}

/** The sleep set and explored threads of a node without the reduction: always empty, never written. */
const NO_EVENTS: Map<string, Event> = new Map();

/** Whether a scenario step has one thread and none to start: its steps race with nothing. */
function solo(step: Scenario["steps"][number]): boolean {
  return !step.threads && !step.during;
}

/** The threads of a scenario step: its race's, or its one thread and the one its `during` starts. */
function threadsOf(step: Scenario["steps"][number]): string[] {
  const names = step.threads ? Object.keys(step.threads) : [step.thread];
  return step.during ? [...names, step.during.step.thread] : names;
}

/** A choice point on the search stack. */
interface Node extends Choice {
  run: Run;
  /** With the reduction: how many events of the search path come before its transition's. */
  base: number;
  hash: string;
  names: string[];
  next: number;
  via: string;
  merged: Summary;
  /** Its step's index and the points that step has passed. */
  index: number;
  points: number;
  /** The points the threads of races have reached ({@link Run.racePoints}). */
  reached: number;
  /** How its parent's transition got here. */
  link: Link;
  /**
   * With the reduction: the threads asleep here, each with its next step's
   * event, and the first event of each thread explored from here (see
   * `asleep()` in `explore/_por.ts`).
   */
  sleep: Map<string, Event>;
  done: Map<string, Event>;
}

/**
 * A schedule suffix as a list that shares its tail with the suffixes it was
 * built from, so that a summary costs the same whatever the depth.
 */
interface Suffix {
  /** Choices in the suffix. */
  length: number;
  /** Points the threads of races reach in it: the lines of its readable steps. */
  steps: number;
  /** The first choice, and the rest (absent for the empty suffix). */
  head?: { name: string; rest: Suffix };
}

const EMPTY: Suffix = { length: 0, steps: 0 };

/** The choices of a suffix, in order. */
function choices(s: Suffix): string[] {
  const out: string[] = [];
  for (let c = s.head; c; c = c.rest.head) out.push(c.name);
  return out;
}

function emptySummary(): Summary {
  return {
    sigs: new Set(),
    finals: new Set(),
    shortest: new Map(),
    maxima: new Map(),
    rise: 0,
    worst: 0,
    paths: 0,
  };
}

/** What a complete schedule ends with (the parts of its outcome the explorer reports). */
function leaf(run: Run, final: ((run: Run) => string) | null): Summary {
  const kinds = run.kinds();
  const sig = kinds.join(",");
  const shortest = new Map<string, Suffix>();
  for (const k of kinds) shortest.set(k, EMPTY);
  const maxima = new Map<string, number>();
  for (const id of Object.keys(run.chain.secondaries).sort()) {
    for (const [key, v] of Object.entries(run.chain.secondaries[id].summary())) {
      if (typeof v === "number") maxima.set(`${id}.${key}`, v);
    }
  }
  const f = new Set<string>(final ? [`${sig}|${final(run)}`] : []);
  return { sigs: new Set([sig]), finals: f, shortest, maxima, rise: 0, worst: 0, paths: 0 };
}

/**
 * Adds what a child (reached by running `name`, over `link`) leads to into
 * its parent's summary.
 */
function combine(into: Summary, name: string, sub: Summary, link: Link): void {
  into.paths += 1 + sub.paths;
  if (link.same) {
    into.rise = Math.max(into.rise, link.seg + sub.rise);
    into.worst = Math.max(into.worst, sub.worst);
  } else {
    into.rise = Math.max(into.rise, link.seg);
    into.worst = Math.max(into.worst, sub.worst, link.p < 0 ? 0 : link.p + sub.rise);
  }
  for (const s of sub.sigs) into.sigs.add(s);
  for (const s of sub.finals) into.finals.add(s);
  for (const [key, v] of sub.maxima) {
    into.maxima.set(key, Math.max(v, into.maxima.get(key) ?? v));
  }
  if (sub.events) { for (const e of sub.events.values()) join(into.events ??= new Map(), e); }
  for (const [k, suffix] of sub.shortest) {
    const cur = into.shortest.get(k);
    const steps = suffix.steps + link.steps;
    if (
      !cur || steps < cur.steps || (steps === cur.steps && suffix.length + 1 < cur.length)
    ) {
      into.shortest.set(k, { length: suffix.length + 1, steps, head: { name, rest: suffix } });
    }
  }
}

/**
 * The state hash of a run at a choice point: a 128-bit hash of everything a
 * copy of the run would copy, less its history (see {@link explore}).
 *
 * @param run A run stopped at a choice point ({@link Run.next} returned names).
 * @param shared The run's immutable inputs, numbered (default: found from
 * `run`, a walk of its scenario and revision; a caller that hashes many
 * states of one exploration finds them once, as the explorer does).
 * @returns 32 hex digits.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenario } from "../run/scenario.ts";
 * import { Run } from "../run/runner.ts";
 * import { stateHash } from "./explorer.ts";
 * const rev = loadRevisionDir("patches").find((r) => r.id === "emmu-v2")!;
 * const run = new Run(loadScenario("scenarios/race-unregister-dispatch.json"), rev, { preemptive: true });
 * run.next();
 * console.log(stateHash(run));
 * ```
 */
export function stateHash(
  run: Run,
  shared: ReadonlyMap<object, number> = sharedInputs(run),
): string {
  return keyOf(run, shared, "history-free");
}

/**
 * The memo key of a run at a choice point in a search of `mode`: its state
 * less its history and the kinds of its violations ("history-free"), with
 * the step's point counter too ("points"), or everything ("full").
 */
function keyOf(run: Run, shared: ReadonlyMap<object, number>, mode: Mode): string {
  if (mode === "full") return hashGraph(run, shared);
  return hashGraph([run, run.kinds()], shared, {
    ...run.history(mode === "points"),
    sortedField: "refs",
  });
}

/** What a search's memo key holds (see {@link search}). */
type Mode = "off" | "history-free" | "points" | "full";

/**
 * The immutable inputs every copy of a run shares; `revision` is the run's
 * revision itself when the run reads it through a {@link ReadRecorder} view.
 */
function sharedInputs(run: Run, revision: Revision = run.revision): Map<object, number> {
  return reachable(run.scenario, revision, run.opts, run.checkers);
}

/**
 * Replays one schedule: `schedule[i]` is the thread chosen at the i-th choice
 * point; after the list, the default schedule. Returns the outcome and a
 * readable list of what each thread did at each scheduling point.
 *
 * @param scenario A loaded scenario.
 * @param revision A loaded revision.
 * @param schedule Thread names, one per choice point.
 * @param stepBound The runs' step bound (`RunOptions.stepBound`; default 100,000).
 * @returns The outcome and the readable steps.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenario } from "../run/scenario.ts";
 * import { replaySchedule } from "./explorer.ts";
 * const rev = loadRevisionDir("patches").find((r) => r.id === "emmu-v2")!;
 * const { outcome } = replaySchedule(loadScenario("scenarios/race-wp-copy-refault.json"), rev, []);
 * console.log(outcome.kinds);
 * ```
 */
export function replaySchedule(
  scenario: Scenario,
  revision: Revision,
  schedule: string[],
  stepBound?: number,
): { outcome: Outcome; steps: string[] } {
  const { run, steps } = replayed(scenario, revision, schedule, stepBound, true);
  const outcome = run.outcome();
  outcome.reproduce = reproduceCommand(scenario, revision, { schedule });
  return { outcome, steps };
}

/**
 * Runs one schedule as {@link replaySchedule} does, with or without the
 * trace, and returns the finished run and the readable steps.
 */
function replayed(
  scenario: Scenario,
  revision: Revision,
  schedule: string[],
  stepBound: number | undefined,
  trace: boolean,
): { run: Run; steps: string[] } {
  const steps: string[] = [];
  const run = new Run(scenario, revision, {
    preemptive: true,
    stepBound,
    trace,
    onPoint: (step, thread, p) => {
      if (scenario.steps[step].threads || scenario.steps[step].during) {
        steps.push(`step ${step} ${thread}: ${p.label}${p.blockedOn ? " (blocked)" : ""}`);
      }
    },
  });
  let i = 0;
  const decide: Decider = (enabled) => {
    const want = schedule[i++];
    return enabled.find((t) => t.name === want) ?? enabled[0];
  };
  run.complete(decide);
  return { run, steps };
}

/**
 * Explores every schedule of `scenario` on `revision`, or takes the result
 * of an exploration of the same scenario object on a revision that reads
 * the same (see {@link ExploreOptions.reuse}).
 *
 * @param scenario A loaded scenario (its `race` and `during` steps have threads to interleave).
 * @param revision A loaded revision.
 * @param opts Reduction and bound.
 * @returns Verdicts per violation kind, counts and counterexamples.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenario } from "../run/scenario.ts";
 * import { explore } from "./explorer.ts";
 * const rev = loadRevisionDir("patches").find((r) => r.id === "emmu-v2")!;
 * const r = explore(loadScenario("scenarios/race-wp-copy-refault.json"), rev);
 * console.log(r.status, r.verdicts);
 * ```
 */
export function explore(
  scenario: Scenario,
  revision: Revision,
  opts: ExploreOptions = {},
): ExploreResult {
  if (opts.reuse === false) return exploreOn(scenario, revision, revision, opts);
  return reuse(scenario, revision, {
    key: `explore ${keyOfOptions(opts)}`,
    compute: (input, reads) => exploreOn(scenario, input, revision, opts, reads),
    rename: (kept, named) => resultOn(structuredClone(kept), scenario, named),
    // A result cut short by the time bound depends on the machine: never reused.
    keep: (result) => result.status !== "timeout",
  });
}

/**
 * An exploration's result as the same exploration on `revision` gives it:
 * for a revision whose runs behave the same, only what names the revision
 * differs (its id and the commands that replay each counterexample).
 *
 * @param result The result of exploring `scenario` on another revision.
 * @param scenario The scenario explored.
 * @param revision The revision to name.
 * @returns A result sharing the rest of `result`.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario } from "../../mod.ts";
 * import { explore, resultOn } from "./explorer.ts";
 * const revs = loadRevisionDir("patches");
 * const s = loadScenario("scenarios/race-unregister-dispatch.json");
 * const v2 = explore(s, revs.find((r) => r.id === "emmu-v2")!);
 * const copy = { ...revs.find((r) => r.id === "emmu-v2")!, id: "emmu-v2-copy" };
 * console.log(resultOn(v2, s, copy).counterexamples["use-after-free"]?.replay);
 * ```
 */
export function resultOn(
  result: ExploreResult,
  scenario: Scenario,
  revision: Revision,
): ExploreResult {
  const counterexamples: ExploreResult["counterexamples"] = {};
  for (const [kind, c] of Object.entries(result.counterexamples)) {
    counterexamples[kind as keyof typeof counterexamples] = {
      ...c,
      replay: reproduceCommand(scenario, revision, { schedule: c.schedule }),
    };
  }
  return { ...result, revision: revision.id, counterexamples };
}

/** The options that decide an exploration's result (the time bound aside). */
function keyOfOptions(opts: ExploreOptions): string {
  return JSON.stringify([
    opts.reduction ?? true,
    opts.maxRuns ?? null,
    opts.stepBound ?? null,
    opts.reverse ?? false,
    opts.fullKey ?? false,
    opts.partialOrder ?? false,
    opts.finals ?? false,
  ]);
}

/**
 * Explores `scenario` with runs on `input` (the revision, or a recording
 * view of it that `reads` logs); `named` is the revision the result names.
 */
function exploreOn(
  scenario: Scenario,
  input: Revision,
  named: Revision,
  opts: ExploreOptions,
  reads?: ReadRecorder<Revision>,
): ExploreResult {
  const reduction = opts.reduction ?? true;
  const clock = opts.deadline ??
    deadline(opts.timeout ?? DEFAULT_TIMEOUT_SECONDS, { every: POLL_EVERY });
  const mode = !reduction ? "off" : opts.fullKey ? "full" : "history-free";
  // With the partial-order reduction, first without the point count in the key, then (where a
  // thread retries, a state repeats on the path or the count could decide something) with it;
  // without the reduction where it gave way (objects alias otherwise than at the first step),
  // the same two.
  const por = (opts.partialOrder ?? false) && mode === "history-free";
  const found = (por
    ? search(scenario, input, opts, clock, mode, named, reads, true) ??
      search(scenario, input, opts, clock, "points", named, reads, true)
    : null) ??
    search(scenario, input, opts, clock, mode, named, reads, false) ??
    search(scenario, input, opts, clock, "points", named, reads, false)!;
  const { root, status, runs, schedules, states, partialOrder } = found;
  const endings = [...root.sigs].sort().map((s) => (s ? s.split(",") : []));
  const kinds = [...new Set(endings.flat())].sort() as ViolationKind[];
  const verdicts: ExploreResult["verdicts"] = {};
  const counterexamples: ExploreResult["counterexamples"] = {};
  for (const kind of kinds) {
    const n = endings.filter((e) => e.includes(kind)).length;
    verdicts[kind] = n === endings.length ? "always" : "sometimes";
    const schedule = choices(root.shortest.get(kind)!);
    counterexamples[kind] = {
      schedule,
      // Only the readable steps count here: no trace, no outcome.
      steps: replayed(scenario, input, schedule, opts.stepBound, false).steps,
      replay: reproduceCommand(scenario, named, { schedule }),
    };
  }
  return {
    scenario: scenario.id,
    revision: named.id,
    status,
    runs,
    schedules,
    states,
    reduction,
    ...(partialOrder ? { partialOrder } : {}),
    verdicts,
    endings,
    counterexamples,
    maxima: Object.fromEntries([...root.maxima].sort(([a], [b]) => a.localeCompare(b))),
    ...(opts.finals ? { finals: [...root.finals].sort() } : {}),
    ...(opts.finals && reduction && !partialOrder && status === "complete"
      ? { unmergedRuns: root.paths }
      : {}),
  };
}

/** What one search found: the root's summary and the counts. */
interface Found {
  root: Summary;
  /** Whether the partial-order reduction was on. */
  partialOrder?: true;
  status: ExploreResult["status"];
  runs: number;
  schedules: number;
  states: number;
}

/**
 * The depth-first search. `mode` says what the memo key holds: "off" merges
 * nothing, "history-free" keys states by their state less history (the
 * step's point counter is history there), "points" keys the counter too,
 * "full" keys everything a copy copies. A
 * "history-free" search returns null when it finds that the point counter
 * could decide something: a state repeats on the search path (a schedule can
 * loop), a run hits the step bound, or some schedule passes more than the
 * bound's points in one step.
 */
function search(
  scenario: Scenario,
  revision: Revision,
  opts: ExploreOptions,
  clock: Deadline,
  mode: Mode,
  raw: Revision,
  reads: ReadRecorder<Revision> | undefined,
  por: boolean,
): Found | null {
  const reduction = mode !== "off";
  const maxRuns = opts.maxRuns ?? 200_000;
  const finals = opts.finals ?? false;
  /**
   * The summary of each state explored, by memo key; with the reduction, one
   * per sleep set it was explored with (see {@link asleep}).
   */
  const memo = new Map<string, { sleep: string[]; summary: Summary }[]>();
  /** Keys of the nodes on the search path ("history-free" only). */
  const onPath = new Set<string>();
  /**
   * The ending reached from each state keyed where the scenario's last steps
   * that race with nothing start ({@link tailFrom}), by memo key.
   */
  const tails = new Map<string, Summary>();
  /**
   * Where the scenario's last steps that race with nothing start (steps of
   * one thread, none to start): a run that gets there runs one way to its
   * end, so its ending is the same for every run reaching the same key, as
   * at a choice point. Keyed with merging, without the partial-order
   * reduction (whose leaves record what a run cut short leaves to come), and
   * only where some step before can race.
   */
  let tailFrom: number | undefined = scenario.steps.length;
  while (tailFrom > 0 && solo(scenario.steps[tailFrom - 1])) tailFrom--;
  if (!reduction || por || tailFrom === 0 || tailFrom === scenario.steps.length) {
    tailFrom = undefined;
  }
  const first = new Run(scenario, revision, {
    preemptive: true,
    trace: false,
    stepBound: opts.stepBound,
  });
  // The inputs every copy shares; everything else reachable from a run is its state.
  const shared = sharedInputs(first, raw);
  if (reads) {
    // A view is the input it shows: numbered as that object, so the keys are those of a run without views.
    const number = (target: object, view: object) => {
      const n = shared.get(target);
      if (n !== undefined) shared.set(view, n);
    };
    for (const [target, view] of reads.viewed()) number(target, view);
    reads.onView(number);
  }
  const copy = <T>(v: T): T => cloneGraph(v, shared);
  /**
   * The digest of a final state, made once per distinct model state: equal graph hashes (which
   * reuse the hashes of the frozen values in it) serialise the same.
   */
  const digests = new Map<string, string>();
  const final = finals
    ? (run: Run) => {
      const key = hashGraph(run.kernel.state, shared);
      let d = digests.get(key);
      if (d === undefined) digests.set(key, d = digest(run.kernel.state));
      return d;
    }
    : null;
  let runs = 0;
  let schedules = 0;
  let states = 0;
  let status: ExploreResult["status"] = "complete";
  let pointsMatter = false;
  /**
   * With the reduction: a step started where other objects alias than at the first (places
   * would be named differently): the search is made again without it.
   */
  let giveUp = false;
  /**
   * With the reduction, the point count not keyed: a thread retried (the state space may hold
   * cycles, which a reduction may step around): the search is made again with the count keyed.
   */
  let retries = false;
  /** The aliases of the run where the first step was recorded. */
  let firstAliases: string | undefined;
  const stack: Node[] = [];
  /** With the reduction: the events of the search path, from the first choice point. */
  const path: Placed[] = [];
  let root: Summary | null = null;
  let rootLink: Link = { seg: 0, same: false, p: -1, steps: 0 };

  /** How the transition from `parent` to `run` (a choice point when `choice`) went. */
  const linkOf = (parent: Node | null, run: Run, choice: boolean): Link => {
    const p = choice ? run.stepPoints : -1;
    if (!parent) return { seg: 0, same: false, p, steps: 0 };
    const same = choice && run.stepIndex === parent.index;
    const end = same ? run.stepPoints : run.pointsOf(parent.index) ?? parent.points;
    return { seg: end - parent.points, same, p, steps: run.racePoints - parent.reached };
  };

  /** Runs thread `name` of `run` as `run.pick(name)` does, recording its event (with the reduction). */
  const pick = (run: Run, name: string, events: Event[] | null) => {
    if (!events || solo(scenario.steps[run.stepIndex])) return run.pick(name);
    // A thread that retries makes cycles: the search is made again with the point count keyed.
    if (mode === "history-free" && run.threads.some((t) => t.waiting && !t.done)) retries = true;
    const step = run.stepIndex;
    const waits = run.threads.find((t) => t.name === name)?.waiting ?? false;
    const fp = pickRecorded(run, name, shared);
    // Places are named by path: the same in every state only while the same objects alias.
    const aliases = fp.aliases.join("; ");
    if ((firstAliases ??= aliases) !== aliases) giveUp = true;
    events.push(eventOf(step, name, fp, waits));
  };

  /**
   * Runs `run` to its next choice point (recording the forced steps into
   * `events`, with the reduction): a leaf's summary, a known state's (with
   * the link to it), or null after pushing a node.
   */
  const enter = (
    run: Run,
    via: string,
    parent: Node | null,
    events: Event[] | null,
  ): [Summary, Link] | null => {
    const forced = events ? (name: string) => pick(run, name, events) : undefined;
    let names = run.next(forced, tailFrom);
    /** The memo key of the run where the steps that race with nothing start, if it got there. */
    let tailKey: string | undefined;
    if (names?.length === 0) {
      tailKey = keyOf(run, shared, mode);
      const known = tails.get(tailKey);
      if (known) {
        schedules++;
        return [known, linkOf(parent, run, false)];
      }
      names = run.next(forced);
    }
    if (!names) {
      schedules++;
      if (mode === "history-free" && run.aborted?.endsWith("step bound reached")) {
        pointsMatter = true;
      }
      if (events && run.aborted) {
        // Cut short: the threads' next steps never ran, and no race of theirs was seen.
        const i = run.stepIndex - 1;
        for (const thread of threadsOf(scenario.steps[i])) events.push(pending(i, thread));
      }
      const ending = leaf(run, final);
      if (tailKey !== undefined) tails.set(tailKey, ending);
      return [ending, linkOf(parent, run, false)];
    }
    if (tailKey !== undefined) {
      throw new Error("A step that races with nothing stopped at a choice point");
    }
    const link = linkOf(parent, run, true);
    const hash = reduction ? keyOf(run, shared, mode) : "";
    const sleep = parent && events ? asleep([parent.sleep, parent.done], events) : NO_EVENTS;
    // A thread of an earlier scenario step sleeps no more (its name may be a later one's).
    for (const [t, e] of sleep) if (e.step !== run.stepIndex) sleep.delete(t);
    if (reduction) {
      // A state explored with a sleep set that is part of this one explored all this one would
      // (Godefroid's rule for sleep sets with state caching); otherwise it is explored again.
      const kept = memo.get(hash);
      const seen = kept?.find((k) => k.sleep.every((t) => sleep.has(t)));
      if (seen) return [seen.summary, link];
      if (mode === "history-free") {
        if (onPath.has(hash)) pointsMatter = true;
        onPath.add(hash);
      }
    }
    if (!memo.has(hash)) states++;
    if (opts.reverse) names.reverse();
    const first = names.find((n) => !sleep.has(n));
    stack.push({
      run,
      hash,
      sleep,
      done: por ? new Map() : NO_EVENTS,
      names,
      todo: !por ? names : first === undefined ? [] : [first],
      base: 0,
      next: 0,
      via,
      merged: emptySummary(),
      index: run.stepIndex,
      points: run.stepPoints,
      reached: run.racePoints,
      link,
    });
    return null;
  };
  const settle = (node: Node) => {
    if (stack.length === 0) {
      root = node.merged;
      rootLink = node.link;
    } else combine(stack[stack.length - 1].merged, node.via, node.merged, node.link);
  };

  const r0 = enter(first, "", null, null);
  if (r0) [root, rootLink] = r0;
  while (stack.length > 0 && !pointsMatter && !giveUp && !retries) {
    const top = stack[stack.length - 1];
    if (top.next < top.todo.length) {
      if (runs >= maxRuns) {
        status = "bounded";
        break;
      }
      if (clock.expired()) {
        status = "timeout";
        break;
      }
      const name = top.todo[top.next++];
      if (top.sleep.has(name)) continue;
      runs++;
      // The last child may take the node's own run: nothing else needs it (with the reduction,
      // a race found later may add a thread to try).
      const child = !por && top.next === top.todo.length ? top.run : top.run.fork(copy);
      const events: Event[] | null = por ? [] : null;
      pick(child, name, events);
      const sub = enter(child, name, top, events);
      if (events) top.done.set(name, events[0]);
      if (events) {
        // The transition's own steps, then those of the subtree of a state explored before.
        path.length = top.base;
        events.forEach((e, i) => append(path, e, i === 0 ? top : null));
        const merged = top.merged.events ??= new Map();
        for (const e of events) join(merged, e);
        if (sub?.[0].events) { for (const e of sub[0].events.values()) revisit(path, e); }
        if (!sub) stack[stack.length - 1].base = path.length;
      }
      if (sub) combine(top.merged, name, sub[0], sub[1]);
      continue;
    }
    stack.pop();
    if (reduction) {
      const kept = memo.get(top.hash) ?? [];
      kept.push({ sleep: [...top.sleep.keys()], summary: top.merged });
      memo.set(top.hash, kept);
    }
    onPath.delete(top.hash);
    settle(top);
  }
  if (pointsMatter || giveUp || retries) return null;
  if (status !== "complete") {
    // What was explored so far: fold the open nodes into the root.
    while (stack.length > 0) settle(stack.pop()!);
  }
  const found: Summary = root ?? emptySummary();
  if (
    mode === "history-free" &&
    (found.worst > first.stepBound || rootLink.p + found.rise > first.stepBound)
  ) return null;
  return { root: found, status, runs, schedules, states, ...(por ? { partialOrder: true } : {}) };
}
