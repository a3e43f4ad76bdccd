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
 * Prints a Markdown table: choice points examined (depth-first, merged by
 * state, up to `--limit N`, default 3000), pairs of threads that could both
 * run, pairs where each stays able to run after the other, and pairs that
 * commute.
 *
 * Run with `npx --yes deno@2.9.6 run --allow-read bench/explore_commute.ts [--limit N]`.
 *
 * @module
 */
import { digest } from "../src/model/state.ts";
import { loadRevisionDir, parseScenario, Run, type Scenario, stateHash } from "../mod.ts";
import { cloneGraph, reachable } from "../src/explore/_graph.ts";
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
  const seen = new Set<string>();
  const todo: At[] = [settle(first)];
  const count: Count = { points: 0, pairs: 0, both: 0, commute: 0 };
  while (todo.length > 0 && count.points < limit) {
    const at = todo.pop()!;
    if (!at.names || seen.has(at.key)) continue;
    seen.add(at.key);
    count.points++;
    const next = new Map(at.names.map((n) => [n, step(at.run, n)]));
    for (let i = 0; i < at.names.length; i++) {
      for (let j = i + 1; j < at.names.length; j++) {
        const [a, b] = [at.names[i], at.names[j]];
        count.pairs++;
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
  "| scenario | revision | choice points | pairs that can both run | each stays able to run after the other | commute |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const [label, s, rid] of rows) {
  const c = measure(s, rid);
  const pct = (n: number) => `${n} (${(100 * n / Math.max(1, c.pairs)).toFixed(0)}%)`;
  console.log(
    `| ${label} | \`${rid}\` | ${c.points} | ${c.pairs} | ${pct(c.both)} | ${pct(c.commute)} |`,
  );
}
