/**
 * How long the explorer takes on CPUs racing on one mm that a KVM guest
 * mirrors (see `cpus` in `_scenarios.ts`): 4 CPUs with 1 to 6 touches or
 * munmaps each, and 2 and 3 CPUs with 6 each, on a revision (default
 * `mainline-2.6.27`). Prints a Markdown table: distinct states, transitions,
 * schedules, CPU seconds, states per CPU second, the verdicts. Explorations
 * stop after `--bound N` transitions (default 200000), marked "≥".
 *
 * Run with `npx --yes deno@2.9.6 run --allow-read bench/explore_cpus.ts [--revision ID] [--bound N]`.
 *
 * @module
 */
import { explore, loadRevisionDir, parseScenario } from "../mod.ts";
import { arg } from "./_args.ts";
import { cpuMs } from "./_cpu.ts";
import { cpus } from "./_scenarios.ts";

const root = new URL("..", import.meta.url).pathname;
const rid = arg("--revision", "mainline-2.6.27");
const bound = Number(arg("--bound", "200000"));
const revision = loadRevisionDir(`${root}patches`).find((r) => r.id === rid);
if (!revision) throw new RangeError(`Unknown revision "${rid}"`);

console.log(`revision ${rid}, bound ${bound} transitions`);
console.log(
  "| CPUs | operations per CPU | states | transitions | schedules | CPU s | states/s | verdicts |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const [threads, ops] of [[4, 1], [4, 2], [4, 3], [4, 4], [4, 5], [4, 6], [2, 6], [3, 6]]) {
  const c0 = cpuMs();
  const x = explore(cpus(parseScenario, threads, ops), revision, { maxRuns: bound, reuse: false });
  const secs = (cpuMs() - c0) / 1000;
  const mark = x.status === "complete" ? "" : "≥";
  const verdicts = Object.entries(x.verdicts).map(([k, v]) => `${k} ${v}`).join(", ");
  console.log(
    `| ${threads} | ${ops} | ${mark}${x.states} | ${mark}${x.runs} | ${mark}${x.schedules} | ${
      secs.toFixed(1)
    } | ${Math.round(x.states / secs)} | ${verdicts || "none"} |`,
  );
}
