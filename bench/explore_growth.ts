/**
 * Prints how the explorer's work grows with threads and steps, with and
 * without the reduction, as a Markdown table: runs, complete schedules and
 * distinct states, and the states and schedules explored per second.
 * Run with `npx --yes deno@2.9.6 run --allow-read bench/explore_growth.ts`.
 *
 * @module
 */
import { explore, loadRevisionDir, parseScenario, type Scenario } from "../mod.ts";

const root = new URL("..", import.meta.url).pathname;
const revisions = loadRevisionDir(`${root}patches`);

/** A device snapshot racing `threads - 1` CPUs, each invalidating the page `n` times. */
function storm(threads: number, n: number): Scenario {
  const cpus: Record<string, unknown[]> = {};
  for (let t = 0; t < threads - 1; t++) {
    cpus[`cpu${t}`] = Array.from({ length: n }, () => ({
      op: "madvise_dontneed",
      mm: "A",
      addr: "0x100000",
      len: "0x1000",
    }));
  }
  return parseScenario(
    {
      purpose: `snapshot against ${threads - 1} invalidating CPUs, ${n} invalidations each`,
      exercises: [],
      cite: "bench",
      secondaries: [{ id: "hmm0", driver: "hmm", mm: "A" }],
      steps: [
        { op: "mmap", mm: "A", addr: "0x100000", len: "0x2000", prot: "rw", share: "private" },
        { op: "register", secondary: "hmm0" },
        { op: "touch", mm: "A", addr: "0x100000", access: "write" },
        {
          op: "race",
          threads: {
            dev0: [{ op: "snapshot", secondary: "hmm0", addr: "0x100000", len: "0x2000" }],
            ...cpus,
          },
        },
      ],
    },
    "bench",
    `storm-${threads}x${n}`,
  );
}

const rows: string[] = [];
for (const rid of ["hmm-sequence-retry", "hmm-range-lock"]) {
  const r = revisions.find((x) => x.id === rid)!;
  for (const [threads, n] of [[2, 1], [2, 2], [2, 3], [3, 1], [3, 2]]) {
    const s = storm(threads, n);
    const cells: string[] = [];
    for (const reduction of [true, false]) {
      const t0 = performance.now();
      const x = explore(s, r, { reduction, maxRuns: 100_000 });
      const secs = (performance.now() - t0) / 1000;
      cells.push(
        `${x.status === "complete" ? "" : "≥"}${x.states}`,
        `${x.schedules}`,
        `${Math.round(x.states / secs)}`,
        `${Math.round(x.schedules / secs)}`,
      );
    }
    rows.push(`| ${rid} | ${threads} | ${n} | ${cells.join(" | ")} |`);
  }
}
console.log(
  "| revision | threads | invalidations per CPU | states (on) | schedules (on) | states/s (on) | schedules/s (on) | states (off) | schedules (off) | states/s (off) | schedules/s (off) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
