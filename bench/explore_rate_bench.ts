/**
 * The explorer's rate, old code and new in one run: distinct states per
 * second of the replaying explorer of commit 8fee6ab (every schedule replayed
 * from a fresh world, generator paths, canonical JSON + FNV state hash) and of
 * this checkout's stateful one (the run copied at each choice point, its
 * encoding the memo key).
 *
 * Scenarios: `race-unregister-dispatch` on `emmu-v2` with 1, 4, 16 and 64
 * more touched pages in the mm (the world grows, the race stays the same),
 * and two three-thread rows of the growth table (`bench/explore_growth.ts`).
 * Each bench row's name carries the distinct states its exploration counts;
 * when the process ends a Markdown table of states/s and the cost per state
 * (medians of the timed iterations, wall and CPU time of this process) is
 * printed.
 *
 * Run with
 * `npx --yes deno@2.9.6 bench --allow-read --allow-write --allow-run bench/explore_rate_bench.ts`
 * (git and tar unpack 8fee6ab into a temporary directory; without git, the
 * commit or the permissions, the old rows are skipped with a message).
 *
 * @module
 */
import { explore, loadRevisionDir, parseScenario } from "../mod.ts";
import { type ExplorerApi, loadCommit } from "./_commit.ts";
import { cpuMs, median } from "./_cpu.ts";
import { storm, unregisterDispatch } from "./_scenarios.ts";

const OLD = "8fee6ab";
const root = new URL("..", import.meta.url).pathname;
const current: ExplorerApi = { explore, loadRevisionDir, parseScenario };

/** One exploration to time: how to build its scenario and which revision it runs on. */
interface Case {
  label: string;
  revision: string;
  build(api: ExplorerApi, dir: string): unknown;
}

const cases: Case[] = [
  ...[1, 4, 16, 64].map((pages): Case => ({
    label: `race-unregister-dispatch on emmu-v2, ${pages} touched page${pages > 1 ? "s" : ""}`,
    revision: "emmu-v2",
    // Both sides read this checkout's scenario file, so they run the same scenario.
    build: (api) => unregisterDispatch(api.parseScenario, { root, pages }),
  })),
  {
    label: "growth: hmm-range-lock, 3 threads, 1 invalidation per CPU",
    revision: "hmm-range-lock",
    build: (api) => storm(api.parseScenario, 3, 1),
  },
  {
    label: "growth: hmm-sequence-retry, 3 threads, 2 invalidations per CPU",
    revision: "hmm-sequence-retry",
    build: (api) => storm(api.parseScenario, 3, 2),
  },
];

/** A side of the comparison: its label and its API, loaded from `dir`. */
interface Side {
  code: string;
  api: ExplorerApi;
  dir: string;
}

const sides: Side[] = [];
const old = await loadCommit(root, OLD);
if (typeof old === "string") {
  console.log(`explore_rate_bench: the rows of ${OLD} are skipped: ${old}`);
} else sides.push({ code: `old (${OLD})`, ...old });
sides.push({ code: "new (this checkout)", api: current, dir: root });

/** Per case and side: the state count and the timed iterations (wall and CPU ms). */
const measured = new Map<string, { states: number; ms: number[]; cpu: number[] }>();

for (const c of cases) {
  const verdicts = new Set<string>();
  for (const side of sides) {
    const scenario = c.build(side.api, side.dir);
    const revision = side.api.loadRevisionDir(`${side.dir}patches`).find((r) =>
      r.id === c.revision
    )!;
    const first = side.api.explore(scenario, revision, { reuse: false });
    verdicts.add(JSON.stringify(first.verdicts));
    const m = { states: first.states, ms: [] as number[], cpu: [] as number[] };
    measured.set(`${c.label}|${side.code}`, m);
    Deno.bench({
      name: `${side.code}: ${first.states} states`,
      group: c.label,
      baseline: side === sides[0],
      fn() {
        const t0 = performance.now();
        const c0 = cpuMs();
        side.api.explore(scenario, revision, { reuse: false });
        m.cpu.push(cpuMs() - c0);
        m.ms.push(performance.now() - t0);
      },
    });
  }
  if (verdicts.size > 1) {
    console.log(
      `explore_rate_bench: the verdicts differ on ${c.label}: ${[...verdicts].join(" vs ")}`,
    );
  }
}

globalThis.addEventListener("unload", () => {
  const head = sides.flatMap((s) => [
    `${s.code} states`,
    "wall ms",
    "CPU ms",
    "states/s (CPU)",
    "µs/state (CPU)",
  ]);
  const rows = cases.map((c) => {
    const cells = sides.flatMap((s) => {
      const m = measured.get(`${c.label}|${s.code}`)!;
      const cpu = median(m.cpu);
      return [
        m.states,
        median(m.ms).toFixed(2),
        cpu.toFixed(2),
        Math.round(m.states / cpu * 1000),
        (cpu * 1000 / m.states).toFixed(0),
      ];
    });
    return `| ${c.label} | ${cells.join(" | ")} |`;
  });
  console.log(`\n| exploration | ${head.join(" | ")} |`);
  console.log(`| --- | ${head.map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(row);
});
