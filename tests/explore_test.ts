import assert from "node:assert/strict";
import {
  explore,
  loadRevisionDir,
  loadScenarioDir,
  parseScenario,
  replaySchedule,
  Run,
  runScenario,
  stateHash,
} from "../mod.ts";
import { cloneGraph, hashGraph, reachable } from "../src/explore/_graph.ts";
import { reused } from "../src/run/reuse.ts";
import { storm } from "../bench/_scenarios.ts";
import { main as sweep } from "../tools/soundness_sweep.ts";
import { canonicalJson, freezeValue } from "../src/model/state.ts";
import { cow } from "../src/model/_cow.ts";

const revisions = loadRevisionDir("patches");
const scenarios = loadScenarioDir("scenarios");
const races = scenarios.filter((s) => s.steps.some((st) => st.threads));
const pinned: Record<string, Record<string, { verdicts: Record<string, string>; cite: string }>> =
  JSON.parse(
    Deno.readTextFileSync(new URL("../expectations/races.json", import.meta.url)),
  );

/** Each race explored once with the default options (and its final digests), shared by the tests below. */
const explored = new Map<string, ReturnType<typeof explore>>();
function exploreOnce(s: (typeof races)[number], r: (typeof revisions)[number]) {
  const key = `${s.id}\n${r.id}`;
  if (!explored.has(key)) explored.set(key, explore(s, r, { finals: true }));
  return explored.get(key)!;
}

Deno.test("expectations/races.json pins every race scenario", () => {
  assert.deepEqual(Object.keys(pinned).sort(), races.map((s) => s.id).sort());
});

for (const s of races) {
  for (const r of revisions.filter((r) => r.base === s.kernel)) {
    const e = pinned[s.id][r.id] ?? pinned[s.id].default;
    Deno.test(`explore() reaches the pinned verdicts for ${s.id} on ${r.id}`, () => {
      const res = exploreOnce(s, r);
      assert.equal(res.status, "complete");
      assert.deepEqual(res.verdicts, e.verdicts, `pinned from: ${e.cite}`);
    });
  }
}

/**
 * The largest tree the soundness check walks whole without merging, in
 * transitions (`unmergedRuns` of the merged exploration says how many it
 * takes before the walk).
 */
const UNMERGED_RUNS = 20_000;

/**
 * The largest tree walked without merging where a race is not about the
 * revision, and the transitions of a larger tree walked where it is (its
 * first ones in search order).
 */
const UNMERGED_PART = 2_000;

/**
 * Whether a race is about a revision: a mirror race is about the HMM
 * lineage, any other race about every revision of its tree. Elsewhere a
 * mirror race is walked without merging only where its tree is small
 * (race-hmm-reclaim takes up to 17,000 transitions on each 2.6 revision,
 * the storm of invalidations millions).
 */
function about(s: (typeof races)[number], r: (typeof revisions)[number]): boolean {
  return !s.secondaries.some((x) => x.driver === "hmm") || r.lineage === "hmm";
}

/**
 * Asserts that `other` found what `on` found: complete, the same endings (each its violation
 * kinds and the digest of its final state), the same verdicts, and shortest counterexamples of
 * the same length: as many steps and choices (with the partial-order reduction, which runs one
 * order of each set of commuting steps: as many steps, no fewer choices, and reaching their kind).
 */
function assertSameEndings(
  on: ReturnType<typeof explore>,
  other: ReturnType<typeof explore>,
  s: (typeof races)[number],
  r: (typeof revisions)[number],
) {
  assert.equal(other.status, "complete");
  assert.deepEqual(other.finals, on.finals);
  assert.deepEqual(other.verdicts, on.verdicts);
  for (const [kind, c] of Object.entries(on.counterexamples)) {
    const o = other.counterexamples[kind as keyof typeof on.counterexamples]!;
    assert.equal(o.steps.length, c!.steps.length, `steps of the shortest ${kind}`);
    if (other.partialOrder) {
      // Another order of the same steps may pass more choice points.
      assert.ok(o.schedule.length >= c!.schedule.length, `choices of the shortest ${kind}`);
      assert.ok(
        replaySchedule(s, r, o.schedule).outcome.kinds.some((k) => k === kind),
        `replays ${kind}`,
      );
    } else assert.equal(o.schedule.length, c!.schedule.length, `choices of the shortest ${kind}`);
  }
}

Deno.test("explore() reaches the same endings with and without merging, with and without the partial-order reduction, in both search orders, and reused as made afresh", async (t) => {
  // Explorations reused from another revision's, each checked against one made afresh.
  let taken = 0;
  // Transitions with the reduction and with merging alone, over every race and revision.
  let reducedRuns = 0, mergedRuns = 0;
  /** The cells walked in part without merging, and the number of others not walked (nor reused). */
  const tooLarge: string[] = [];
  let outside = 0;
  for (const s of races) {
    for (const r of revisions.filter((r) => r.base === s.kernel)) {
      await t.step(`${s.id} on ${r.id}`, () => {
        // The exploration as the report makes it: reused from another revision's where this
        // one reads the same. It is the exploration made afresh, field for field.
        const on = exploreOnce(s, r);
        if (reused(on)) {
          taken++;
          assert.deepEqual(on, explore(s, r, { finals: true, reuse: false }));
        }
        // The other search order, with the partial-order reduction on top of merging (reused from
        // another revision's where this one reads the same, which the check above covers).
        const reduced = explore(s, r, { reverse: true, partialOrder: true, finals: true });
        // Summed below: a state reached again with a sleep set that does not hold the one it was
        // explored with is explored again, and where a thread retries the step's point count is
        // keyed, so one exploration may take a few more transitions than merging alone.
        reducedRuns += reduced.runs;
        mergedRuns += on.runs;
        const others = [reduced];
        // Merging nothing is the ground truth of what merging leaves out, walked whole where it
        // takes at most UNMERGED_RUNS transitions (UNMERGED_PART where the race is not about the
        // revision): the merged search counted them on its graph, and the walk takes exactly that
        // many. In part where the tree is larger and the race is about the revision. Not where
        // the exploration is reused: it is the exploration afresh (above) and the one of a
        // revision that answers every read the same, which reaches the same states, so its walk
        // without merging is that revision's, checked on that revision's cell.
        assert.equal(on.status, "complete");
        const limit = about(s, r) ? UNMERGED_RUNS : UNMERGED_PART;
        const whole = on.unmergedRuns! <= limit;
        const off = reused(on) || !(whole || about(s, r)) ? null : explore(s, r, {
          reduction: false,
          finals: true,
          reuse: false,
          maxRuns: whole ? limit : UNMERGED_PART,
        });
        if (off?.status === "complete") {
          assert.equal(off.runs, on.unmergedRuns, "runs without merging");
          assert.ok(on.states <= off.states && on.schedules <= off.schedules);
          others.push(off);
        } else if (!reused(on)) {
          // Too large to walk unmerged: every ending of the schedules it walked is one the merged
          // search found, and the key with every part of the run, history included, merges fewer
          // states and must find the same endings. (A reused exploration is the one its revision
          // made, which is checked on that revision's cell.)
          for (const f of off?.finals ?? []) assert.ok(on.finals!.includes(f), `unmerged: ${f}`);
          if (off) {
            assert.ok(!whole && off.status === "bounded");
            tooLarge.push(`${s.id} on ${r.id}: ${on.unmergedRuns}`);
          } else outside++;
          const full = explore(s, r, { fullKey: true, finals: true, reuse: false });
          assert.ok(on.states <= full.states);
          others.push(full);
        }
        for (const other of others) assertSameEndings(on, other, s, r);
      });
    }
  }
  assert.ok(taken >= 50, `${taken} reused`);
  // The races of their lineage too large to walk unmerged in a test (BENCHMARKS.md, "task test"),
  // with the transitions a walk would take: race-exit-reclaim on emmu-v2 to v4 (since reclaim
  // writes the page out and takes its lock again) and the storm of invalidations.
  assert.deepEqual(tooLarge, [
    "race-exit-reclaim on emmu-v2: 70840",
    "race-exit-reclaim on emmu-v3: 70840",
    "race-exit-reclaim on emmu-v4: 70840",
    "race-hmm-snapshot-storm on hmm-sequence-retry: 140072",
  ]);
  // Mirror races on 2.6 revisions, not reused from another's, with trees over UNMERGED_PART and so
  // not walked unmerged: race-hmm-reclaim on eleven, race-hmm-snapshot-storm on seven.
  assert.equal(outside, 18);
  // Over every race, the reduction takes at least a tenth fewer transitions than merging alone
  // (in the reversed order: about a quarter fewer; BENCHMARKS.md has the factors).
  assert.ok(reducedRuns <= 0.9 * mergedRuns, `${reducedRuns} against ${mergedRuns}`);
});

Deno.test("explore() with the partial-order reduction reaches every ending where threads retry", async (t) => {
  // The growth rows of BENCHMARKS.md (bench/_scenarios.ts): a device snapshot retries while CPUs
  // invalidate the page. Taking only the last race of each step missed the ending
  // list-corruption,no-progress on hmm-range-lock, 2 CPUs x 2 and 3 x 1.
  const rows: [string, number, number][] = [
    ["hmm-range-lock", 2, 2],
    ["hmm-range-lock", 3, 1],
    ["hmm-sequence-retry", 2, 2],
  ];
  for (const [rid, threads, n] of rows) {
    await t.step(`${rid}, ${threads} threads x ${n}`, () => {
      const s = storm(parseScenario, threads, n);
      const r = revisions.find((x) => x.id === rid)!;
      const on = explore(s, r, { finals: true, reuse: false });
      const reduced = explore(s, r, { finals: true, reuse: false, partialOrder: true });
      assert.equal(reduced.partialOrder, true);
      assertSameEndings(on, reduced, s, r);
    });
  }
});

/**
 * Every schedule of `s` on `r`, each run afresh from the start (no copies, no merging): for each
 * violation kind, the fewest readable steps (the points the race's threads reach) of a schedule
 * reaching it, and the fewest choices among those.
 */
function shortestByReplay(s: (typeof races)[number], r: (typeof revisions)[number]) {
  const best = new Map<string, [number, number]>();
  const todo: string[][] = [[]];
  let runs = 0;
  while (todo.length > 0) {
    const prefix = todo.pop()!;
    const taken: string[] = [];
    let steps = 0;
    const run = new Run(s, r, {
      preemptive: true,
      trace: false,
      onPoint: (i) => {
        if (s.steps[i].threads || s.steps[i].during) steps++;
      },
    });
    run.complete((enabled) => {
      const want = prefix[taken.length];
      const t = want === undefined ? enabled[0] : enabled.find((e) => e.name === want)!;
      // A choice point past the prefix: every other thread is a schedule of its own.
      if (want === undefined) { for (const e of enabled.slice(1)) todo.push([...taken, e.name]); }
      taken.push(t.name);
      return t;
    });
    runs++;
    for (const kind of run.outcome().kinds) {
      const b = best.get(kind);
      if (!b || steps < b[0] || (steps === b[0] && taken.length < b[1])) {
        best.set(kind, [steps, taken.length]);
      }
    }
  }
  return { best, runs };
}

Deno.test("explore() reports the counterexample with the fewest steps, then the fewest choices", async (t) => {
  // Where the fewest steps and the fewest choices are different schedules (the sleep in atomic
  // context of emmu-v1's registration, 3 steps over 3 choices against 5 over 2; the unbalanced
  // range of the HMM revisions, 7 over 7 against 8 over 4; the list corruption of emmu-v5's
  // exit, 8 over 9 against 9 over 9), checked against every schedule run afresh.
  const cases: [string, string][] = [
    ["race-register-truncate", "emmu-v1"],
    ["race-unregister-dispatch", "hmm-range-lock"],
    ["race-unregister-walk", "hmm-sequence-retry"],
    ["race-exit-reclaim", "emmu-v5"],
  ];
  for (const [sid, rid] of cases) {
    await t.step(`${sid} on ${rid}`, () => {
      const s = races.find((x) => x.id === sid)!;
      const r = revisions.find((x) => x.id === rid)!;
      const { best, runs } = shortestByReplay(s, r);
      const res = explore(s, r, { reuse: false });
      assert.equal(runs, explore(s, r, { reduction: false, reuse: false }).schedules);
      assert.deepEqual(Object.keys(res.counterexamples).sort(), [...best.keys()].sort());
      for (const [kind, c] of Object.entries(res.counterexamples)) {
        assert.deepEqual([c!.steps.length, c!.schedule.length], best.get(kind), kind);
      }
    });
  }
});

Deno.test("explore() merges soundly when the step bound decides endings", async (t) => {
  // The memo key leaves out the step's point count. With a bound of a few points runs hit it
  // (the search then keys the count), and on race-hmm-reclaim with 20 points no run of the
  // merged search hits it but a schedule of the unmerged one does: the merged search must see
  // that from its summaries.
  const cases: [string, string, number][] = [
    ["race-hmm-reclaim", "emmu-v1", 20],
    ["race-hmm-snapshot-storm", "hmm-range-lock", 12],
    ["race-unregister-dispatch", "emmu-v1", 8],
  ];
  for (const [sid, rid, stepBound] of cases) {
    await t.step(`${sid} on ${rid}, ${stepBound} points a step`, () => {
      const s = races.find((x) => x.id === sid)!;
      const r = revisions.find((x) => x.id === rid)!;
      const on = explore(s, r, { stepBound, finals: true, reuse: false });
      const off = explore(s, r, { stepBound, finals: true, reduction: false, reuse: false });
      assert.ok(off.finals!.some((f) => f.split("|")[0].split(",").includes("no-progress")));
      assert.ok(on.states < off.states);
      assertSameEndings(on, off, s, r);
    });
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

Deno.test("Run.fork() shares the frozen ptes, pages, their containers and the threads' stacks, which the forked runs never change", () => {
  const s = scenarios.find((x) => x.id === "race-wp-copy-refault")!;
  const r = revisions.find((x) => x.id === "emmu-v5")!;
  const run = new Run(s, r, { preemptive: true, trace: false });
  const names = run.next()!;
  assert.ok(names.length > 1, "a choice point");
  const state = run.kernel.state;
  const records = [
    ...Object.values(state.pages),
    ...Object.values(state.mms).flatMap((mm) => Object.values(mm.ptes)),
  ];
  assert.ok(records.length > 0 && records.every((x) => Object.isFrozen(x)), "frozen records");
  const before = canonicalJson(state);
  const shared = reachable(run.scenario, run.revision, run.opts, run.checkers);
  const pages = state.pages;
  const forks = names.map((name) => {
    const child = run.fork((v) => cloneGraph(v, shared));
    assert.equal(child.kernel.state.pages, pages, "the container is shared, not copied");
    assert.ok(Object.isFrozen(pages), "and frozen");
    const stacks = (r: Run) => r.threads.map((t) => (t as unknown as { stack: unknown }).stack);
    child.pick(name);
    stacks(child).forEach((stack, i) => {
      const shares = stack === stacks(run)[i];
      assert.equal(
        shares,
        run.threads[i].name !== name,
        "only the thread that ran copied its stack",
      );
    });
    child.finish();
    assert.notEqual(child.kernel.state.pages, pages, "a write replaced it on its own side");
    return canonicalJson(child.kernel.state);
  });
  assert.equal(state.pages, pages);
  assert.equal(canonicalJson(state), before, "the parent's world is as it was");
  assert.ok(forks.some((f) => f !== before), "a forked run changed its own world");
});

Deno.test("hashGraph() hashes a container of frozen records by value, frozen or not, and refuses a mutable record in it", () => {
  const hash = (x: unknown) => hashGraph(x, new Map());
  const pte = () => freezeValue({ t: "present", pfn: 1, write: false });
  const ptes = () => cow({ 1: pte(), 2: pte() });
  assert.equal(hash({ a: ptes() }), hash({ a: Object.freeze(ptes()) }), "frozen or not");
  assert.equal(hash({ a: ptes(), b: ptes() }), hash({ a: ptes(), b: ptes() }));
  assert.notEqual(hash({ a: ptes() }), hash({ a: cow({ 1: pte(), 2: pte(), 3: pte() }) }));
  assert.notEqual(
    hash({ a: ptes() }),
    hash({ a: cow({ 1: pte(), 2: freezeValue({ ...pte(), write: true }) }) }),
  );
  assert.throws(() => hash({ a: cow({ 1: { ...pte() } }) }), TypeError);
});

Deno.test("replaySchedule() reproduces every counterexample on a single schedule", async (t) => {
  for (const s of races) {
    for (const r of revisions.filter((r) => r.base === s.kernel)) {
      const res = exploreOnce(s, r);
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
  assert.equal(explore(s, r, { maxRuns: 1 }).status, "bounded");
});

Deno.test("deno task soundness walks a race whole without merging on each revision that explores it, and agrees", () => {
  // tools/soundness_sweep.ts, on one small race (BENCHMARKS.md, "Every race walked without
  // merging", has the whole sweep): one line a cell, then the closing line.
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) };
  assert.equal(sweep(["--scenario", "race-wp-copy-refault"], io), 0);
  const own = revisions.filter((r) => r.base === "2.6.24").length;
  const cells = out.slice(0, -1);
  assert.ok(cells.length >= 1 && cells.length <= own, out.join("\n"));
  for (const line of cells) {
    assert.match(line, /^agrees {2}race-wp-copy-refault on \S+: \d+ transitions/);
  }
  assert.match(
    out[out.length - 1],
    new RegExp(`^${cells.length} cells walked whole .* 0 disagree`),
  );
  assert.deepEqual(err, []);
  // Bad arguments: exit 2, what is wrong and the usage, nothing walked.
  for (const args of [["--shard", "3/2"], ["--min", "-1"], ["--scenario", "nope"], ["--bogus"]]) {
    out.length = err.length = 0;
    assert.equal(sweep(args, io), 2, args.join(" "));
    assert.deepEqual(out, []);
    assert.equal(err.length, 2);
    assert.match(err[1], /^usage: deno task soundness/);
  }
});
