import assert from "node:assert/strict";
import { matrix, outcome, revision } from "./_fixtures.ts";
import { diffTraces } from "../src/report/trace_diff.ts";
import { formatComparison } from "../src/cli/text.ts";
import { loadRevisionDir, parseScenario, runScenario } from "../mod.ts";
import {
  cellStatus,
  checkBaseline,
  classifyChange,
  compareRevisions,
  displayOrder,
  groupRevisions,
  lineageDiff,
  lineageOrder,
  outcomeDifferences,
  regressedAgainst,
  relevantKeys,
} from "../src/report/diff.ts";

Deno.test("classifyChange() classifies a change of outcome", async (t) => {
  await t.step("a new violation kind is a regression", () => {
    assert.deepEqual(classifyChange(outcome("a", []), outcome("b", ["unbalanced-range"])), [
      "regression",
    ]);
  });
  await t.step("a violation kind that disappears is a fix", () => {
    assert.deepEqual(
      classifyChange(outcome("a", ["lost-write", "stale-secondary"]), outcome("b", ["lost-write"])),
      ["fix"],
    );
  });
  await t.step("kinds that swap are both a regression and a fix", () => {
    assert.deepEqual(
      classifyChange(outcome("a", ["stale-secondary"]), outcome("b", ["no-progress"])),
      ["regression", "fix"],
    );
  });
  await t.step("same kinds with a different trace or counters is a change", () => {
    assert.deepEqual(
      classifyChange(outcome("a", [], { paths: ["fork"] }), outcome("b", [], { paths: [] })),
      ["change"],
    );
    assert.deepEqual(
      classifyChange(outcome("a", ["errno"]), outcome("b", ["errno"], { faults: 2 })),
      ["change"],
    );
  });
  await t.step("outcomes that differ only by revision are the same", () => {
    assert.deepEqual(
      classifyChange(
        outcome("a", ["errno"], { paths: ["x"] }),
        outcome("b", ["errno"], { paths: ["x"] }),
      ),
      ["same"],
    );
  });
});

Deno.test("outcomeDifferences() names the parts that differ", () => {
  assert.deepEqual(
    outcomeDifferences(outcome("a", [], { paths: ["p"] }), outcome("b", [], { faults: 1 })),
    ["trace", "counters"],
  );
  assert.deepEqual(outcomeDifferences(outcome("a", []), outcome("b", [])), []);
});

Deno.test("relevantKeys() keeps chain keys and keys of traced paths", () => {
  const keys = [
    { key: "chain.list", from: "rwlock", to: "rcu" },
    { key: "paths.do_wp_page.callouts[entry:invalidate_page]", from: "present" },
    { key: "paths.do_wp_page_x.callouts[entry:invalidate_page]", to: "present" },
    { key: "paths.fork.callouts[entry:invalidate_range_begin]", to: "present" },
  ];
  assert.deepEqual(relevantKeys(keys, ["do_wp_page"]).map((k) => k.key), [
    "chain.list",
    "paths.do_wp_page.callouts[entry:invalidate_page]",
  ]);
});

Deno.test("compareRevisions() classifies every scenario and names the keys", () => {
  const a = revision("a", { callouts: { do_wp_page: ["invalidate_page"] } });
  const b = revision("b", { list: "rwlock", callouts: { fork: ["invalidate_range_begin"] } });
  const m = matrix([a, b], [
    outcome("a", [], { scenario: "s1", paths: ["do_wp_page"] }),
    outcome("b", ["unbalanced-range"], { scenario: "s1", paths: ["fork"] }),
    outcome("a", ["lost-write"], { scenario: "s2" }),
    outcome("b", [], { scenario: "s2" }),
    outcome("a", [], { scenario: "s3", faults: 1 }),
    outcome("b", [], { scenario: "s3", faults: 2 }),
    outcome("a", [], { scenario: "s4" }),
    outcome("b", [], { scenario: "s4" }),
  ]);
  const c = compareRevisions(m, "a", "b", { blame: false });
  assert.equal(c.from, "a");
  assert.equal(c.to, "b");
  assert.deepEqual(c.keys.map((k) => k.key), [
    "chain.list",
    "paths.do_wp_page.callouts[entry:invalidate_page]",
    "paths.fork.callouts[entry:invalidate_range_begin]",
  ]);
  assert.deepEqual(c.scenarios.map((s) => [s.scenario, s.classes]), [
    ["s1", ["regression"]],
    ["s2", ["fix"]],
    ["s3", ["change"]],
    ["s4", ["same"]],
  ]);
  const [s1, s2, s3, s4] = c.scenarios;
  assert.deepEqual(s1.added, ["unbalanced-range"]);
  assert.deepEqual(s2.removed, ["lost-write"]);
  assert.deepEqual(s3.differs, ["counters"]);
  assert.deepEqual(s4.differs, []);
  // s1 traces both paths (one on each side), so every key is relevant to it;
  // s2 traces none, so only the chain key is.
  assert.equal(s1.relevant.length, 3);
  assert.deepEqual(s2.relevant.map((k) => k.key), ["chain.list"]);
  const fromTo = c.keys.find((k) => k.key === "chain.list");
  assert.deepEqual(fromTo, { key: "chain.list", from: "rcu", to: "rwlock" });
});

Deno.test("compareRevisions() rejects an unknown revision", () => {
  const m = matrix([revision("a")], [outcome("a", [])]);
  assert.throws(() => compareRevisions(m, "a", "zz"), RangeError);
});

Deno.test("groupRevisions() groups revisions with equal outcomes", () => {
  const revs = ["a", "b", "c", "d"].map((id) => revision(id));
  const m = matrix(revs, [
    outcome("a", []),
    outcome("b", ["errno"]),
    outcome("c", []),
    outcome("d", ["errno"], { faults: 3 }),
  ]);
  const groups = groupRevisions(m, "s1", ["a", "b", "c", "d"]);
  assert.deepEqual(groups.map((g) => [g.revisions, g.kinds]), [
    [["a", "c"], []],
    [["b"], ["errno"]],
    [["d"], ["errno"]],
  ]);
});

Deno.test("lineageOrder() follows `follows` from the root", async (t) => {
  const revs = [
    revision("v3", { follows: "v2" }),
    revision("v1"),
    revision("v2", { follows: "v1" }),
    revision("v2-fix", { follows: "v2", candidate: true }),
    revision("other", { lineage: "reference" }),
  ];
  await t.step("posted revisions in order, candidates apart", () => {
    const lo = lineageOrder(revs, "l");
    assert.deepEqual(lo.order, ["v1", "v2", "v3"]);
    assert.deepEqual(lo.candidates, [{ id: "v2-fix", parent: "v2" }]);
    assert.deepEqual(displayOrder(lo), ["v1", "v2", "v2-fix", "v3"]);
  });
  await t.step("an unknown lineage is a RangeError naming the known ones", () => {
    assert.throws(() => lineageOrder(revs, "nope"), /known: l, reference/);
  });
  await t.step("a branch is a RangeError", () => {
    assert.throws(
      () => lineageOrder([...revs, revision("v3b", { follows: "v2" })], "l"),
      /branches after "v2"/,
    );
  });
  await t.step("two roots are a RangeError", () => {
    assert.throws(() => lineageOrder([...revs, revision("v9")], "l"), /2 roots/);
  });
});

Deno.test("lineageDiff() compares consecutive revisions and candidates with their parent", () => {
  const revs = [
    revision("v1"),
    revision("v2", { follows: "v1", callouts: { fork: ["release"] } }),
    revision("v2-fix", { follows: "v2", candidate: true }),
  ];
  const m = matrix(revs, [
    outcome("v1", []),
    outcome("v2", ["release-count"]),
    outcome("v2-fix", []),
  ]);
  const d = lineageDiff(m, "l", { blame: false });
  assert.deepEqual(d.steps.map((s) => [s.from, s.to, s.scenarios[0].classes]), [
    ["v1", "v2", ["regression"]],
  ]);
  assert.deepEqual(d.candidateSteps.map((s) => [s.from, s.to, s.scenarios[0].classes]), [
    ["v2", "v2-fix", ["fix"]],
  ]);
  assert.deepEqual(d.groups[0].groups.map((g) => g.revisions), [["v1", "v2-fix"], ["v2"]]);
});

Deno.test("runScenario() records the status: unsupported from a step or a race thread, never from text", async (t) => {
  const v5 = loadRevisionDir("patches").find((r) => r.id === "emmu-v5")!;
  const mmap = {
    op: "mmap",
    mm: "A",
    addr: "0x100000",
    len: "0x2000",
    prot: "rw",
    share: "private",
  };
  const snapshot = { op: "snapshot", secondary: "xpm0", addr: "0x100000", len: "0x1000" };
  const scenario = (steps: unknown[]) =>
    parseScenario(
      {
        purpose: "status",
        exercises: ["handle_mm_fault"],
        cite: "test",
        secondaries: [{ id: "xpm0", driver: "xpmem", mm: "A" }],
        steps: [mmap, { op: "register", secondary: "xpm0" }, ...steps],
      },
      "status.json",
      "status",
    );
  await t.step("pass when every step ran", () => {
    const o = runScenario(scenario([]), v5);
    assert.equal(o.status, "pass");
    assert.equal(cellStatus(o), "pass");
  });
  await t.step("unsupported when XPmem is asked for an HMM snapshot", () => {
    const o = runScenario(scenario([snapshot]), v5);
    assert.equal(o.returns[2].value, "unsupported");
    assert.equal(cellStatus(o), "unsupported");
  });
  await t.step("unsupported when one thread of a race step is", () => {
    const race = {
      op: "race",
      threads: {
        dev0: [snapshot],
        cpu0: [{ op: "touch", mm: "A", addr: "0x100000", access: "write" }],
      },
    };
    const o = runScenario(scenario([race]), v5);
    assert.match(String(o.returns[2].value), /dev0=unsupported/);
    assert.equal(cellStatus(o), "unsupported");
  });
  await t.step("an outcome's text does not make its status", () => {
    const o = outcome("a", []);
    o.returns = [{ step: 0, op: "guest", value: "unsupported" }];
    o.aborted = "step 3: step bound reached";
    assert.equal(cellStatus(o), "pass");
  });
});

Deno.test("regressedAgainst() and checkBaseline() find what regressed against a baseline", () => {
  const timeout = outcome("c", [], { scenario: "s2" });
  timeout.aborted = "step 1: step bound reached";
  timeout.status = "timeout";
  assert.equal(regressedAgainst(outcome("a", []), timeout), true);
  assert.equal(regressedAgainst(timeout, timeout), false);
  assert.equal(regressedAgainst(outcome("a", ["errno"]), outcome("b", [])), false);
  assert.equal(
    regressedAgainst(outcome("a", ["errno"]), outcome("b", ["errno"], { faults: 2 })),
    false,
  );
  const revs = [revision("a"), revision("b", { follows: "a" }), revision("c", { follows: "b" })];
  const m = matrix(revs, [
    outcome("a", [], { scenario: "s1" }),
    outcome("b", ["lost-write"], { scenario: "s1" }),
    outcome("c", [], { scenario: "s1" }),
    outcome("a", ["errno"], { scenario: "s2" }),
    outcome("b", [], { scenario: "s2" }),
    timeout,
  ]);
  const c = checkBaseline(m, "a", ["a", "b", "c"]);
  assert.deepEqual(c.checked, ["b", "c"]);
  assert.deepEqual(c.regressions.map((r) => [r.scenario, r.revision, r.status, r.added]), [
    ["s1", "b", "fail", ["lost-write"]],
    ["s2", "c", "timeout", []],
  ]);
  assert.deepEqual(checkBaseline(m, "b", ["a"]).regressions.map((r) => r.scenario), ["s2"]);
  assert.throws(() => checkBaseline(m, "zz", ["a"]), /Unknown revision "zz"/);
});

Deno.test("compareRevisions() carries each side's status", () => {
  const t = outcome("b", ["no-progress"]);
  t.aborted = "step 1: step bound reached";
  t.status = "timeout";
  const m = matrix([revision("a"), revision("b")], [outcome("a", []), t]);
  const s = compareRevisions(m, "a", "b", { blame: false }).scenarios[0];
  assert.equal(s.fromStatus, "pass");
  assert.equal(s.toStatus, "timeout");
});

Deno.test("diffTraces() keeps shared callouts and marks the others removed or added", () => {
  const a = outcome("a", [], { paths: ["fork", "do_wp_page", "exit_mmap"] }).trace;
  const b = outcome("b", [], { paths: ["fork", "move_ptes", "exit_mmap"] }).trace;
  b[1].step = 1;
  const d = diffTraces(a, b);
  assert.deepEqual(d.map((x) => [x.op, x.from, x.to]), [
    ["same", 0, 0],
    ["removed", 1, undefined],
    ["added", undefined, 1],
    ["same", 2, 2],
  ]);
  assert.match(d[1].line, /^step 1 cpu0: do_wp_page@entry invalidate_range_begin\(A\) atomic=0 /);
  assert.deepEqual(diffTraces([], []), []);
  assert.deepEqual(diffTraces(a, []).map((x) => x.op), ["removed", "removed", "removed"]);
});

Deno.test("formatComparison() counts each scenario once, leads with verdict changes, and the counts add up", () => {
  const m = matrix([revision("a"), revision("b")], [
    outcome("a", ["stale-secondary"], { scenario: "s1" }),
    outcome("b", ["no-progress"], { scenario: "s1" }),
    outcome("a", ["lost-write"], { scenario: "s2" }),
    outcome("b", [], { scenario: "s2" }),
    outcome("a", [], { scenario: "s3" }),
    outcome("b", [], { scenario: "s3" }),
  ]);
  const text = formatComparison(compareRevisions(m, "a", "b", { blame: false }));
  // s1: kinds swap (both); s2: a fix; s3: same. 0 + 1 + 1 + 0 + 1 = 3.
  assert.match(
    text,
    /^summary: 3 scenarios = 0 regressions \+ 1 fix \+ 1 both \+ 0 other changes \+ 1 same; 1 regressed and 2 fixed in all$/m,
  );
  const at = (re: RegExp) => text.split("\n").findIndex((l) => re.test(l));
  assert.ok(at(/^regressions \(0\):$/) < at(/^fixes \(1\):$/));
  assert.ok(at(/^fixes \(1\):$/) < at(/^both: .* \(1\):$/));
  assert.ok(at(/^both: .* \(1\):$/) < at(/^ {2}s1: stale-secondary -> no-progress/));
  assert.ok(at(/^ {2}s2: lost-write -> pass/) < at(/^same outcome \(1\):$/));
  assert.equal(text.split("\n")[at(/^same outcome/) + 1], "  s3");
  // Causes not searched: the relevant keys, as before.
  assert.match(text, /^ {4}relevant config keys: none on the paths the scenario traces/m);
});

Deno.test("compareRevisions() leaves the causes out of a change whose run timed out", () => {
  const t = outcome("b", ["no-progress"]);
  t.aborted = "step 1: time bound reached after 60 s";
  t.status = "timeout";
  const m = matrix([revision("a"), revision("b")], [outcome("a", []), t]);
  // The fixtures cannot run: a search would throw. A timed-out verdict is partial, so none is made.
  const s = compareRevisions(m, "a", "b").scenarios[0];
  assert.deepEqual(s.classes, ["regression"]);
  assert.equal(s.causes, undefined);
});
