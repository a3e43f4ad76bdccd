import assert from "node:assert/strict";
import { explore, loadRevisionDir, loadScenario, type Revision } from "../mod.ts";
import { ReadRecorder, satisfies } from "../src/run/_reads.ts";

/** A graph, and a computation that reads some of it through a recorder's view. */
function recorded() {
  const graph = {
    a: 1,
    b: { c: 2, d: 3 },
    list: [10, 20, 30],
    note: "unread",
    deep: { x: { y: 1 } },
  };
  const rec = new ReadRecorder(graph);
  const v = rec.root;
  const seen = [v.a, v.b.c, v.list.length, v.list[0], "z" in v, Object.keys(v.b).join()];
  return { graph, log: rec.log(), seen };
}

Deno.test("ReadRecorder views the graph as it is", () => {
  const { seen } = recorded();
  assert.deepEqual(seen, [1, 2, 3, 10, false, "c,d"]);
});

Deno.test("satisfies() accepts a graph that answers every recorded read the same way", () => {
  const { graph, log } = recorded();
  assert.ok(satisfies(log, graph));
  assert.ok(satisfies(log, structuredClone(graph)));
  // What the computation did not read may differ.
  const other = structuredClone(graph);
  other.note = "changed";
  other.list[1] = 99;
  other.deep.x.y = 2;
  assert.ok(satisfies(log, other));
});

Deno.test("satisfies() refuses a graph that answers one recorded read differently", async (t) => {
  const { graph, log } = recorded();
  const cases: [string, (g: Record<string, unknown>) => void][] = [
    ["a value read", (g) => g.a = 2],
    ["a value read below the root", (g) => (g.b as { c: number }).c = 5],
    ["a length read", (g) => (g.list as number[]).push(40)],
    ["a key it found absent", (g) => g.z = 0],
    ["a key list it read", (g) => (g.b as Record<string, number>).e = 5],
    ["an object it read into", (g) => g.b = 7],
    [
      "an array it read into, now a record with the same entries",
      (g) => g.list = { ...g.list as number[], length: 3 },
    ],
  ];
  for (const [what, change] of cases) {
    await t.step(what, () => {
      const other = structuredClone(graph) as unknown as Record<string, unknown>;
      change(other);
      assert.equal(satisfies(log, other), false);
    });
  }
});

Deno.test("satisfies() refuses a graph that aliases where the recorded one did not, and the reverse", () => {
  const shared = { k: 1 };
  const aliased = { x: shared, y: shared };
  const rec = new ReadRecorder(aliased);
  assert.equal(rec.root.x === rec.root.y, true);
  const log = rec.log();
  assert.ok(satisfies(log, structuredClone(aliased)));
  assert.equal(satisfies(log, { x: { k: 1 }, y: { k: 1 } }), false);

  const apart = { x: { k: 1 }, y: { k: 1 } };
  const rec2 = new ReadRecorder(apart);
  assert.equal(rec2.root.x === rec2.root.y, false);
  assert.equal(satisfies(rec2.log(), aliased), false);
  assert.ok(satisfies(rec2.log(), structuredClone(apart)));
});

Deno.test("ReadRecorder refuses writes into the graph", () => {
  const rec = new ReadRecorder({ a: 1, b: { c: 2 } });
  const v = rec.root as { a: number; b: { c: number; e?: number } };
  assert.throws(() => v.a = 2, TypeError);
  assert.throws(() => v.b.e = 2, TypeError);
  assert.throws(() => delete (v as Partial<typeof v>).a, TypeError);
});

/**
 * `revision` behind a proxy that counts reads of its `paths`: every run
 * reads them, and checking a kept exploration reads them once.
 */
function counted(revision: Revision): { revision: Revision; reads: () => number } {
  let n = 0;
  const proxy = new Proxy(revision, {
    get(t, key) {
      if (key === "paths") n++;
      return Reflect.get(t, key);
    },
  });
  return { revision: proxy, reads: () => n };
}

const revisions = loadRevisionDir("patches");

Deno.test("explore() reuses an exploration on a revision that reads the same, under that revision's id and reproducers", () => {
  const s = loadScenario("scenarios/race-unregister-dispatch.json");
  const v2 = revisions.find((r) => r.id === "emmu-v2")!;
  const first = explore(s, v2);
  assert.ok(first.verdicts["use-after-free"], "a counterexample to reproduce");
  // The same code under another name and file: nothing a run reads differs.
  const copy: Revision = {
    ...structuredClone(v2),
    id: "emmu-v2-copy",
    title: "a copy",
    file: "elsewhere/emmu-v2-copy.json",
    sources: [{ file: "elsewhere/emmu-v2-copy.json" }],
  };
  const fresh = explore(s, copy, { reuse: false });
  const c = counted(copy);
  const again = explore(s, c.revision);
  assert.equal(c.reads(), 1, "checked against the kept exploration, not run");
  assert.deepEqual(again, fresh);
  assert.equal(again.revision, "emmu-v2-copy");
  assert.match(again.counterexamples["use-after-free"]!.replay, /emmu-v2-copy/);
  assert.notDeepEqual(again.counterexamples, first.counterexamples);
});

Deno.test("explore() explores afresh on a revision that reads one value differently", () => {
  const s = loadScenario("scenarios/race-unregister-dispatch.json");
  const v2 = revisions.find((r) => r.id === "emmu-v2")!;
  const mainline = revisions.find((r) => r.id === "mainline-2.6.27")!;
  explore(s, v2);
  // emmu-v2 with 2.6.27's notifier chain, which unregisters otherwise: the race reads that.
  assert.notEqual(mainline.chain.unregister, v2.chain.unregister);
  const hybrid: Revision = {
    ...structuredClone(v2),
    id: "emmu-v2-chain-2.6.27",
    chain: structuredClone(mainline.chain),
  };
  const c = counted(hybrid);
  const got = explore(s, c.revision);
  assert.ok(c.reads() > 1, "explored");
  assert.deepEqual(got, explore(s, hybrid, { reuse: false }));
});

Deno.test("ReadRecorder logs what a getter of the graph reads", () => {
  const graph = {
    base: 2,
    get twice() {
      return this.base * 2;
    },
  };
  const rec = new ReadRecorder(graph);
  assert.equal(rec.root.twice, 4);
  // The same value of `twice`, but not the `base` the getter read.
  const other = {
    base: 3,
    get twice() {
      return 4;
    },
  };
  assert.equal(satisfies(rec.log(), other), false);
  assert.ok(satisfies(rec.log(), { ...other, base: 2 }));
});
