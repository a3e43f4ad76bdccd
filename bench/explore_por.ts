/**
 * The partial-order reduction alone: for the growth rows (a device snapshot
 * racing CPUs that invalidate the page) and a few races, the distinct
 * states, the transitions (runs from a choice point) and the CPU time with
 * the reduction off and on, merging on in both, and the reduction factor
 * (off over on). Both explorations must find the same endings, verdicts
 * and steps of each shortest counterexample; a row where they do not is
 * marked "DIFFERENT". The last row
 * sums every shipped race scenario on every revision of its tree.
 *
 * Each exploration has a time bound of `--timeout S` seconds (default 120);
 * a row stopped by it is marked "≥" (its counts are those explored so far).
 *
 * Run with `npx --yes deno@2.9.6 run --allow-read bench/explore_por.ts [--timeout S]`.
 *
 * @module
 */
import { explore, loadRevisionDir, loadScenarioDir, parseScenario, type Scenario } from "../mod.ts";
import { arg } from "./_args.ts";
import { cpuMs } from "./_cpu.ts";
import { cpus, storm, unregisterDispatch } from "./_scenarios.ts";

const root = new URL("..", import.meta.url).pathname;
const revisions = loadRevisionDir(`${root}patches`);
const timeout = Number(arg("--timeout", "120"));

const rows: [string, Scenario, string][] = [];
for (const rid of ["hmm-sequence-retry", "hmm-range-lock"]) {
  for (const [threads, n] of [[2, 1], [2, 2], [2, 3], [3, 1], [3, 2]]) {
    rows.push([`growth: ${threads} threads, ${n} each`, storm(parseScenario, threads, n), rid]);
  }
}
rows.push(
  [
    "race-unregister-dispatch, 3 CPUs",
    unregisterDispatch(parseScenario, { root, cpus: 3 }),
    "emmu-v2",
  ],
  ["4 CPUs x 1, KVM", cpus(parseScenario, 4, 1), "mainline-2.6.27"],
  ["3 CPUs x 3, KVM", cpus(parseScenario, 3, 3), "mainline-2.6.27"],
  ["4 CPUs x 6, KVM", cpus(parseScenario, 4, 6), "mainline-2.6.27"],
);

/** What the two explorations must agree on: endings, verdicts, steps of each counterexample. */
function agreed(x: ReturnType<typeof explore>): string {
  const steps = Object.entries(x.counterexamples).map(([k, c]) => [k, c!.steps.length]);
  return JSON.stringify([x.finals, x.verdicts, steps]);
}

console.log(
  "| scenario | revision | states (off) | transitions (off) | CPU s (off) | states (on) | transitions (on) | CPU s (on) | states off/on | transitions off/on | CPU on/off |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const [label, s, rid] of rows) {
  const r = revisions.find((x) => x.id === rid)!;
  const runs = [false, true].map((partialOrder) => {
    const c0 = cpuMs();
    const x = explore(s, r, {
      partialOrder,
      finals: true,
      reuse: false,
      timeout,
      maxRuns: Infinity,
    });
    return { x, secs: (cpuMs() - c0) / 1000, mark: x.status === "complete" ? "" : "≥" };
  });
  const [off, on] = runs;
  const complete = off.x.status === "complete" && on.x.status === "complete";
  const same = agreed(off.x) === agreed(on.x);
  const cells = runs.flatMap(({ x, secs, mark }) => [
    `${mark}${x.states}`,
    `${mark}${x.runs}`,
    secs.toFixed(2),
  ]);
  const factor = (a: number, b: number) => complete ? (a / b).toFixed(2) : "-";
  console.log(
    `| ${label} | \`${rid}\` | ${cells.join(" | ")} | ${factor(off.x.states, on.x.states)} | ${
      factor(off.x.runs, on.x.runs)
    } | ${factor(on.secs, off.secs)} |${complete && !same ? " DIFFERENT" : ""}`,
  );
}

// Every shipped race scenario on every revision of its tree, summed.
const races = loadScenarioDir(`${root}scenarios`).filter((s) => s.steps.some((st) => st.threads));
const sum = [0, 1].map(() => ({ states: 0, runs: 0, secs: 0 }));
let differ = 0;
for (const s of races) {
  for (const r of revisions.filter((x) => x.base === s.kernel)) {
    const found = [false, true].map((partialOrder, i) => {
      const c0 = cpuMs();
      const x = explore(s, r, { partialOrder, finals: true, reuse: false });
      sum[i].secs += (cpuMs() - c0) / 1000;
      sum[i].states += x.states;
      sum[i].runs += x.runs;
      return agreed(x);
    });
    if (found[0] !== found[1]) differ++;
  }
}
const [off, on] = sum;
console.log(
  `| every race, every revision (sum) | | ${off.states} | ${off.runs} | ${
    off.secs.toFixed(2)
  } | ${on.states} | ${on.runs} | ${on.secs.toFixed(2)} | ${
    (off.states / on.states).toFixed(2)
  } | ${(off.runs / on.runs).toFixed(2)} | ${(on.secs / off.secs).toFixed(2)} |${
    differ ? ` DIFFERENT (${differ})` : ""
  }`,
);
