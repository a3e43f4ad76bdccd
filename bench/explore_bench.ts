/**
 * Benchmarks of the explorer: whole explorations of race scenarios with the
 * reduction (state caching) on and off. Each row's name carries the distinct
 * states and the complete schedules of its exploration.
 * Run with `npx --yes deno@2.9.6 bench --allow-read bench/explore_bench.ts`.
 *
 * @module
 */
import { explore, loadRevisionDir, loadScenarioDir } from "../mod.ts";

const root = new URL("..", import.meta.url).pathname;
const revisions = loadRevisionDir(`${root}patches`);
const scenarios = loadScenarioDir(`${root}scenarios`);
const cases: [string, string][] = [
  ["race-wp-copy-refault", "emmu-v5"],
  ["race-mremap-guest-write", "emmu-v4"],
  ["race-hmm-snapshot-storm", "hmm-sequence-retry"],
  ["race-hmm-snapshot-storm", "hmm-range-lock"],
];
for (const [sid, rid] of cases) {
  const s = scenarios.find((x) => x.id === sid)!;
  const r = revisions.find((x) => x.id === rid)!;
  for (const reduction of [true, false]) {
    const x = explore(s, r, { reduction, reuse: false });
    Deno.bench({
      name: `explore() ${sid} on ${rid}, reduction ${
        reduction ? "on" : "off"
      } (${x.states} states, ${x.schedules} schedules)`,
      group: `explore ${sid} ${rid}`,
      baseline: reduction,
      fn() {
        explore(s, r, { reduction, reuse: false });
      },
    });
  }
}
