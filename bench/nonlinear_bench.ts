/**
 * Benchmarks of the 2.5.42 nonlinear lineage: its matrix (the nl-*
 * scenarios on the nl-* revisions), the cost table the report appends (both
 * families, every size), and the largest database scenario alone. Run with
 * `npx --yes deno@2.9.6 bench --allow-read bench/nonlinear_bench.ts`.
 *
 * @module
 */
import {
  costTable,
  databaseScenario,
  loadRevisionDir,
  loadScenarioDir,
  runMatrix,
  runScenario,
  sparseScenario,
} from "../mod.ts";

const root = new URL("..", import.meta.url).pathname;
const revisions = loadRevisionDir(`${root}patches`).filter((r) => r.base === "2.5.42");
const scenarios = loadScenarioDir(`${root}scenarios`).filter((s) => s.kernel === "2.5.42");
const f8 = revisions.find((r) => r.id === "nl-2.5.42-f8")!;

Deno.bench({
  name: `runMatrix() of ${scenarios.length} 2.5.42 scenarios x ${revisions.length} revisions`,
  group: "nonlinear",
  fn() {
    runMatrix(scenarios, revisions);
  },
});

Deno.bench({
  name: "costTable() on nl-2.5.42-f8 (every database and sparse size, both ways)",
  group: "nonlinear",
  fn() {
    costTable(f8);
  },
});

for (const way of ["mmap-fixed", "remap_file_pages"] as const) {
  const s = databaseScenario(way, 256, 4);
  Deno.bench({
    name: `runScenario() database window 256, element 4 (${way}, ${s.steps.length} steps)`,
    group: "cost scenario",
    fn() {
      runScenario(s, f8, { trace: false });
    },
  });
}

const sparse = sparseScenario("mmap-fixed", 16, 512);
Deno.bench({
  name: "runScenario() sparse file, 16 pages 512 apart, one linear mmap (8192-page vma)",
  group: "cost scenario",
  fn() {
    runScenario(sparse, f8, { trace: false });
  },
});
