/**
 * Benchmarks: the whole matrix (every revision by every scenario, as
 * shipped in patches/ and scenarios/), single-scenario runs, and the report
 * renderers on a finished matrix. Run with
 * `npx --yes deno@2.9.6 bench --allow-read bench/`.
 *
 * @module
 */
import {
  analyse,
  buildReport,
  lineageDiff,
  loadRevisionDir,
  loadScenarioDir,
  renderMarkdown,
  reportJson,
  runMatrix,
  runScenario,
} from "../mod.ts";

const root = new URL("..", import.meta.url).pathname;
const revisions = loadRevisionDir(`${root}patches`);
const scenarios = loadScenarioDir(`${root}scenarios`);
const matrix = runMatrix(scenarios, revisions);

Deno.bench({
  name: `runMatrix() of ${scenarios.length} scenarios x ${revisions.length} revisions`,
  group: "matrix",
  fn() {
    runMatrix(scenarios, revisions);
  },
});

Deno.bench({
  name: "loadScenarioDir() + loadRevisionDir() + runMatrix()",
  group: "load and run",
  fn() {
    runMatrix(loadScenarioDir(`${root}scenarios`), loadRevisionDir(`${root}patches`));
  },
});

const single = scenarios.find((s) => s.id === "wp-reuse-after-fork") ?? scenarios[0];
for (const id of ["emmu-v5", "mainline-2.6.27"]) {
  const rev = revisions.find((r) => r.id === id);
  if (!rev) continue;
  Deno.bench({
    name: `runScenario() ${single.id} on ${id}`,
    group: "single",
    fn() {
      runScenario(single, rev);
    },
  });
}

const longest = scenarios.reduce((a, b) => (b.steps.length > a.steps.length ? b : a));
// A scenario runs only on the revisions of its kernel tree.
const sameTree = revisions.filter((r) => r.base === longest.kernel);
Deno.bench({
  name:
    `runScenario() ${longest.id} (${longest.steps.length} steps) on the ${sameTree.length} revisions of its tree`,
  group: "single",
  fn() {
    for (const r of sameTree) runScenario(longest, r);
  },
});

Deno.bench({
  name: "lineageDiff() emmu",
  group: "report",
  fn() {
    lineageDiff(matrix, "emmu");
  },
});

Deno.bench({
  name: "renderMarkdown() of the whole matrix",
  group: "report",
  fn() {
    // The analysis and the rendering, as renderMarkdown(matrix) did before the report model.
    renderMarkdown(analyse(matrix));
  },
});

Deno.bench({
  name: "reportJson(buildReport()) of the whole matrix",
  group: "report",
  fn() {
    reportJson(buildReport(analyse(matrix)));
  },
});

// The report benches above reuse one matrix, so each outcome's behaviour
// digest (computed once per outcome) is warm after the first iteration; this
// one measures what `deno task report` does, from the files to the text.
Deno.bench({
  name: "load + runMatrix() + renderMarkdown() (the report command)",
  group: "end to end",
  fn() {
    const m = runMatrix(loadScenarioDir(`${root}scenarios`), loadRevisionDir(`${root}patches`));
    renderMarkdown(analyse(m));
  },
});
