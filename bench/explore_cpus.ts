/**
 * How long the explorer takes on CPUs racing on one mm that a KVM guest
 * mirrors (see `cpus` in `_scenarios.ts`): 4 CPUs with 1 to 6 touches or
 * munmaps each, and 2 and 3 CPUs with 6 each, on a revision (default
 * `mainline-2.6.27`). Prints a Markdown table: the scheduling points each
 * CPU passes on the round-robin schedule (its steps), distinct states,
 * transitions, schedules, CPU seconds, states per CPU second, the verdicts. Explorations
 * stop after `--bound N` transitions (default 200000) or `--timeout S` seconds (default 3600),
 * marked "≥"; `--row TxO` runs the row of T CPUs with O operations each alone.
 *
 * Run with `npx --yes deno@2.9.6 run --allow-read bench/explore_cpus.ts [--revision ID] [--bound N]
 * [--timeout S] [--row TxO]`.
 *
 * @module
 */
import { explore, loadRevisionDir, parseScenario, Run } from "../mod.ts";
import { arg } from "./_args.ts";
import { cpuMs } from "./_cpu.ts";
import { cpus } from "./_scenarios.ts";

const root = new URL("..", import.meta.url).pathname;
const rid = arg("--revision", "mainline-2.6.27");
const bound = Number(arg("--bound", "200000"));
const timeout = Number(arg("--timeout", "3600"));
/** `--row TxO` runs that row alone (T CPUs with O operations each). */
const only = arg("--row", "");
const revision = loadRevisionDir(`${root}patches`).find((r) => r.id === rid);
if (!revision) throw new RangeError(`Unknown revision "${rid}"`);

/**
 * The scheduling points each CPU passes in the race on the round-robin
 * schedule (at each choice point the next thread in turn): its steps, as
 * "a race of N steps each" counts them. The fewest and the most, as "a-b".
 */
function stepsPerCpu(threads: number, ops: number): string {
  const s = cpus(parseScenario, threads, ops);
  const race = s.steps.findIndex((st) => st.threads);
  const points: Record<string, number> = {};
  const run = new Run(s, revision!, {
    preemptive: true,
    trace: false,
    onPoint: (step, thread) => {
      if (step === race) points[thread] = (points[thread] ?? 0) + 1;
    },
  });
  let turn = 0;
  for (let names = run.next(); names; names = run.next()) run.pick(names[turn++ % names.length]);
  const n = Object.values(points);
  const [lo, hi] = [Math.min(...n), Math.max(...n)];
  return lo === hi ? `${lo}` : `${lo}-${hi}`;
}

console.log(`revision ${rid}, bound ${bound} transitions`);
console.log(
  "| CPUs | operations per CPU | steps per CPU | states | transitions | schedules | CPU s | states/s | verdicts |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
const rows = [[4, 1], [4, 2], [4, 3], [4, 4], [4, 5], [4, 6], [2, 6], [3, 6]];
for (const [threads, ops] of rows.filter(([t, o]) => only === "" || only === `${t}x${o}`)) {
  const steps = stepsPerCpu(threads, ops);
  const c0 = cpuMs();
  const x = explore(cpus(parseScenario, threads, ops), revision, {
    maxRuns: bound,
    timeout,
    reuse: false,
  });
  const secs = (cpuMs() - c0) / 1000;
  const mark = x.status === "complete" ? "" : "≥";
  const verdicts = Object.entries(x.verdicts).map(([k, v]) => `${k} ${v}`).join(", ");
  console.log(
    `| ${threads} | ${ops} | ${steps} | ${mark}${x.states} | ${mark}${x.runs} | ${mark}${x.schedules} | ${
      secs.toFixed(1)
    } | ${Math.round(x.states / secs)} | ${verdicts || "none"} |`,
  );
}
