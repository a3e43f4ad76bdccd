import assert from "node:assert/strict";
import {
  explore,
  loadRevisionDir,
  loadScenarioDir,
  replaySchedule,
  Run,
  runScenario,
  stateHash,
} from "../mod.ts";

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

Deno.test("explore() reaches the same endings in both search orders", async (t) => {
  for (const s of races) {
    for (const r of revisions.filter((r) => r.base === s.kernel)) {
      await t.step(`${s.id} on ${r.id}`, () => {
        const on = explore(s, r, { finals: true });
        const reversed = explore(s, r, { reverse: true, finals: true });
        assert.equal(reversed.status, "complete");
        assert.deepEqual(reversed.finals, on.finals);
        assert.deepEqual(reversed.verdicts, on.verdicts);
        for (const [kind, c] of Object.entries(on.counterexamples)) {
          const other = reversed.counterexamples[kind as keyof typeof on.counterexamples]!;
          assert.equal(c!.schedule.length, other.schedule.length);
        }
      });
    }
  }
});

Deno.test("explore() reaches the same endings with and without merging", async (t) => {
  for (const s of races) {
    for (const r of lineageOf(s)) {
      await t.step(`${s.id} on ${r.id}`, () => {
        const on = explore(s, r, { finals: true });
        const off = explore(s, r, { reduction: false, finals: true });
        const reversed = explore(s, r, { reduction: false, reverse: true, finals: true });
        assert.equal(off.status, "complete");
        // Each ending: its violation kinds and the digest of its final state.
        assert.deepEqual(on.finals, off.finals);
        assert.deepEqual(reversed.finals, off.finals);
        assert.deepEqual(on.verdicts, off.verdicts);
        assert.deepEqual(reversed.verdicts, off.verdicts);
        assert.ok(on.states <= off.states && on.schedules <= off.schedules);
        for (const [kind, c] of Object.entries(on.counterexamples)) {
          assert.equal(
            c!.schedule.length,
            off.counterexamples[kind as keyof typeof off.counterexamples]!.schedule.length,
          );
        }
      });
    }
  }
});

/** The state hash after following `schedule` from the start, and the outcome it goes on to. */
function stateAfter(sid: string, rid: string, schedule: string[]) {
  const s = scenarios.find((x) => x.id === sid)!;
  const r = revisions.find((x) => x.id === rid)!;
  const run = new Run(s, r, { preemptive: true, trace: false });
  for (const name of schedule) {
    assert.ok(run.next()?.includes(name), `${name} can run`);
    run.pick(name);
  }
  assert.ok(run.next(), "a choice point");
  return { hash: stateHash(run), kinds: run.finish().kinds };
}

Deno.test("stateHash() tells apart dispatch's copy of the notifier list from the list", () => {
  // Two schedules of race-unregister-dispatch on emmu-v2 that the replaying explorer merged:
  // the walk in the first still holds kvm0 in its copy of the list when the driver frees it.
  const a = stateAfter("race-unregister-dispatch", "emmu-v2", [
    "cpu0",
    "cpu0",
    "cpu0",
    "cpu0",
    "drv",
    "drv",
  ]);
  const b = stateAfter("race-unregister-dispatch", "emmu-v2", [
    "cpu0",
    "cpu0",
    "cpu0",
    "drv",
    "drv",
    "cpu0",
  ]);
  assert.notEqual(a.hash, b.hash);
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
