/**
 * Where one state of the stateful explorer spends its time: the memo key
 * (`stateHash()`, the run less its history), the copy at a choice point
 * (`Run.fork` through `cloneGraph`), and a whole transition (copy, run one
 * thread to the next choice point, key). The states are those of random
 * schedules (a fixed seed) of 4 CPUs with 3 touches or munmaps each on one
 * mm that KVM mirrors (`cpus` in `_scenarios.ts`), on `mainline-2.6.27`;
 * each iteration takes the next state, so a row's time is per state. When
 * the process ends it prints how many objects a state's key walks and a
 * copy copies (the objects that are not frozen values or shared inputs),
 * in all and per part of the run, and how many of them a transition
 * changes (what a copy-on-write state would copy and hash again).
 *
 * Run with
 * `npx --yes deno@2.9.6 bench --allow-read bench/explore_state_bench.ts`.
 *
 * @module
 */
import { loadRevisionDir, parseScenario, Run, stateHash } from "../mod.ts";
import { cloneGraph, reachable } from "../src/explore/_graph.ts";
import { cpus } from "./_scenarios.ts";

const root = new URL("..", import.meta.url).pathname;
const revision = loadRevisionDir(`${root}patches`).find((r) => r.id === "mainline-2.6.27")!;
const first = new Run(cpus(parseScenario, 4, 3), revision, { preemptive: true, trace: false });
const shared = reachable(first.scenario, revision, first.opts, first.checkers);
const copy = <T>(v: T): T => cloneGraph(v, shared);

/** The memo key of a run, as the explorer's "history-free" search makes it. */
const key = (run: Run) => stateHash(run, shared);

/** A choice point and the threads that can run there. */
interface Point {
  run: Run;
  names: string[];
  /** The choice point whose transition led here (absent for a walk's first). */
  from?: Point;
}

const points: Point[] = [];
let seed = 1;
const random = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed % n;
};
const start = first.next()!;
for (let walk = 0; walk < 200; walk++) {
  let point: Point | null = { run: first.fork(copy), names: start };
  while (point) {
    points.push(point);
    const child: Run = point.run.fork(copy);
    child.pick(point.names[random(point.names.length)]);
    const names = child.next();
    point = names ? { run: child, names, from: point } : null;
  }
}

/** The objects of `value` that are neither shared inputs nor frozen: what a key walks. */
function mutable(value: unknown, seen = new Set<object>()): number {
  if (value === null || typeof value !== "object" || seen.has(value)) return 0;
  if (shared.has(value) || Object.isFrozen(value)) return 0;
  seen.add(value);
  let n = 1;
  if (value instanceof Map) {
    for (const [k, x] of value) {
      n += mutable(k, seen) + mutable(x, seen);
    }
  } else if (value instanceof Set) { for (const x of value) n += mutable(x, seen); }
  else for (const k in value) n += mutable((value as Record<string, unknown>)[k], seen);
  return n;
}

/** The entries of a record, Map or Set (a Set's by position). */
function entriesOf(v: object): [unknown, unknown][] {
  if (v instanceof Map) return [...v];
  if (v instanceof Set) return [...v].map((x, j) => [j, x]);
  return Object.entries(v);
}

/**
 * The objects of `after` neither frozen nor shared whose own entries differ
 * from those of the object at the same path in `before` (a key added or
 * gone, or a value that is not the same frozen value or primitive): what a
 * transition from `before` to `after` wrote.
 */
function changed(before: unknown, after: unknown, seen = new Set<object>()): number {
  if (after === null || typeof after !== "object" || seen.has(after)) return 0;
  if (shared.has(after) || Object.isFrozen(after)) return 0;
  seen.add(after);
  const was = before !== null && typeof before === "object" ? new Map(entriesOf(before)) : null;
  const now = entriesOf(after);
  let differs = !was || was.size !== now.length;
  let n = 0;
  for (const [k, x] of now) {
    const y = was?.get(k);
    if (x !== null && typeof x === "object" && !Object.isFrozen(x) && !shared.has(x)) {
      n += changed(y, x, seen);
    } else if (!Object.is(x, y) || (was && !was.has(k))) differs = true;
  }
  return n + (differs ? 1 : 0);
}

let i = 0;
const next = () => points[i++ % points.length];

Deno.bench("memo key of a state (stateHash)", { group: "state" }, () => {
  key(next().run);
});
Deno.bench("copy of a state (Run.fork)", { group: "state" }, () => {
  next().run.fork(copy);
});
Deno.bench("transition: copy, run a thread to the next choice point, key", {
  group: "state",
  baseline: true,
}, () => {
  const point = next();
  const child = point.run.fork(copy);
  child.pick(point.names[i % point.names.length]);
  if (child.next()) key(child);
});

/** The parts of a run whose objects are counted apart, each a label and what it holds. */
const PARTS: [string, (run: Run) => unknown[]][] = [
  ["the world (mms, vmas, tables, files, counters)", (run) => [run.kernel.state]],
  ["the notifier chain and the drivers", (run) => [run.kernel.sink]],
  ["the kernel's locks, gathers and bookkeeping", (run) => {
    const k = run.kernel as unknown as Record<string, unknown>;
    return Object.keys(k).filter((f) => !["state", "sink", "observer"].includes(f)).map((f) =>
      k[f]
    );
  }],
  ["the checkers' memories", (run) => [run.memory]],
  ["the threads", (run) => [run.threads]],
];

/**
 * Per part of {@link PARTS}, then the run's own records (the rest: the run,
 * the kernel object, violations, returns, ...), the objects of `run` neither
 * frozen nor shared that it holds. The walks stop at the run and the kernel,
 * which the kernel's observer and the chain's links lead back to.
 */
function byPart(run: Run): number[] {
  const seen = new Set<object>([run, run.kernel]);
  const counts = PARTS.map(([, of]) => of(run).reduce<number>((n, v) => n + mutable(v, seen), 0));
  return [...counts, mutable(run) - counts.reduce((a, b) => a + b, 0)];
}

globalThis.addEventListener("unload", () => {
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const counts = points.map((p) => mutable(p.run));
  const sorted = [...counts].sort((a, b) => a - b);
  console.log(
    `${points.length} states; objects neither frozen nor shared per state: median ${
      med(counts)
    }, ` +
      `${sorted[0]} to ${sorted[sorted.length - 1]}`,
  );
  const parts = points.map((p) => byPart(p.run));
  for (const [j, label] of [...PARTS.map(([l]) => l), "the run's own records"].entries()) {
    console.log(`  ${label}: median ${med(parts.map((c) => c[j]))}`);
  }
  const written = points.filter((p) => p.from).map((p) => changed(p.from!.run, p.run));
  const w = [...written].sort((a, b) => a - b);
  console.log(
    `objects a transition changes: median ${med(written)}, ${w[0]} to ${
      w[w.length - 1]
    } (${written.length} transitions)`,
  );
});
