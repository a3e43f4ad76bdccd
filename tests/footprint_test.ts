/**
 * The footprints of `explore/_footprint.ts`: recording a step changes
 * nothing it does, and a footprint holds everything the step decides on, as
 * far as two steps whose footprints are independent must reach the same
 * state in either order. Checked at the first choice points of every race
 * scenario on every revision of its tree. And the sleep sets of the
 * partial-order reduction (`explore/_por.ts`), which go by them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { explore, loadRevisionDir, loadScenarioDir, Run, stateHash } from "../mod.ts";
import { cloneGraph, reachable } from "../src/explore/_graph.ts";
import { type Footprint, independent, pickRecorded, placeName } from "../src/explore/_footprint.ts";
import { digest } from "../src/model/state.ts";
import { asleep, pending } from "../src/explore/_por.ts";

const revisions = loadRevisionDir("patches");
const races = loadScenarioDir("scenarios").filter((s) => s.steps.some((st) => st.threads));

/** Choice points examined per race and revision (depth first, merged by state). */
const POINTS = 8;

/** Where a run goes next: its state hash at the next choice point, or how it ended. */
function onward(run: Run): string {
  return run.next() ? stateHash(run) : `end ${run.kinds().join(",")}|${digest(run.kernel.state)}`;
}

Deno.test("pickRecorded() runs a step as pick() does, and independent footprints commute", async (t) => {
  let total = 0;
  for (const s of races) {
    for (const r of revisions.filter((r) => r.base === s.kernel)) {
      await t.step(`${s.id} on ${r.id}`, () => {
        const first = new Run(s, r, { preemptive: true, trace: false });
        const shared = reachable(first.scenario, first.revision, first.opts, first.checkers);
        const copy = <T>(v: T): T => cloneGraph(v, shared);
        const seen = new Set<string>();
        const todo: Run[] = first.next() ? [first] : [];
        let pairs = 0;
        while (todo.length > 0 && seen.size < POINTS) {
          const at = todo.pop()!;
          const key = stateHash(at);
          if (seen.has(key)) continue;
          seen.add(key);
          const names = at.next()!;
          const fps = new Map<string, Footprint>();
          for (const name of names) {
            const plain = at.fork(copy);
            plain.pick(name);
            const viewed = at.fork(copy);
            const fp = pickRecorded(viewed, name, shared);
            fps.set(name, fp);
            assert.deepEqual(fp.aliases, [
              "run = run.kernel.observer",
              "run.chain = run.kernel.sink",
            ]);
            assert.ok(fp.reads.size > 0);
            assert.equal(onward(viewed), onward(plain), `${name} after ${key}`);
            if (plain.next()) todo.push(plain);
          }
          for (const [i, a] of names.entries()) {
            for (const b of names.slice(i + 1)) {
              if (!independent(fps.get(a)!, fps.get(b)!)) continue;
              pairs++;
              const ab = at.fork(copy);
              ab.pick(a);
              ab.pick(b);
              const ba = at.fork(copy);
              ba.pick(b);
              ba.pick(a);
              assert.equal(stateHash(ab), stateHash(ba), `${a} and ${b} after ${key}`);
            }
          }
        }
        // Every race has a choice point.
        assert.ok(seen.size > 0);
        total += pairs;
      });
    }
  }
  // Pairs of independent steps were found to commute (a check that could not fail on none).
  assert.ok(total > 100, `${total} independent pairs`);
});

Deno.test("pickRecorded() names each place by its path, and a copy-on-write copy writes nothing", () => {
  // race-wp-copy-refault on emmu-v5: cpu0's write fault breaks the COW of 0x100000 (page number
  // 256) in mm A, taking mmap_sem for reading first.
  const s = races.find((x) => x.id === "race-wp-copy-refault")!;
  const r = revisions.find((x) => x.id === "emmu-v5")!;
  const run = new Run(s, r, { preemptive: true, trace: false });
  const shared = reachable(run.scenario, run.revision, run.opts, run.checkers);
  const writes = new Set<string>();
  const reads = new Set<string>();
  const adds = new Set<string>();
  // Every step of cpu0 until it stops at a choice point it cannot pass, forced steps included.
  const step = (name: string) => {
    const fp = pickRecorded(run, name, shared);
    if (name !== "cpu0") return;
    for (const w of fp.writes) writes.add(placeName(w));
    for (const x of fp.reads) reads.add(placeName(x));
    for (const x of fp.adds) adds.add(placeName(x));
  };
  for (let names = run.next(step); names?.includes("cpu0"); names = run.next(step)) step("cpu0");
  assert.ok(writes.has("run.kernel.state.mms.A.ptes.256"));
  // down_read(): the reader's own count, and a key added to the lock's readers, whose order no
  // one reads; the fault count is only added to.
  assert.ok(writes.has("run.kernel.sharers.mmap_sem:A.cpu0"));
  assert.ok(adds.has("run.kernel.sharers.mmap_sem:A.#keys"));
  assert.ok(adds.has("run.kernel.state.counters.faults"));
  assert.ok(!reads.has("run.kernel.state.counters.faults"));
  assert.ok(reads.has("run.kernel.state.mms.A.vmas.0.start"));
  assert.ok([...writes].some((w) => w.startsWith("run.cur.threads.cpu0.")));
  // The container of ptes is replaced by its copy before the first write after a copy of the
  // run: no step writes the container itself.
  assert.ok(!writes.has("run.kernel.state.mms.A.ptes"));
  assert.ok(!writes.has("run.kernel.state.pages"));
});

Deno.test("asleep(): a thread stays asleep after a transition only while its next step commutes with every step of it", () => {
  const ev = (
    thread: string,
    reads: number[],
    writes: number[],
    adds: number[] = [],
    step = 3,
  ) => ({
    step,
    thread,
    reads: new Set(reads),
    writes: new Set(writes),
    adds: new Set(adds),
    waits: false,
  });
  // cpu1 was explored before at the choice point, drv sleeps there already.
  const done = new Map([["cpu1", ev("cpu1", [1], [2], [9])]]);
  const sleep = new Map([["drv", ev("drv", [5], [6])]]);
  // cpu0 reads 1 and adds to 9, as cpu1 does: both commute with it, and stay asleep.
  assert.deepEqual([...asleep([sleep, done], [ev("cpu0", [1, 7], [8], [9])]).keys()], [
    "drv",
    "cpu1",
  ]);
  // A step forced after the pick writes what drv reads: drv wakes.
  assert.deepEqual(
    [...asleep([sleep, done], [ev("cpu0", [1], [8]), ev("cpu2", [], [5])]).keys()],
    ["cpu1"],
  );
  // cpu0 reads 9, to which cpu1 adds: cpu1 wakes.
  assert.deepEqual([...asleep([sleep, done], [ev("cpu0", [9], [])]).keys()], ["drv"]);
  // drv itself runs (forced), or a step of the next scenario step runs: it wakes.
  assert.deepEqual([...asleep([sleep], [ev("cpu0", [], []), ev("drv", [], [])]).keys()], []);
  assert.deepEqual([...asleep([sleep], [ev("cpu0", [], [], [], 4)]).keys()], []);
  // A step of a thread that waits for others to move, or one a run cut short left to come, is
  // dependent on every other thread's: it wakes every thread, whatever it touches.
  assert.deepEqual([...asleep([sleep, done], [{ ...ev("cpu0", [], []), waits: true }]).keys()], []);
  assert.deepEqual([...asleep([sleep, done], [ev("cpu0", [], []), pending(3, "cpu2")]).keys()], []);
});

Deno.test("explore() with the partial-order reduction takes fewer transitions than merging alone has states", () => {
  // race-unregister-walk on emmu-v2: merging alone enters 19 states (38 transitions). The
  // reduction with sleep sets takes 16 transitions: a thread tried at a choice point sleeps
  // through the other thread's steps after it that commute with its own, so some states are
  // entered once only or not at all. Without sleep sets it took 22.
  const s = races.find((x) => x.id === "race-unregister-walk")!;
  const r = revisions.find((x) => x.id === "emmu-v2")!;
  const merged = explore(s, r, { finals: true, reuse: false });
  const reduced = explore(s, r, { finals: true, reuse: false, partialOrder: true });
  assert.equal(reduced.partialOrder, true);
  assert.ok(reduced.runs < merged.states, `${reduced.runs} against ${merged.states}`);
  assert.deepEqual(reduced.finals, merged.finals);
  assert.deepEqual(reduced.verdicts, merged.verdicts);
});
