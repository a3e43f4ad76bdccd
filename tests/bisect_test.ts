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
  scenariosFor,
  transitionText,
} from "../mod.ts";
import { matrix, outcome, revision } from "./_fixtures.ts";

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((k) => b.includes(k));

Deno.test("bisect() finds the first verdict change along every lineage of the real matrix", async (t) => {
  const m: Matrix = runMatrix(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
  for (const lineage of lineages(m.revisions)) {
    const { order } = lineageOrder(m.revisions, lineage);
    await t.step(lineage, () => {
      for (const s of scenariosFor(m, ...order)) {
        const b = bisect(m, lineage, s.id);
        assert.deepEqual(b.steps.map((x) => x.revision), order);
        const base = b.steps[0].kinds;
        if (b.first === undefined) {
          assert.ok(b.steps.every((x) => same(x.kinds, base)), `${s.id}: kinds change unreported`);
          assert.equal(b.last, order[order.length - 1]);
          assert.match(formatBisect(b), /no verdict change/);
          assert.deepEqual(b.transitions, []);
          continue;
        }
        // Every transition is a pair of consecutive revisions whose kinds differ, and
        // every such pair is a transition; the first is the last / first pair.
        const pairs = order.slice(1).map((r, j) => [order[j], r]).filter(([x, y]) =>
          !same(
            b.steps.find((z) => z.revision === x)!.kinds,
            b.steps.find((z) => z.revision === y)!.kinds,
          )
        );
        assert.deepEqual(b.transitions.map((x) => [x.from, x.to]), pairs);
        assert.equal(b.transitions[0].from, b.last);
        assert.equal(b.transitions[0].to, b.first);
        const i = order.indexOf(b.first);
        assert.ok(i > 0, `${s.id}: first is not after the lineage's first revision`);
        assert.equal(b.last, order[i - 1]);
        assert.ok(b.steps.slice(0, i).every((x) => same(x.kinds, base)));
        assert.ok(!same(b.steps[i].kinds, base));
        assert.equal(b.change, b.added.length ? "regression" : "fix");
        const labels = b.added.length && b.removed.length
          ? ["unchanged", "changed"]
          : b.change === "regression"
          ? ["good", "bad"]
          : ["bad", "good"];
        assert.deepEqual(b.labels, labels);
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
  const b = bisect(m, "l", "s1", { blame: false });
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

Deno.test("bisect() names every later verdict change: mremap-move regresses in V2 and is fixed in V5", () => {
  const m = runMatrix(
    loadScenarioDir("scenarios").filter((s) => s.id === "mremap-move"),
    loadRevisionDir("patches").filter((r) => r.lineage === "emmu"),
  );
  const b = bisect(m, "emmu", "mremap-move");
  assert.equal(b.last, "emmu-v1");
  assert.equal(b.first, "emmu-v2");
  // V1's mmu_notifier_release() follows the next pointer its own hlist_del() poisoned at the
  // exit (docs/sources.md §5a.1), which V2's release fixes while dropping move_ptes'
  // invalidate_page.
  assert.deepEqual(
    b.transitions.map((t) => [t.from, t.to, t.classes, t.added, t.removed]),
    [
      ["emmu-v1", "emmu-v2", ["regression", "fix"], ["lost-write"], ["list-corruption"]],
      ["emmu-v4", "emmu-v5", ["fix"], [], ["lost-write"]],
    ],
  );
  const fix = b.transitions[1];
  assert.equal(transitionText(fix), "fixed in emmu-v5");
  // V5 adds the mremap callouts (the V5 cover letter: "Provide missing callouts for mremap").
  assert.ok(
    fix.relevant.some((k) =>
      k.key === "paths.move_page_tables.callouts[entry:invalidate_range_begin]"
    ),
    JSON.stringify(fix.relevant),
  );
  assert.equal(fix.reproduce, "deno task run mremap-move emmu-v5");
  const text = formatBisect(b);
  assert.match(text, /^later verdict changes along emmu \(1\):$/m);
  assert.match(
    text,
    /^ {2}fixed in emmu-v5 \(after emmu-v4\): lost-write -> pass \(-lost-write\)$/m,
  );
});

Deno.test("bisect() names a swap of kinds regressed and fixed, and shows statuses", () => {
  const revs = [
    revision("v1"),
    revision("v2", { follows: "v1" }),
    revision("v3", { follows: "v2" }),
  ];
  const timeout = outcome("v3", ["no-progress"]);
  timeout.aborted = "step 1: step bound reached";
  timeout.status = "timeout";
  const m = matrix(revs, [outcome("v1", []), outcome("v2", ["lost-write"]), timeout]);
  const b = bisect(m, "l", "s1", { blame: false });
  assert.deepEqual(b.steps.map((s) => s.status), ["pass", "fail", "timeout"]);
  assert.deepEqual(b.transitions.map((t) => t.classes), [["regression"], ["regression", "fix"]]);
  assert.equal(transitionText(b.transitions[1]), "regressed and fixed in v3");
  const text = formatBisect(b);
  assert.match(text, /^ {2}v3 +timeout \(no-progress\) +<- regressed and fixed in v3$/m);
});
