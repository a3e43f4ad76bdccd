/**
 * The explorer: runs every schedule of a scenario's threads within bounds
 * and reports, for each violation kind, whether it is reachable always,
 * sometimes or never, with the shortest schedule that reaches it.
 *
 * The search is stateful and depth first: at a choice point (a scheduling
 * point where more than one thread can run) the run is copied, and each copy
 * goes on with one of the threads. Nothing is replayed.
 *
 * Reduction (state caching): a run is plain data all the way down (the
 * model, locks, chain, drivers, checkers' memory, violations and returns, and
 * every thread's stack of frames), and the state hash encodes exactly what the
 * copy copies. Two choice points with the same encoding have the same
 * futures, so the subtree is explored once and its summary (the endings
 * reachable from it, the shortest suffix reaching each kind) reused. The
 * test suite checks on every race scenario that merging and the search order
 * never change the endings.
 *
 * Bounds: a run count and a time bound (see `deadline.ts`) stop the walk and
 * leave what it explored so far. The walk keeps its path on an explicit
 * stack, so a long scenario costs heap, not call stack.
 *
 * @module
 */
import { reproduceCommand } from "../run/reproduce.ts";
import { createHash } from "node:crypto";
import type { ViolationKind } from "../check/checker.ts";
import { digest, fnv1a } from "../model/state.ts";
import type { Outcome } from "../run/outcome.ts";
import type { Revision } from "../run/revision.ts";
import { type Decider, Run } from "../run/runner.ts";
import type { Scenario } from "../run/scenario.ts";
import { type Deadline, deadline, DEFAULT_TIMEOUT_SECONDS } from "../run/deadline.ts";
import { cloneGraph, encodeGraph, reachable } from "./_graph.ts";

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
  /** Try the threads at each choice point in reverse priority order (for soundness tests). */
  reverse?: boolean;
  /** Also collect the final state digest of every ending ({@link ExploreResult.finals}). */
  finals?: boolean;
}

/** A counterexample: the thread chosen at each choice point, and what each thread did. */
export interface Counterexample {
  /** The thread picked at each choice point, in order (the `--schedule` argument). */
  schedule: string[];
  /** The scheduling points each thread passed on that schedule, one line each. */
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
  /** Every violation kind seen on some schedule, and how often it is reachable. */
  verdicts: Partial<Record<ViolationKind, Reach>>;
  /** The distinct sets of violation kinds the schedules end with. */
  endings: string[][];
  /** For each violation kind seen, the shortest schedule that reaches it. */
  counterexamples: Partial<Record<ViolationKind, Counterexample>>;
  /**
   * The largest value each numeric driver counter reaches at the end of any
   * schedule (`<secondary>.<counter>`), e.g. how long invalidations stalled.
   */
  maxima: Record<string, number>;
  /** With {@link ExploreOptions.finals}: every distinct ending as `kinds|final state digest`, sorted. */
  finals?: string[];
}

interface Summary {
  sigs: Set<string>;
  finals: Set<string>;
  shortest: Map<string, Suffix>;
  maxima: Map<string, number>;
}

/** A choice point on the search stack. */
interface Node {
  run: Run;
  hash: string;
  names: string[];
  next: number;
  via: string;
  merged: Summary;
}

/**
 * A schedule suffix as a list that shares its tail with the suffixes it was
 * built from, so that a summary costs the same whatever the depth.
 */
interface Suffix {
  /** Choices in the suffix. */
  length: number;
  /** The first choice, and the rest (absent for the empty suffix). */
  head?: { name: string; rest: Suffix };
}

const EMPTY: Suffix = { length: 0 };

/** The choices of a suffix, in order. */
function choices(s: Suffix): string[] {
  const out: string[] = [];
  for (let c = s.head; c; c = c.rest.head) out.push(c.name);
  return out;
}

function emptySummary(): Summary {
  return { sigs: new Set(), finals: new Set(), shortest: new Map(), maxima: new Map() };
}

/** What a complete schedule ends with (the parts of its outcome the explorer reports). */
function leaf(run: Run, finals: boolean): Summary {
  const kinds = [...new Set(run.violations.map((v) => v.kind))].sort();
  const sig = kinds.join(",");
  const shortest = new Map<string, Suffix>();
  for (const k of kinds) shortest.set(k, EMPTY);
  const maxima = new Map<string, number>();
  for (const id of Object.keys(run.chain.secondaries).sort()) {
    for (const [key, v] of Object.entries(run.chain.secondaries[id].summary())) {
      if (typeof v === "number") maxima.set(`${id}.${key}`, v);
    }
  }
  const f = new Set<string>(finals ? [`${sig}|${digest(run.kernel.state)}`] : []);
  return { sigs: new Set([sig]), finals: f, shortest, maxima };
}

/** Adds what a child (reached by running `name`) leads to into its parent's summary. */
function combine(into: Summary, name: string, sub: Summary): void {
  for (const s of sub.sigs) into.sigs.add(s);
  for (const s of sub.finals) into.finals.add(s);
  for (const [key, v] of sub.maxima) {
    into.maxima.set(key, Math.max(v, into.maxima.get(key) ?? v));
  }
  for (const [k, suffix] of sub.shortest) {
    const cur = into.shortest.get(k);
    if (!cur || suffix.length + 1 < cur.length) {
      into.shortest.set(k, { length: suffix.length + 1, head: { name, rest: suffix } });
    }
  }
}

/**
 * The state hash of a run at a choice point: a digest of everything a copy
 * of the run would copy (see {@link explore}).
 *
 * @param run A run stopped at a choice point ({@link Run.next} returned names).
 * @returns 16 hex digits.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario, Run } from "../../mod.ts";
 * import { stateHash } from "./explorer.ts";
 * const rev = loadRevisionDir("patches").find((r) => r.id === "emmu-v2")!;
 * const run = new Run(loadScenario("scenarios/race-unregister-dispatch.json"), rev, { preemptive: true });
 * run.next();
 * console.log(stateHash(run));
 * ```
 */
export function stateHash(run: Run): string {
  return fnv1a(encodeGraph(run, sharedInputs(run)));
}

/** The immutable inputs every copy of a run shares. */
function sharedInputs(run: Run): Map<object, number> {
  return reachable(run.scenario, run.revision, run.opts, run.checkers);
}

/**
 * Replays one schedule: `schedule[i]` is the thread chosen at the i-th choice
 * point; after the list, the default schedule. Returns the outcome and a
 * readable list of what each thread did at each scheduling point.
 *
 * @param scenario A loaded scenario.
 * @param revision A loaded revision.
 * @param schedule Thread names, one per choice point.
 * @returns The outcome and the readable steps.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario } from "../../mod.ts";
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
): { outcome: Outcome; steps: string[] } {
  const steps: string[] = [];
  const run = new Run(scenario, revision, {
    preemptive: true,
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
  const outcome = run.finish(decide);
  outcome.reproduce = reproduceCommand(scenario, revision, { schedule });
  return { outcome, steps };
}

/**
 * Explores every schedule of `scenario` on `revision`.
 *
 * @param scenario A loaded scenario (its `race` and `during` steps have threads to interleave).
 * @param revision A loaded revision.
 * @param opts Reduction and bound.
 * @returns Verdicts per violation kind, counts and counterexamples.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario } from "../../mod.ts";
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
  const reduction = opts.reduction ?? true;
  const maxRuns = opts.maxRuns ?? 200_000;
  const clock = opts.deadline ??
    deadline(opts.timeout ?? DEFAULT_TIMEOUT_SECONDS, { every: POLL_EVERY });
  const finals = opts.finals ?? false;
  const memo = new Map<string, Summary>();
  const first = new Run(scenario, revision, { preemptive: true, trace: false });
  // The inputs every copy shares; everything else reachable from a run is its state.
  const shared = sharedInputs(first);
  const copy = <T>(v: T): T => cloneGraph(v, shared);
  let runs = 0;
  let schedules = 0;
  let states = 0;
  let status: ExploreResult["status"] = "complete";
  const stack: Node[] = [];
  let root: Summary | null = null;

  /** Runs `run` to its next choice point: a leaf's summary, a known state's, or null after pushing a node. */
  const enter = (run: Run, via: string): Summary | null => {
    const names = run.next();
    if (!names) {
      schedules++;
      return leaf(run, finals);
    }
    // The key is the SHA-1 of the encoding: 20 bytes a state however large the run, and two
    // states merge by accident only with probability about n^2 / 2^161 for n states.
    const hash = reduction
      ? createHash("sha1").update(encodeGraph(run, shared)).digest("base64")
      : "";
    if (reduction) {
      const seen = memo.get(hash);
      if (seen) return seen;
    }
    states++;
    if (opts.reverse) names.reverse();
    stack.push({ run, hash, names, next: 0, via, merged: emptySummary() });
    return null;
  };
  const settle = (via: string, sub: Summary) => {
    if (stack.length === 0) root = sub;
    else combine(stack[stack.length - 1].merged, via, sub);
  };

  const r0 = enter(first, "");
  if (r0) root = r0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next < top.names.length) {
      if (runs >= maxRuns) {
        status = "bounded";
        break;
      }
      if (clock.expired()) {
        status = "timeout";
        break;
      }
      runs++;
      const name = top.names[top.next++];
      // The last child may take the node's own run: nothing else needs it.
      const child = top.next < top.names.length ? top.run.fork(copy) : top.run;
      child.pick(name);
      const sub = enter(child, name);
      if (sub) combine(top.merged, name, sub);
      continue;
    }
    stack.pop();
    if (reduction) memo.set(top.hash, top.merged);
    settle(top.via, top.merged);
  }
  if (status !== "complete") {
    // What was explored so far: fold the open nodes into the root.
    while (stack.length > 0) settle(stack[stack.length - 1].via, stack.pop()!.merged);
  }
  root ??= emptySummary();
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
      steps: replaySchedule(scenario, revision, schedule).steps,
      replay: reproduceCommand(scenario, revision, { schedule }),
    };
  }
  return {
    scenario: scenario.id,
    revision: revision.id,
    status,
    runs,
    schedules,
    states,
    reduction,
    verdicts,
    endings,
    counterexamples,
    maxima: Object.fromEntries([...root.maxima].sort(([a], [b]) => a.localeCompare(b))),
    ...(finals ? { finals: [...root.finals].sort() } : {}),
  };
}
