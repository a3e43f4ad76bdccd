/**
 * How much a partial-order reduction could remove, measured on the model
 * itself: at each choice point, for each pair of threads that can both run,
 * whether running them in either order reaches the same state (each stays
 * able to run after the other, and the two states hash alike, or the two
 * schedules end alike). A partial-order reduction (sleep sets, persistent or
 * source sets, optimal DPOR) can only skip an order of two transitions that
 * commute there, so the share of commuting pairs bounds what it could gain
 * on top of state caching, whatever recorded the footprints.
 *
 * Footprints: a reduction that is sound without running both orders needs
 * each step's footprint, and two steps are independent only where neither
 * writes what the other reads or writes. The write sets are measured here
 * by comparing the state before a thread's step with the state after it
 * (every field that changed, by its path from the run; the thread's own
 * record and the history left out of the memo key are not counted). That
 * misses a write of the value already there and knows nothing of reads, so
 * the share of pairs with disjoint write sets bounds from above what a
 * reduction on recorded footprints could treat as independent, and the
 * places where the write sets meet say what would stop it.
 *
 * Prints a Markdown table: choice points examined (depth-first, merged by
 * state, up to `--limit N`, default 3000), pairs of threads that could both
 * run, pairs where each stays able to run after the other, pairs that
 * commute, and pairs whose steps write no common place; then, for each row,
 * the places most often written by both steps of a pair, and the places
 * that most often make the recorded footprints of a pair dependent.
 *
 * Run with `npx --yes deno@2.9.6 run --allow-read bench/explore_commute.ts [--limit N]`.
 *
 * @module
 */
import { digest } from "../src/model/state.ts";
import { loadRevisionDir, parseScenario, Run, type Scenario, stateHash } from "../mod.ts";
import { cloneGraph, reachable } from "../src/explore/_graph.ts";
import {
  eachConflict,
  type Footprint,
  independent,
  pickRecorded,
  placeName,
} from "../src/explore/_footprint.ts";
import { arg } from "./_args.ts";
import { cpus, storm, unregisterDispatch } from "./_scenarios.ts";

const root = new URL("..", import.meta.url).pathname;
const revisions = loadRevisionDir(`${root}patches`);
const limit = Number(arg("--limit", "3000"));

/** A run at its next choice point (its state hash and threads), or at its end (how it ended). */
interface At {
  run: Run;
  key: string;
  names: string[] | null;
}

/** What the pairs of one scenario give. */
interface Count {
  points: number;
  pairs: number;
  both: number;
  commute: number;
  /** Pairs whose steps write no common place. */
  disjoint: number;
  /** Pairs whose recorded footprints are independent (neither writes what the other reads or writes). */
  independent: number;
  /** How often each place (a path, thread names and numbers as `*`) was written by both steps. */
  shared: Map<string, number>;
  /**
   * How often each place made two recorded footprints dependent, with how
   * (`write/read`, `write/write`, `write/add`, `add/read`).
   */
  conflicts: Map<string, number>;
}

/** The places that make footprints `a` and `b` dependent, each as `[how, place]`. */
function conflicts(a: Footprint, b: Footprint): [string, string][] {
  const out: [string, string][] = [];
  eachConflict(a, b, (how, place) => {
    out.push([how, placeName(place)]);
  });
  return out;
}

/**
 * The places where `after` differs from `before` (the same run before and
 * after one step), as paths from the run; frozen values that are the same
 * object are equal, and the fields in `skip` (by object of `before`) are
 * not compared.
 */
function written(
  before: unknown,
  after: unknown,
  skip: Map<object, ReadonlySet<string>>,
): string[] {
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (a: unknown, b: unknown, path: string) => {
    if (Object.is(a, b)) return;
    if (
      a === null || b === null || typeof a !== "object" || typeof b !== "object" ||
      Array.isArray(a) !== Array.isArray(b)
    ) {
      out.push(path);
      return;
    }
    if (seen.has(a)) return;
    seen.add(a);
    const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>;
    const omit = skip.get(a);
    for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      if (!omit?.has(k)) walk(ra[k], rb[k], `${path}.${k}`);
    }
  };
  walk(before, after, "run");
  return out;
}

/** A place with the thread names and the numbers in it as `*`, to count like places together. */
function place(path: string, names: readonly string[]): string {
  return path.split(".").map((p) => (names.includes(p) || /^\d+$/.test(p) ? "*" : p)).join(".");
}

function measure(s: Scenario, rid: string): Count {
  const r = revisions.find((x) => x.id === rid)!;
  const first = new Run(s, r, { preemptive: true, trace: false });
  const shared = reachable(first.scenario, first.revision, first.opts, first.checkers);
  const copy = <T>(v: T): T => cloneGraph(v, shared);
  const settle = (run: Run): At => {
    const names = run.next();
    const key = names ? stateHash(run) : `end ${run.kinds().join(",")}|${digest(run.kernel.state)}`;
    return { run, key, names };
  };
  const step = (from: Run, name: string): At => {
    const run = from.fork(copy);
    run.pick(name);
    return settle(run);
  };
  /** What thread `name`'s step from `from` writes, its own record and the history left out. */
  const writes = (from: Run, name: string): Set<string> => {
    const run = from.fork(copy);
    const before = from.fork(copy);
    run.pick(name);
    const skip = new Map(before.history(false).omit);
    const own = before.threads.find((t) => t.name === name);
    if (own) skip.set(own, new Set(Object.keys(own)));
    return new Set(written(before, run, skip));
  };
  const seen = new Set<string>();
  const todo: At[] = [settle(first)];
  const count: Count = {
    points: 0,
    pairs: 0,
    both: 0,
    commute: 0,
    disjoint: 0,
    independent: 0,
    shared: new Map(),
    conflicts: new Map(),
  };
  while (todo.length > 0 && count.points < limit) {
    const at = todo.pop()!;
    if (!at.names || seen.has(at.key)) continue;
    seen.add(at.key);
    count.points++;
    const next = new Map(at.names.map((n) => [n, step(at.run, n)]));
    const footprint = new Map(at.names.map((n) => [n, writes(at.run, n)]));
    const recorded = new Map(at.names.map((n) => [n, pickRecorded(at.run.fork(copy), n, shared)]));
    for (let i = 0; i < at.names.length; i++) {
      for (let j = i + 1; j < at.names.length; j++) {
        const [a, b] = [at.names[i], at.names[j]];
        count.pairs++;
        const common = [...footprint.get(a)!].filter((p) => footprint.get(b)!.has(p));
        if (common.length === 0) count.disjoint++;
        if (independent(recorded.get(a)!, recorded.get(b)!)) count.independent++;
        const why = conflicts(recorded.get(a)!, recorded.get(b)!);
        for (const p of new Set(why.map(([how, p]) => `${how} \`${place(p, at.names!)}\``))) {
          count.conflicts.set(p, (count.conflicts.get(p) ?? 0) + 1);
        }
        for (const p of new Set(common.map((p) => place(p, at.names!)))) {
          count.shared.set(p, (count.shared.get(p) ?? 0) + 1);
        }
        const sa = next.get(a)!, sb = next.get(b)!;
        if (!sa.names?.includes(b) || !sb.names?.includes(a)) continue;
        count.both++;
        if (step(sa.run, b).key === step(sb.run, a).key) count.commute++;
      }
    }
    todo.push(...next.values());
  }
  return count;
}

const rows: [string, Scenario, string][] = [
  [
    "growth: hmm-sequence-retry, 3 threads, 2 each",
    storm(parseScenario, 3, 2),
    "hmm-sequence-retry",
  ],
  ["growth: hmm-range-lock, 3 threads, 2 each", storm(parseScenario, 3, 2), "hmm-range-lock"],
  [
    "race-unregister-dispatch, 3 CPUs",
    unregisterDispatch(parseScenario, { root, cpus: 3 }),
    "emmu-v2",
  ],
  ["4 CPUs x 1, KVM", cpus(parseScenario, 4, 1), "mainline-2.6.27"],
  ["4 CPUs x 6, KVM", cpus(parseScenario, 4, 6), "mainline-2.6.27"],
];
console.log(`choice points examined: at most ${limit} per row`);
console.log(
  "| scenario | revision | choice points | pairs that can both run | each stays able to run after the other | commute | write no common place | footprints independent |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
const common: string[] = [];
const dependent: string[] = [];
for (const [label, s, rid] of rows) {
  const c = measure(s, rid);
  const pct = (n: number) => `${n} (${(100 * n / Math.max(1, c.pairs)).toFixed(0)}%)`;
  console.log(
    `| ${label} | \`${rid}\` | ${c.points} | ${c.pairs} | ${pct(c.both)} | ${pct(c.commute)} | ${
      pct(c.disjoint)
    } | ${pct(c.independent)} |`,
  );
  const top = [...c.shared].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, 6);
  common.push(`- ${label}: ${top.map(([p, n]) => `\`${p}\` ${pct(n)}`).join(", ")}`);
  const why = [...c.conflicts].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, 6);
  dependent.push(`- ${label}: ${why.map(([p, n]) => `${p} ${pct(n)}`).join(", ")}`);
}
console.log("\nPlaces most often written by both steps of a pair (share of the pairs):");
for (const line of common) console.log(line);
console.log("\nPlaces that most often make the recorded footprints of a pair dependent:");
for (const line of dependent) console.log(line);
