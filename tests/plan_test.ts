/**
 * The report plan, tested once here: which revisions, cells, explorations
 * and cost table a report runs, from its options, on the shipped revisions
 * (whose `follows` and `candidate` fields, in `patches/*.json`, give the
 * lineages' order); and the model of a plan's results.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  analyseReport,
  loadRevisionDir,
  loadScenarioDir,
  planReport,
  runMatrix,
  shippedExpectations,
} from "../mod.ts";

const revisions = loadRevisionDir("patches");
const scenarios = loadScenarioDir("scenarios");
const ids = (rs: { id: string }[]) => rs.map((r) => r.id);

Deno.test("planReport() runs the lineages asked for, with their candidates", () => {
  const plan = planReport(revisions, scenarios, { lineages: ["hmm", "mmun"], races: false });
  assert.deepEqual(plan.lineages, ["hmm", "mmun"]);
  // patches/: hmm-range-lock follows hmm-sequence-retry; mmun-v8 follows mmun-v3, and four
  // candidates follow one of those two.
  assert.deepEqual(
    ids(plan.chosen).sort(),
    [
      "hmm-range-lock",
      "hmm-sequence-retry",
      "mmun-v3",
      "mmun-v3-rcu",
      "mmun-v3-rcu-grace",
      "mmun-v3-young-or",
      "mmun-v8",
      "mmun-v8-xpmem-step1",
    ],
  );
  assert.deepEqual(plan.shown, ids(plan.chosen));
  assert.equal(plan.races, undefined);
  assert.equal(plan.f8, undefined, "no 2.5.42 revision is shown");
  // Every 2.6.24 scenario on every revision chosen, scenario-major.
  const on2624 = scenarios.filter((s) => s.kernel === "2.6.24");
  assert.equal(plan.cells.length, on2624.length * plan.chosen.length);
  assert.deepEqual(
    plan.cells.slice(0, 2).map((c) => [c.scenario.id, c.revision.id]),
    [[on2624[0].id, plan.chosen[0].id], [on2624[0].id, plan.chosen[1].id]],
  );
});

Deno.test("planReport() runs the baseline and what it judges, shown or not", () => {
  const plan = planReport(revisions, scenarios, {
    lineages: ["hmm"],
    baseline: "emmu-v5",
    races: true,
    named: ["emmu-v2"],
  });
  assert.deepEqual(plan.shown, ["hmm-range-lock", "hmm-sequence-retry"]);
  // emmu-v5, the candidates that follow it (and emmu-v5-rmap-xip, which follows emmu-v5-rmap),
  // and emmu-v2, which the user named: after those shown, never emmu-v1, v3 or v4.
  assert.deepEqual(ids(plan.chosen).slice(2).sort(), [
    "emmu-v2",
    "emmu-v5",
    "emmu-v5-holt-guard",
    "emmu-v5-rmap",
    "emmu-v5-rmap-xip",
  ]);
  assert.equal(plan.baseline, "emmu-v5");
  assert.deepEqual(plan.named, ["emmu-v2"]);
  // The races are explored on the revisions shown only.
  assert.ok(plan.races!.pairs.length > 0);
  assert.deepEqual([...new Set(plan.races!.pairs.map((p) => p.revision.id))], plan.shown);
});

Deno.test("planReport() measures the costs on the first posted 2.5.42 revision shown", () => {
  const all = planReport(revisions, scenarios, { races: false });
  assert.equal(all.f8?.id, "nl-2.5.42-f8", "nl-2.5.42-f8 follows nothing and is posted");
  assert.equal(all.chosen.length, revisions.length);
  assert.deepEqual(all.lineages, ["emmu", "hmm", "mmun", "nonlinear", "reference"]);
  const emmu = planReport(revisions, scenarios, { lineages: ["emmu"], races: false });
  assert.equal(emmu.f8, undefined);
});

Deno.test("planReport() refuses an unknown lineage or baseline", () => {
  assert.throws(
    () => planReport(revisions, scenarios, { lineages: ["emu"], races: false }),
    /Unknown lineage "emu"/,
  );
  assert.throws(
    () => planReport(revisions, scenarios, { baseline: "emmu-v9", races: false }),
    /Unknown revision "emmu-v9"/,
  );
});

Deno.test("analyseReport() reports the lineages shown and judges the baseline's revisions", () => {
  const plan = planReport(revisions, scenarios, {
    lineages: ["hmm"],
    baseline: "emmu-v4",
    races: false,
  });
  const m = runMatrix(plan.scenarios, plan.chosen);
  assert.throws(
    () => analyseReport(plan, { outcomes: m.cells.slice(1), explorations: [] }),
    /The results hold \d+ outcomes for the plan's \d+ cells/,
  );
  const model = analyseReport(plan, { outcomes: m.cells, explorations: [] }, {
    blame: false,
    expect: shippedExpectations(),
  });
  assert.deepEqual(model.columns, [["hmm-sequence-retry", "hmm-range-lock"]]);
  // emmu-v4 regresses to emmu-v5 (expectations/emmu.json pins truncate-contended pass on v4 and
  // unbalanced-range on v5): the check runs though emmu is not shown.
  assert.deepEqual(model.baseline!.checked, [
    "emmu-v5",
    "emmu-v5-holt-guard",
    "emmu-v5-rmap",
    "emmu-v5-rmap-xip",
  ]);
  assert.ok(
    model.baseline!.regressions.some((r) =>
      r.scenario === "truncate-contended" && r.revision === "emmu-v5"
    ),
  );
  // The judgements are those of the cells shown: the hmm lineage's.
  assert.ok(model.judgements!.length > 0);
  assert.ok(model.judgements!.every((j) => j.revision.startsWith("hmm-")));
  assert.equal(model.costs, undefined);
});
