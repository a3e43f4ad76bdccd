import assert from "node:assert/strict";
import { explore, loadRevisionDir, loadScenarioDir, replaySchedule, runScenario } from "../mod.ts";

const revisions = loadRevisionDir("patches");
const scenarios = loadScenarioDir("scenarios");
const races = scenarios.filter((s) => s.steps.some((st) => st.threads));
const pinned: Record<string, Record<string, { verdicts: Record<string, string>; cite: string }>> =
  JSON.parse(
    Deno.readTextFileSync(new URL("./expected_races.json", import.meta.url)),
  );

Deno.test("expected_races.json pins every race scenario", () => {
  assert.deepEqual(Object.keys(pinned).sort(), races.map((s) => s.id).sort());
});

for (const s of races) {
  for (const r of revisions.filter((r) => r.base === s.kernel)) {
    const e = pinned[s.id][r.id] ?? pinned[s.id].default;
    Deno.test(`explore() reaches the pinned verdicts for ${s.id} on ${r.id}`, () => {
      const res = explore(s, r);
      assert.equal(res.status, "complete");
      assert.deepEqual(res.verdicts, e.verdicts, `pinned from: ${e.cite}`);
    });
  }
}

/** The revisions a race scenario is about: the HMM lineage for mirror races, every revision otherwise. */
function lineageOf(s: (typeof races)[number]) {
  const hmm = s.secondaries.some((x) => x.driver === "hmm");
  return revisions.filter((r) => r.base === s.kernel && (!hmm || r.lineage === "hmm"));
}

Deno.test("explore() gives the same verdicts with the reduction off, and explores fewer states with it on", async (t) => {
  for (const s of races) {
    for (const r of lineageOf(s)) {
      await t.step(`${s.id} on ${r.id}`, () => {
        const on = explore(s, r);
        const off = explore(s, r, { reduction: false });
        assert.equal(off.status, "complete");
        assert.deepEqual(on.verdicts, off.verdicts);
        assert.deepEqual(on.endings, off.endings);
        assert.ok(on.states <= off.states && on.schedules <= off.schedules);
      });
    }
  }
});

Deno.test("replaySchedule() reproduces every counterexample on a single schedule", async (t) => {
  for (const s of races) {
    for (const r of revisions.filter((r) => r.base === s.kernel)) {
      const res = explore(s, r);
      for (const [kind, c] of Object.entries(res.counterexamples)) {
        await t.step(`${kind} in ${s.id} on ${r.id}`, () => {
          const { outcome } = replaySchedule(s, r, c!.schedule);
          assert.ok(outcome.kinds.includes(kind as never), `${c!.replay} gave [${outcome.kinds}]`);
          assert.match(c!.replay, new RegExp(`^deno task run ${s.id} ${r.id} --schedule `));
        });
      }
    }
  }
});

Deno.test("explore() of a scenario without threads is its single schedule", () => {
  const s = scenarios.find((x) => x.id === "wp-reuse-after-fork")!;
  const r = revisions.find((x) => x.id === "emmu-v5")!;
  const res = explore(s, r);
  assert.equal(res.schedules, 1);
  assert.equal(res.states, 0);
  assert.deepEqual(res.endings, [runScenario(s, r).kinds]);
  assert.deepEqual(res.verdicts, { "no-progress": "always", "unbalanced-range": "always" });
});

Deno.test("explore() reports a run bound it hits as bounded", () => {
  const s = races.find((x) => x.id === "race-wp-copy-refault")!;
  const r = revisions.find((x) => x.id === "emmu-v5")!;
  assert.equal(explore(s, r, { maxRuns: 3 }).status, "bounded");
});
