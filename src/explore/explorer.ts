/**
 * The explorer: runs every schedule of a scenario's threads within bounds
 * and reports, for each violation kind, whether it is reachable always,
 * sometimes or never, with the shortest schedule that reaches it.
 *
 * Schedules are explored depth first by replay: each run starts from a
 * fresh world and follows a prefix of thread choices. A choice is made only
 * at a scheduling point where more than one thread can run (every lock
 * acquisition, and the explicit points of the kernel paths and drivers).
 *
 * Reduction: at each choice point the explorer hashes the whole state (the
 * model, the notifier lists, every secondary, the locks held, every checker's
 * memory, the violations and return values so far, and for each thread the
 * history of its scheduling points and the values it declares it keeps
 * across the last one). Two prefixes that reach the same hash have the same
 * futures, so the subtree is explored once and its summary (the violation
 * sets reachable from it, the shortest suffix reaching each kind) reused.
 * Schedules that differ only in the order of independent steps meet at the
 * same state, which is the reduction a partial-order method would make; the
 * test suite checks on every race scenario that it never changes a verdict.
 *
 * Bounds: a run count and a time bound (see `deadline.ts`) stop the walk and
 * leave what it explored so far. The walk keeps its path on an explicit stack
 * and the state hash serialises without recursion, so a long scenario costs
 * heap, not call stack.
 *
 * @module
 */
import type { ViolationKind } from "../check/checker.ts";
import { canonicalJson, fnv1a } from "../model/state.ts";
import type { Outcome } from "../run/outcome.ts";
import type { Revision } from "../run/revision.ts";
import { type Decider, Run, RunStopped, type ThreadView } from "../run/runner.ts";
import { type Deadline, deadline, DEFAULT_TIMEOUT_SECONDS } from "../run/deadline.ts";
import type { Scenario } from "../run/scenario.ts";

/** Whether a violation kind is reachable. */
export type Reach = "always" | "sometimes" | "never";

/** Options of {@link explore}. */
export interface ExploreOptions {
  /** Merge schedules that reach the same state (default true). */
  reduction?: boolean;
  /** Stop after this many runs (complete or pruned); the result is then "bounded". */
  maxRuns?: number;
  /**
   * Stop after this many seconds (default {@link DEFAULT_TIMEOUT_SECONDS});
   * the result is then "timeout". `Infinity` sets no time bound.
   */
  timeout?: number;
  /** A deadline to stop at instead of `timeout` (one shared by several explorations, say). */
  deadline?: Deadline;
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
  /** Runs made: complete schedules plus runs stopped at a known state. */
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
}

/**
 * A schedule suffix as a shared list: every state's summary keeps the
 * shortest suffix to each kind, and sharing the tails keeps that linear in
 * the number of states rather than in states times depth.
 */
type Suffix = { name: string; rest: Suffix; length: number } | null;

/** What the schedules below a choice point reach. */
interface Summary {
  /** The distinct sets of kinds they end with, each as "kind,kind". */
  sigs: Set<string>;
  /** The shortest suffix reaching each kind. */
  shortest: Map<string, Suffix>;
  /** The largest value of each numeric driver counter at their ends. */
  maxima: Map<string, number>;
}

/** The explorer's state hash at a choice point. */
export function stateHash(run: Run, histories: Map<string, string>): string {
  const secs = Object.keys(run.chain.secondaries).sort().map((id) => {
    const s = run.chain.secondaries[id];
    return [id, s.mappings(), s.summary()];
  });
  const threads = run.threads.map((t) => [
    t.name,
    t.done,
    histories.get(t.name) ?? "",
    t.last?.locals ?? null,
    t.last?.blockedOn ?? null,
  ]);
  return fnv1a(canonicalJson([
    run.kernel.step,
    run.kernel.state,
    run.chain.lists,
    run.chain.snapshot(),
    secs,
    run.kernel.owners,
    threads,
    run.checkers.map((c) => c.snapshot?.() ?? null),
    run.violations.map((v) => `${v.kind}|${v.where}|${v.detail}`),
    run.returns,
  ]));
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
  return { outcome: run.finish(decide), steps };
}

/** Runs between two reads of the clock: a run costs far more than reading it. */
const POLL_EVERY = 16;

/** A choice point being explored: the frame the recursion used to be. */
interface Frame {
  /** State hash at the point, the memo key. */
  hash: string;
  /** Threads that can run there, in the order they are explored. */
  enabled: string[];
  /** Index in `enabled` of the next child to explore. */
  next: number;
  /** Summary of the children explored so far. */
  merged: Summary;
}

function emptySummary(): Summary {
  return { sigs: new Set(), shortest: new Map(), maxima: new Map() };
}

/** Merges the summary of the child reached by choosing `name` into `into`. */
function mergeChild(into: Summary, name: string, sub: Summary): void {
  for (const s of sub.sigs) into.sigs.add(s);
  for (const [key, v] of sub.maxima) {
    into.maxima.set(key, Math.max(v, into.maxima.get(key) ?? v));
  }
  for (const [k, suffix] of sub.shortest) {
    const cur = into.shortest.get(k);
    if (cur === undefined || suffixLength(suffix) + 1 < suffixLength(cur)) {
      into.shortest.set(k, { name, rest: suffix, length: suffixLength(suffix) + 1 });
    }
  }
}

function suffixLength(s: Suffix): number {
  return s === null ? 0 : s.length;
}

function suffixArray(s: Suffix): string[] {
  const out: string[] = [];
  for (let x = s; x !== null; x = x.rest) out.push(x.name);
  return out;
}

/**
 * Explores every schedule of `scenario` on `revision`, depth first, within
 * a run bound and a time bound.
 *
 * The walk keeps its path on an explicit stack, so its depth (the number of
 * choice points of the longest schedule) costs heap, never call stack. When a
 * bound stops it, the result holds what was explored so far: the schedules
 * run to the end, the states seen, and the verdicts over those schedules
 * (`status` says which bound; "always" then means on every schedule explored).
 * A result cut short by the time bound depends on the machine's speed; one
 * that completes, or stops at the run bound, is the same on every machine.
 *
 * @param scenario A loaded scenario (its `race` and `during` steps have threads to interleave).
 * @param revision A loaded revision.
 * @param opts Reduction and bounds.
 * @returns Verdicts per violation kind, counts and counterexamples.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario } from "../../mod.ts";
 * import { explore } from "./explorer.ts";
 * const rev = loadRevisionDir("patches").find((r) => r.id === "emmu-v2")!;
 * const r = explore(loadScenario("scenarios/race-wp-copy-refault.json"), rev, { timeout: 10 });
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
  const memo = new Map<string, Summary>();
  let runs = 0;
  let schedules = 0;
  let states = 0;
  let status: ExploreResult["status"] = "complete";

  /**
   * Runs the schedule `prefix` up to its next choice point: a summary when
   * the run ends there or the state is known, the new frame otherwise, or
   * null when a bound stops the exploration first.
   */
  function enter(prefix: string[]): Summary | Frame | null {
    if (runs >= maxRuns) {
      status = "bounded";
      return null;
    }
    if (clock.expired()) {
      status = "timeout";
      return null;
    }
    runs++;
    const histories = new Map<string, string>();
    const run = new Run(scenario, revision, {
      preemptive: true,
      trace: false,
      onPoint: (_step, thread, p) => {
        histories.set(thread, fnv1a((histories.get(thread) ?? "") + "|" + p.label));
      },
    });
    let i = 0;
    let stop: { enabled: string[]; hash: string } | null = null;
    const decide: Decider = (enabled: ThreadView[], r: Run) => {
      if (i < prefix.length) {
        const want = prefix[i++];
        return enabled.find((t) => t.name === want) ?? null;
      }
      stop = { enabled: enabled.map((t) => t.name), hash: stateHash(r, histories) };
      return null;
    };
    let outcome: Outcome | undefined;
    try {
      outcome = run.finish(decide);
    } catch (e) {
      if (!(e instanceof RunStopped)) throw e;
    }
    if (outcome) {
      schedules++;
      const shortest = new Map<string, Suffix>();
      for (const k of outcome.kinds) shortest.set(k, null);
      const maxima = new Map<string, number>();
      for (const sec of outcome.secondaries) {
        for (const [key, v] of Object.entries(sec.state)) {
          if (typeof v === "number") maxima.set(`${sec.id}.${key}`, v);
        }
      }
      return { sigs: new Set([outcome.kinds.join(",")]), shortest, maxima };
    }
    if (!stop) throw new Error(`replay of ${prefix.join(",")} diverged`);
    const { enabled, hash } = stop as { enabled: string[]; hash: string };
    if (reduction) {
      const seen = memo.get(hash);
      if (seen) return seen;
    }
    states++;
    return { hash, enabled, next: 0, merged: emptySummary() };
  }

  // The path from the root to the choice point being explored, one frame per
  // choice point, and the thread chosen at each (the schedule prefix).
  const stack: Frame[] = [];
  const path: string[] = [];
  let root = emptySummary();
  let done: Summary | null = null;
  const first = enter(path);
  if (first !== null && "hash" in first) stack.push(first);
  else if (first !== null) root = first;
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (done !== null) {
      mergeChild(top.merged, top.enabled[top.next - 1], done);
      done = null;
    }
    if (top.next === top.enabled.length) {
      stack.pop();
      path.pop();
      if (reduction) memo.set(top.hash, top.merged);
      if (stack.length === 0) root = top.merged;
      done = top.merged;
      continue;
    }
    path.push(top.enabled[top.next++]);
    const child = enter(path);
    if (child === null) {
      // A bound stopped the walk: fold each open frame's partial summary into
      // its parent's, never into the memo (it does not hold every future).
      for (let i = stack.length - 1; i > 0; i--) {
        const f = stack[i - 1];
        mergeChild(f.merged, f.enabled[f.next - 1], stack[i].merged);
      }
      root = stack[0].merged;
      break;
    }
    if ("hash" in child) {
      stack.push(child);
    } else {
      path.pop();
      done = child;
    }
  }
  const endings = [...root.sigs].sort().map((s) => (s ? s.split(",") : []));
  const kinds = [...new Set(endings.flat())].sort() as ViolationKind[];
  const verdicts: ExploreResult["verdicts"] = {};
  const counterexamples: ExploreResult["counterexamples"] = {};
  for (const kind of kinds) {
    const n = endings.filter((e) => e.includes(kind)).length;
    verdicts[kind] = n === endings.length ? "always" : "sometimes";
    const schedule = suffixArray(root.shortest.get(kind)!);
    counterexamples[kind] = {
      schedule,
      steps: replaySchedule(scenario, revision, schedule).steps,
      replay: `deno task run ${scenario.id} ${revision.id} --schedule ${schedule.join(",") || "-"}`,
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
  };
}
