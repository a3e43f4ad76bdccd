/**
 * Prints how the explorer's work grows with threads and steps, with and
 * without the reduction (state caching), as a Markdown table: distinct
 * states, transitions (runs from a choice point) and complete schedules,
 * the CPU time and the states explored per CPU second, and the reduction factor
 * (states and transitions with merging off over merging on).
 *
 * With the reduction on there is no bound: every row runs to completion.
 * With it off, explorations stop after `--off-bound N` transitions (default
 * 100000; 0 for none), marked "≥".
 *
 * Run with `npx --yes deno@2.9.6 run --allow-read bench/explore_growth.ts`.
 *
 * @module
 */
import { explore, loadRevisionDir, parseScenario } from "../mod.ts";
import { cpuMs } from "./_cpu.ts";
import { storm } from "./_scenarios.ts";

const root = new URL("..", import.meta.url).pathname;
const revisions = loadRevisionDir(`${root}patches`);
const at = Deno.args.indexOf("--off-bound");
const offBound = at >= 0 ? Number(Deno.args[at + 1]) || Infinity : 100_000;

const rows: string[] = [];
for (const rid of ["hmm-sequence-retry", "hmm-range-lock"]) {
  const r = revisions.find((x) => x.id === rid)!;
  for (const [threads, n] of [[2, 1], [2, 2], [2, 3], [3, 1], [3, 2]]) {
    const s = storm(parseScenario, threads, n);
    const cells: string[] = [];
    const counts: { states: number; runs: number }[] = [];
    let bounded = "";
    for (const reduction of [true, false]) {
      const c0 = cpuMs();
      const x = explore(s, r, {
        reduction,
        maxRuns: reduction ? Infinity : offBound,
        reuse: false,
      });
      const secs = (cpuMs() - c0) / 1000;
      const mark = x.status === "complete" ? "" : "≥";
      if (mark) bounded = mark;
      counts.push(x);
      cells.push(
        `${mark}${x.states}`,
        `${mark}${x.runs}`,
        `${mark}${x.schedules}`,
        secs.toFixed(2),
        `${Math.round(x.states / secs)}`,
      );
    }
    const [on, off] = counts;
    cells.push(
      `${bounded}${(off.states / on.states).toFixed(1)}`,
      `${bounded}${(off.runs / on.runs).toFixed(1)}`,
    );
    rows.push(`| ${rid} | ${threads} | ${n} | ${cells.join(" | ")} |`);
  }
}
const side = ["states", "transitions", "schedules", "CPU s", "states/s"];
console.log(
  `| revision | threads | invalidations per CPU | ${
    [...side.map((c) => `${c} (on)`), ...side.map((c) => `${c} (off)`)].join(" | ")
  } | states off/on | transitions off/on |`,
);
console.log(`| --- | --- | --- | ${Array(side.length * 2 + 2).fill("---").join(" | ")} |`);
for (const row of rows) console.log(row);
