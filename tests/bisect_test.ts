import assert from "node:assert/strict";
import {
  bisect,
  diffConfig,
  formatBisect,
  lineageOrder,
  lineages,
  loadRevisionDir,
  loadScenarioDir,
  type Matrix,
  runMatrix,
} from "../mod.ts";
import { matrix, outcome, revision } from "./_fixtures.ts";

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((k) => b.includes(k));

Deno.test("bisect() finds the first verdict change along every lineage of the real matrix", async (t) => {
  const m: Matrix = runMatrix(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
  for (const lineage of lineages(m.revisions)) {
    const { order } = lineageOrder(m.revisions, lineage);
    await t.step(lineage, () => {
      for (const s of m.scenarios) {
        const b = bisect(m, lineage, s.id);
        assert.deepEqual(b.steps.map((x) => x.revision), order);
        const base = b.steps[0].kinds;
        if (b.first === undefined) {
          assert.ok(b.steps.every((x) => same(x.kinds, base)), `${s.id}: kinds change unreported`);
          assert.equal(b.last, order[order.length - 1]);
          assert.match(formatBisect(b), /no verdict change/);
          continue;
        }
        const i = order.indexOf(b.first);
        assert.ok(i > 0, `${s.id}: first is not after the lineage's first revision`);
        assert.equal(b.last, order[i - 1]);
        assert.ok(b.steps.slice(0, i).every((x) => same(x.kinds, base)));
        assert.ok(!same(b.steps[i].kinds, base));
        assert.equal(b.change, b.added.length ? "regression" : "fix");
        assert.deepEqual(b.labels, b.change === "regression" ? ["good", "bad"] : ["bad", "good"]);
        const rev = (id: string) => m.revisions.find((r) => r.id === id)!;
        assert.deepEqual(b.keys, diffConfig(rev(b.last), rev(b.first)));
        assert.ok(b.relevant.every((k) => b.keys.includes(k)));
        const text = formatBisect(b);
        assert.match(text, new RegExp(`^last ${b.labels![0]}: +${b.last} `, "m"));
        assert.match(text, new RegExp(`^first ${b.labels![1]}: +${b.first} `, "m"));
        assert.ok(text.includes(`deno task run ${s.id} ${b.first}`), text);
      }
    });
  }
});

Deno.test("bisect() rejects an unknown scenario or lineage", () => {
  const m = runMatrix([], loadRevisionDir("patches"));
  assert.throws(() => bisect(m, "emmu", "no-such-scenario"), /Unknown scenario "no-such-scenario"/);
  const m2 = runMatrix(loadScenarioDir("scenarios").slice(0, 1), loadRevisionDir("patches"));
  assert.throws(() => bisect(m2, "no-such-lineage", m2.scenarios[0].id), /Unknown lineage/);
});

Deno.test("bisect() names a fix last bad / first good", () => {
  const revs = [
    revision("v1"),
    revision("v2", { follows: "v1" }),
    revision("v3", { follows: "v2", callouts: { fork: ["invalidate_range_begin"] } }),
    revision("v3-fix", { follows: "v3", candidate: true }),
  ];
  const m = matrix(revs, [
    outcome("v1", ["lost-write"]),
    outcome("v2", ["lost-write"], { faults: 1 }),
    outcome("v3", [], { paths: ["fork"] }),
    outcome("v3-fix", ["errno"]),
  ]);
  const b = bisect(m, "l", "s1");
  assert.equal(b.last, "v2");
  assert.equal(b.first, "v3");
  assert.equal(b.change, "fix");
  assert.deepEqual(b.removed, ["lost-write"]);
  assert.deepEqual(b.relevant.map((k) => k.key), [
    "paths.fork.callouts[entry:invalidate_range_begin]",
  ]);
  const text = formatBisect(b);
  assert.match(text, /^last bad: {3}v2 \(lost-write\)$/m);
  assert.match(text, /^first good: v3 \(pass\)$/m);
  assert.match(text, /first violation on v2: step 1, lost-write/);
});
