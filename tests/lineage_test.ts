import assert from "node:assert/strict";
import { bisect, compareRevisions, loadRevisionDir, loadScenarioDir, runMatrix } from "../mod.ts";

const revisions = loadRevisionDir("patches");
const scenarios = loadScenarioDir("scenarios");
const byId = (id: string) => revisions.find((r) => r.id === id)!;
const matrix = runMatrix(scenarios, revisions);

Deno.test("compareRevisions() shows emmu-v4 -> emmu-v5 fixing mremap and COW fork, with the keys behind them", () => {
  const c = compareRevisions(matrix, "emmu-v4", "emmu-v5");
  const kindOf = (id: string) => c.scenarios.find((s) => s.scenario === id)!;
  // 000_485f2de10ae1e46b.txt, V5 cover letter, V4->V5: "Provide missing callouts for mremap",
  // "Provide missing callouts for copy_page_range".
  for (const id of ["mremap-move", "fork-cow-writable-secondary"]) {
    const s = kindOf(id);
    assert.equal(s.classes.includes("fix"), true, `${id}: ${JSON.stringify(s.classes)}`);
    assert.ok(!s.classes.includes("regression"), id);
  }
  const keys = c.keys.map((k) => k.key);
  assert.ok(keys.includes("paths.move_page_tables.callouts[entry:invalidate_range_begin]"));
  assert.ok(keys.includes("paths.copy_page_range.callouts[entry:invalidate_range_begin]"));
  const mremap = kindOf("mremap-move").relevant.map((k) => k.key);
  assert.ok(mremap.includes("paths.move_page_tables.callouts[entry:invalidate_range_begin]"));
});

Deno.test("compareRevisions() shows Robin Holt's guard fixing only the do_wp_page end without begin", () => {
  const c = compareRevisions(matrix, "emmu-v5", "emmu-v5-holt-guard");
  assert.deepEqual(c.keys.map((k) => k.key), [
    "paths.do_wp_page.callouts[unlock:invalidate_range_end]",
  ]);
  const changed = c.scenarios.filter((s) => !s.classes.includes("same"));
  for (const s of changed) {
    assert.deepEqual(s.classes, ["fix"], `${s.scenario}: ${s.classes}`);
    // Every scenario it fixes loses the unbalanced range made by do_wp_page's exits through unlock.
    assert.ok(s.removed.includes("unbalanced-range"), s.scenario);
  }
  assert.deepEqual(changed.map((s) => s.scenario).sort(), [
    "wp-mkwrite-recheck-fails",
    "wp-mkwrite-shared",
    "wp-reuse-after-fork",
    "writeback-mkclean",
  ]);
});

Deno.test("bisect() pins the do_wp_page reuse regression to the revision whose config gives the evidence", () => {
  const b = bisect(matrix, "emmu", "wp-reuse-after-fork");
  assert.equal(b.last, "emmu-v3");
  assert.equal(b.first, "emmu-v4");
  // The evidence: Robin Holt's review of V4 2/3 (docs/sources.md §5b.3) places the begin after the
  // 'goto unlock' branches, the shape of V5 patch 2/4.
  assert.match(byId("emmu-v4").evidence ?? "", /do_wp_page/);
  assert.match(byId("emmu-v4").evidence ?? "", /line 1648/);
});

Deno.test("runMatrix() finds no violation on the reference revision", () => {
  const ref = matrix.cells.filter((c) => c.revision === "mainline-2.6.27" && c.verdict !== "pass");
  assert.deepEqual(ref.map((c) => `${c.scenario}: ${c.kinds}`), []);
});
