/**
 * The explorer's cost per state as the world grows, this checkout beside an
 * older commit in one process: `race-unregister-dispatch` on `emmu-v2` with
 * three CPUs truncating (1,184 states, so the search, not the set-up or the
 * counterexample replays, is what is timed) and 1, 4, 16 and 64 more touched
 * pages in the mm (`unregisterDispatch` in `_scenarios.ts`). Prints a
 * Markdown table: states, median CPU ms of the timed explorations, µs of CPU
 * per state, and the ratio of the cost per state at 64 pages to that at 1.
 *
 * Run with
 * `npx --yes deno@2.9.6 run --allow-read --allow-write --allow-run bench/explore_pages.ts [--against COMMIT] [--runs N]`
 * (default: commit 969c996, the explorer before its records became frozen
 * values, and 3 timed explorations per cell after one untimed; without git,
 * the commit or the permissions its columns are skipped with a message).
 *
 * @module
 */
import { explore, loadRevisionDir, parseScenario } from "../mod.ts";
import { type ExplorerApi, loadCommit } from "./_commit.ts";
import { arg } from "./_args.ts";
import { cpuMs, median } from "./_cpu.ts";
import { unregisterDispatch } from "./_scenarios.ts";

const root = new URL("..", import.meta.url).pathname;
const against = arg("--against", "969c996");
const runs = Number(arg("--runs", "3"));
const PAGES = [1, 4, 16, 64];

const sides: { code: string; api: ExplorerApi; dir: string }[] = [];
const old = await loadCommit(root, against);
if (typeof old === "string") console.log(`explore_pages: ${against} is skipped: ${old}`);
else sides.push({ code: against, ...old });
sides.push({ code: "this checkout", api: { explore, loadRevisionDir, parseScenario }, dir: root });

const head: string[] = [];
const cells: string[][] = PAGES.map(() => []);
const perState: number[][] = sides.map(() => []);
sides.forEach((side, si) => {
  head.push(`${side.code} states`, "CPU ms", "µs/state");
  const revision = side.api.loadRevisionDir(`${side.dir}patches`).find((r) => r.id === "emmu-v2")!;
  PAGES.forEach((pages, pi) => {
    const scenario = unregisterDispatch(side.api.parseScenario, { root, pages, cpus: 3 });
    const first = side.api.explore(scenario, revision, { reuse: false });
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const c0 = cpuMs();
      side.api.explore(scenario, revision, { reuse: false });
      cpu.push(cpuMs() - c0);
    }
    const us = median(cpu) * 1000 / first.states;
    perState[si].push(us);
    cells[pi].push(String(first.states), median(cpu).toFixed(1), us.toFixed(0));
  });
});
console.log(`| touched pages | ${head.join(" | ")} |`);
console.log(`| --- | ${head.map(() => "---").join(" | ")} |`);
PAGES.forEach((pages, pi) => console.log(`| ${pages} | ${cells[pi].join(" | ")} |`));
const ratios = perState.map((p) => ["", "", `${(p[PAGES.length - 1] / p[0]).toFixed(2)}x`]);
console.log(`| 64 / 1 | ${ratios.flat().join(" | ")} |`);
