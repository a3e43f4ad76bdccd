import assert from "node:assert/strict";
import {
  bisect,
  compareRaces,
  compareRevisions,
  loadRevisionDir,
  loadScenarioDir,
  runMatrix,
} from "../mod.ts";

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
  // The first change is V2's fix of V1's release (docs/sources.md §5a.1); the regression follows.
  const t = b.transitions.find((x) => x.classes.includes("regression"))!;
  assert.equal(t.from, "emmu-v3");
  assert.equal(t.to, "emmu-v4");
  // The evidence: Robin Holt's review of V4 2/3 (docs/sources.md §5b.3) places the begin after the
  // 'goto unlock' branches, the shape of V5 patch 2/4.
  assert.match(byId("emmu-v4").evidence ?? "", /do_wp_page/);
  assert.match(byId("emmu-v4").evidence ?? "", /line 1648/);
});

Deno.test("runMatrix() finds no violation on the reference revision but its deliberate limit and the real kernel's hugetlb gaps", () => {
  // The one limit the seeds describe: mainline's callouts may not sleep, which XPmem needs
  // (004_fe4e64268de82919.txt: "the futher orthogonal work to do on top of #v8 ... to make the
  // whole mmu notifier API sleep capable").
  const xpmem = new Set(
    scenarios.filter((s) => s.secondaries.some((x) => x.driver === "xpmem")).map((s) => s.id),
  );
  for (
    const c of matrix.cells.filter((c) => c.revision === "mainline-2.6.27" && xpmem.has(c.scenario))
  ) {
    assert.deepEqual(c.kinds, ["sleep-in-atomic"], c.scenario);
    assert.ok(c.violations.every((v) => v.detail.startsWith("xpm0 sleeps")), c.scenario);
  }
  const ref = matrix.cells.filter((c) =>
    c.revision === "mainline-2.6.27" && c.verdict !== "pass" && !xpmem.has(c.scenario)
  );
  assert.deepEqual(ref.map((c) => `${c.scenario}: ${c.kinds}`), REFERENCE_GAPS);
});

/**
 * Gaps of the real 2.6.27, not of the model: mm/hugetlb.c changes user ptes with no notifier in
 * hugetlb_cow and copy_hugetlb_page_range (docs/sources.md §7; later kernels added the calls).
 */
const REFERENCE_GAPS = [
  "hugetlb-cow-after-fork: lost-write,stale-secondary",
  "hugetlb-fork-wrprotect: stale-secondary",
];

Deno.test("compareRevisions() lists what #v3 -> #v8 changed, with the keys behind it", () => {
  const c = compareRevisions(matrix, "mmun-v3", "mmun-v8");
  const cls = (id: string) => c.scenarios.find((s) => s.scenario === id)!;
  // #v8 has the copy_page_range and mprotect callouts of the 2.6.27 merge; #v3 has none
  // (docs/sources.md §5c: "No call in do_wp_page, copy_page_range, mremap, fremap or unmap_vmas").
  for (const id of ["fork-cow-writable-secondary", "mprotect-readonly"]) {
    assert.deepEqual(cls(id).classes, ["fix"], id);
    assert.ok(cls(id).relevant.length > 0, id);
  }
  // #v3 asks age_page only for a young pte and drops its answer; #v8 ORs it (003_2df4b1807644edd0.txt,
  // Avi Kivity): the page hot only through KVM is kept instead of reclaimed.
  assert.deepEqual(cls("reclaim-secondary-hot").classes, ["change"]);
  const keys = c.keys.map((k) => k.key);
  assert.ok(keys.includes("chain.list"));
  assert.ok(keys.includes("paths.copy_page_range.callouts[entry:invalidate_range_start]"));
  assert.ok(keys.includes("kernel.follow_page"));
});

Deno.test("compareRevisions() shows #v3's young OR candidate keeping a page hot only through KVM", () => {
  const c = compareRevisions(matrix, "mmun-v3", "mmun-v3-young-or");
  const s = c.scenarios.find((x) => x.scenario === "reclaim-secondary-hot")!;
  assert.deepEqual(s.classes, ["change"]);
  assert.ok(s.differs.includes("returns"));
  assert.ok(c.keys.every((k) => k.key.includes(":age_page]")), JSON.stringify(c.keys));
});

Deno.test("compareRaces() shows #v3's RCU list freeing a notifier under a reader, and the grace period fixing it", () => {
  const races = compareRaces(scenarios, byId("mmun-v3"), byId("mmun-v3-rcu"));
  // 003_2df4b1807644edd0.txt, Andrea Arcangeli: "free the kvm structure after waiting a quiescent
  // point to avoid kernel crashing memory corruption after applying your changes".
  assert.deepEqual(races.map((r) => [r.scenario, r.from, r.to]), [
    ["race-unregister-dispatch", {}, { "use-after-free": "sometimes" }],
  ]);
  assert.deepEqual(
    compareRaces(scenarios, byId("mmun-v3-rcu"), byId("mmun-v3-rcu-grace")).map((r) => r.to),
    [{}],
  );
  const keys = compareRevisions(matrix, "mmun-v3", "mmun-v3-rcu").keys.map((k) => k.key);
  assert.deepEqual(keys, ["chain.list", "chain.register", "chain.release", "chain.unregister"]);
});
