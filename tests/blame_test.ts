/**
 * Causal blame: the expected causes are read from the revision configs and
 * the seed thread, not from what the search computes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { analyse } from "../src/analysis/analyse.ts";
import {
  bisect,
  blame,
  compareRaces,
  compareRevisions,
  diffConfig,
  explore,
  flattenConfig,
  InputError,
  type Json,
  loadRevisionDir,
  loadScenario,
  loadScenarioDir,
  parseRevision,
  renderMarkdown,
  type Revision,
  runCell,
  runMatrix,
} from "../mod.ts";
import { applicable, hybridRevision } from "../src/report/_hybrid.ts";

const REVS = loadRevisionDir("patches");
const rev = (id: string) => REVS.find((r) => r.id === id)!;
const V5 = JSON.parse(Deno.readTextFileSync("patches/emmu-v5.json"));
const keysOf = (ks: { key: string }[] | undefined) => (ks ?? []).map((k) => k.key);

/** A revision that extends a shipped one and overrides some keys. */
function extend(id: string, base: string, over: Record<string, Json>): Revision {
  return parseRevision(
    { id, extends: base, title: id, lineage: "t", date: "2008-02-01", source: "test", ...over },
    `${id}.json`,
    (x) => REVS.find((r) => r.id === x),
  );
}

/** `paths.<path>.callouts` of a revision's resolved JSON. */
function callouts(r: Revision, path: string): { at: string; call: string }[] {
  const paths = r.resolved.paths as Record<string, { callouts: { at: string; call: string }[] }>;
  return paths[path]?.callouts ?? [];
}

const C = (path: string, id: string) => `paths.${path}.callouts[${id}]`;
/** V5's range pair around move_page_tables ("Provide missing callouts for mremap", V4->V5). */
const MREMAP_PAIR = [
  C("move_page_tables", "entry:invalidate_range_begin"),
  C("move_page_tables", "exit:invalidate_range_end"),
];

Deno.test("compareRevisions() names the keys that cause each verdict change from emmu-v4 to emmu-v5", async (t) => {
  const m = runMatrix(loadScenarioDir("scenarios"), [rev("emmu-v4"), rev("emmu-v5")]);
  const c = compareRevisions(m, "emmu-v4", "emmu-v5");
  const change = (id: string) => c.scenarios.find((s) => s.scenario === id)!;
  await t.step("every regression and fix has its causes, and the rest apart", () => {
    for (const s of c.scenarios) {
      const verdict = s.classes.includes("regression") || s.classes.includes("fix");
      assert.equal(s.causes !== undefined, verdict, s.scenario);
      if (!verdict) continue;
      assert.ok(s.causes!.length > 0, `${s.scenario}: no cause found`);
      const all = [...keysOf(s.causes), ...keysOf(s.alternatives), ...keysOf(s.alsoDiffer)];
      assert.deepEqual(all.sort(), keysOf(c.keys), s.scenario);
    }
  });
  await t.step("truncate-contended: V5's end with the range unmap_vmas returned", () => {
    // V5's end passes the end unmap_vmas returned ('invalidate_range_end, mm, address, end',
    // hunk @@ -883) while the begin passes the requested range: after a contended restart the
    // two differ. V4's end took no range.
    assert.deepEqual(change("truncate-contended").classes, ["regression"]);
    assert.deepEqual(keysOf(change("truncate-contended").causes), [
      C("zap_page_range", "after_tlb_finish:invalidate_range_end"),
    ]);
  });
  await t.step("fork-enomem: V5's fork begin alone, as -ENOMEM returns before the end", () => {
    // 'return -ENOMEM;' inside the loop, before the end callout (hunk @@ -611): the end V5
    // adds is never reached on this path, so the begin alone makes the swap.
    assert.deepEqual(change("fork-enomem").classes, ["regression", "fix"]);
    assert.deepEqual(keysOf(change("fork-enomem").causes), [
      C("copy_page_range", "entry:invalidate_range_begin"),
    ]);
    assert.deepEqual(change("fork-enomem").alternatives, []);
  });
  await t.step("fork-cow-writable-secondary and mremap-move: a begin/end pair, together", () => {
    // Either half alone is an unbalanced range: only the pair is B's "pass".
    assert.deepEqual(keysOf(change("fork-cow-writable-secondary").causes), [
      C("copy_page_range", "entry:invalidate_range_begin"),
      C("copy_page_range", "exit:invalidate_range_end"),
    ]);
    assert.deepEqual(keysOf(change("mremap-move").causes), MREMAP_PAIR);
  });
});

Deno.test("bisect() names the keys that cause each verdict change along emmu", async (t) => {
  const scenarios = loadScenarioDir("scenarios").filter((s) =>
    s.id === "wp-reuse-after-fork" || s.id === "mremap-move"
  );
  const m = runMatrix(scenarios, REVS.filter((r) => r.lineage === "emmu"));
  await t.step(
    "wp-reuse-after-fork: V4 puts do_wp_page's end where the reuse exit reaches it",
    () => {
      // Robin Holt on V4 2/3: 'I think we can get an _end call without the _begin call before
      // it': the end moved to unlock, the begin after cow_user_page, which reuse skips.
      const b = bisect(m, "emmu", "wp-reuse-after-fork");
      // First V2 fixes V1's release, which follows the next pointer its own hlist_del()
      // poisoned (docs/sources.md §5a.1): chain.release alone.
      assert.equal(b.first, "emmu-v2");
      assert.deepEqual(keysOf(b.causes), ["chain.release"]);
      assert.deepEqual(b.transitions[0].causes, b.causes);
      const v4 = b.transitions[1];
      assert.equal(v4.to, "emmu-v4");
      assert.deepEqual(v4.classes, ["regression"]);
      assert.deepEqual(keysOf(v4.causes), [C("do_wp_page", "unlock:invalidate_range_end")]);
      assert.deepEqual(v4.alternatives, []);
      assert.equal(v4.alsoDiffer!.length, v4.keyCount - 1);
    },
  );
  await t.step("mremap-move: V2 drops move_ptes' invalidate_page, V5 adds the range pair", () => {
    const b = bisect(m, "emmu", "mremap-move");
    // V2 both loses move_ptes' invalidate_page (+lost-write) and fixes V1's release
    // (-list-corruption).
    assert.deepEqual(b.transitions.map((t) => [t.to, keysOf(t.causes)]), [
      ["emmu-v2", ["chain.release", C("move_ptes", "pte.after_clear:invalidate_page")]],
      ["emmu-v5", MREMAP_PAIR],
    ]);
  });
});

Deno.test("blame() finds two keys that flip the verdict only together (ddmin)", () => {
  // B = V4 with V5's mremap pair and three keys mremap-move does not reach (no HMM mirror,
  // no reclaim, no get_user_pages): no single key gives "pass", the pair does.
  const b = extend("pair-and-noise", "emmu-v4", {
    paths: { move_page_tables: V5.paths.move_page_tables },
    drivers: { hmm: { snapshot: "range-lock", cite: "test" } },
    kernel: { follow_page: "mkyoung", cite: "test" },
    chain: { sleepable: { young: true } },
  });
  const r = blame(loadScenario("scenarios/mremap-move.json"), rev("emmu-v4"), b);
  assert.equal(r.fromVerdict, "lost-write");
  assert.equal(r.toVerdict, "pass");
  assert.equal(r.method, "ddmin");
  assert.deepEqual(keysOf(r.causes), MREMAP_PAIR);
  assert.deepEqual(keysOf(r.alsoDiffer), [
    "chain.sleepable.young",
    "drivers.hmm.snapshot",
    "kernel.follow_page",
  ]);
});

Deno.test("blame() ends with every differing key when no single key or pair flips the verdict", () => {
  // A also has an end with no begin at exit_mmap's entry (unbalanced-range); B has neither that
  // nor the lost write: each half of the pair, and the pair without removing the stray end,
  // leave an unbalanced range.
  const v4exit = callouts(rev("emmu-v4"), "exit_mmap");
  const a = extend("stray-end", "emmu-v4", {
    paths: {
      exit_mmap: {
        callouts: [
          { at: "entry", call: "invalidate_range_end", atomic: 0, cite: "test" },
          ...v4exit,
        ],
      },
    },
  });
  const b = extend("pair", "emmu-v4", { paths: { move_page_tables: V5.paths.move_page_tables } });
  const r = blame(loadScenario("scenarios/mremap-move.json"), a, b);
  assert.equal(r.fromVerdict, "lost-write,unbalanced-range");
  assert.equal(r.toVerdict, "pass");
  assert.equal(r.method, "ddmin");
  assert.deepEqual(keysOf(r.causes), keysOf(diffConfig(a, b)));
  assert.deepEqual(keysOf(r.causes), [
    C("exit_mmap", "entry:invalidate_range_end"),
    ...MREMAP_PAIR,
  ]);
  assert.deepEqual(r.alsoDiffer, []);
});

Deno.test("blame() names no cause when only the order of two callouts differs", () => {
  // A begin then an end at move_page_tables' entry is balanced (and invalidates KVM before the
  // move); an end then a begin is not. The flattened configs are equal: no key differs.
  const begin = { at: "entry", call: "invalidate_range_begin", range: "old", atomic: 0, cite: "t" };
  const end = { at: "entry", call: "invalidate_range_end", range: "old", atomic: 0, cite: "t" };
  const a = extend("begin-end", "emmu-v4", {
    paths: { move_page_tables: { callouts: [begin, end] } },
  });
  const b = extend("end-begin", "emmu-v4", {
    paths: { move_page_tables: { callouts: [end, begin] } },
  });
  assert.deepEqual(diffConfig(a, b), []);
  const r = blame(loadScenario("scenarios/mremap-move.json"), a, b);
  assert.equal(r.fromVerdict, "pass");
  assert.equal(r.toVerdict, "unbalanced-range");
  assert.equal(r.method, "none");
  assert.deepEqual(r.causes, []);
});

Deno.test("blame() blames the explorer's verdict of a race scenario", async (t) => {
  const s = loadScenario("scenarios/race-unregister-dispatch.json");
  await t.step(
    "mmun-v3 -> mmun-v3-rcu: readers under RCU, or an unregister not under the rwlock",
    () => {
      // Peter Zijlstra's RCU variant: dispatch walks the list under rcu_read_lock and unregister
      // frees with no grace period. Its spin_lock register (and unregister) alone does it too on
      // #v3's rwlock list: the update no longer excludes the readers holding the rwlock.
      const r = blame(s, rev("mmun-v3"), rev("mmun-v3-rcu"), { verdict: "explore" });
      assert.equal(r.fromVerdict, "never");
      assert.equal(r.toVerdict, "use-after-free sometimes");
      assert.deepEqual(keysOf(r.causes), ["chain.list"]);
      assert.deepEqual(keysOf(r.alternatives), ["chain.register"]);
    },
  );
  await t.step("compareRaces() carries the causes of each race change", () => {
    const [c] = compareRaces([s], rev("mmun-v3"), rev("mmun-v3-rcu"));
    assert.deepEqual(keysOf(c.causes), ["chain.list"]);
    assert.deepEqual(keysOf(c.alternatives), ["chain.register"]);
    assert.equal(c.alsoDiffer!.length, diffConfig(rev("mmun-v3"), rev("mmun-v3-rcu")).length - 2);
  });
});

Deno.test("blame() takes the verdicts of A and B from known results, and runs a stopped one again", async (t) => {
  const s = loadScenario("scenarios/wp-reuse-after-fork.json");
  const [a, b] = [rev("emmu-v3"), rev("emmu-v4")];
  const ran = blame(s, a, b);
  assert.equal(ran.method, "single", "a change with a cause, so that the search runs hybrids");
  const [oa, ob] = [runCell(s, a), runCell(s, b)];
  await t.step("the outcomes of A and B give what running them gives", () => {
    assert.deepEqual(blame(s, a, b, { known: { from: oa, to: ob } }), ran);
  });
  await t.step("a known verdict is used, not run again", () => {
    // B's outcome given as A's: A already has B's verdict, so nothing is blamed.
    const r = blame(s, a, b, { known: { from: ob, to: ob } });
    assert.equal(r.method, "same");
    assert.equal(r.fromVerdict, ran.toVerdict);
  });
  await t.step("an outcome stopped by the time bound is run again", () => {
    const stopped = runCell(s, a, { deadline: { seconds: 1, expired: () => true } });
    assert.equal(stopped.status, "timeout");
    assert.deepEqual(blame(s, a, b, { known: { from: stopped, to: ob } }), ran);
  });
  await t.step("an exploration's status and verdicts give the explorer's verdict", () => {
    const race = loadScenario("scenarios/race-unregister-dispatch.json");
    const [x, y] = [rev("mmun-v3"), rev("mmun-v3-rcu")];
    const explored = blame(race, x, y, { verdict: "explore" });
    const known = {
      from: explore(race, x),
      to: { status: "timeout" as const, verdicts: {} },
    };
    assert.deepEqual(blame(race, x, y, { verdict: "explore", known }), explored);
  });
});

Deno.test("blame() says when there is nothing to blame", () => {
  const r = blame(loadScenario("scenarios/mremap-move.json"), rev("emmu-v2"), rev("emmu-v3"));
  assert.equal(r.method, "same");
  assert.deepEqual(r.causes, []);
  assert.equal(r.runs, 0);
  assert.throws(
    () => blame(loadScenario("scenarios/mremap-move.json"), rev("emmu-v5"), rev("nl-2.5.42-f8")),
    RangeError,
  );
});

Deno.test("hybridRevision() takes any differing keys of two revisions of a tree, and only those", async (t) => {
  await t.step("each key alone and all at once, for every pair of shipped revisions", () => {
    for (const a of REVS) {
      for (const b of REVS) {
        if (a === b || a.base !== b.base) continue;
        const keys = keysOf(diffConfig(a, b));
        for (const set of [...keys.map((k) => [k]), keys]) {
          try {
            const h = hybridRevision(a, b, set);
            assert.deepEqual(keysOf(diffConfig(a, h)), [...set].sort(), `${a.id} ${b.id}`);
          } catch (e) {
            // The loader refuses a key that needs another: default_prot's offset-matching set
            // without its offset.
            assert.ok(e instanceof InputError, String(e));
            assert.match(e.message, /default_prot\.offset" is missing/);
          }
        }
        if (keys.length) {
          assert.deepEqual(flattenConfig(hybridRevision(a, b, keys)), flattenConfig(b));
        }
      }
    }
  });
  await t.step("a callout A lacks goes where B has it", () => {
    const b = extend("release-at-entry", "emmu-v4", {
      paths: {
        exit_mmap: {
          callouts: [
            { at: "entry", call: "invalidate_all", cite: "test" },
            { at: "entry", call: "release", cite: "test" },
            { at: "after_tlb_finish", call: "release", cite: "test" },
          ],
        },
      },
    });
    const h = hybridRevision(rev("emmu-v4"), b, [C("exit_mmap", "entry:release")]);
    assert.deepEqual(callouts(h, "exit_mmap").map((c) => `${c.at}:${c.call}`), [
      "entry:invalidate_all",
      "entry:release",
      "after_tlb_finish:release",
    ]);
  });
  await t.step("a callout of a path A lacks brings the path", () => {
    const h = hybridRevision(rev("emmu-v4"), rev("emmu-v5"), [MREMAP_PAIR[1]]);
    assert.deepEqual(keysOf(diffConfig(rev("emmu-v4"), h)), [MREMAP_PAIR[1]]);
  });
  await t.step("repeated callouts are removed from the last and added after the first", () => {
    const release = { at: "entry", call: "release", cite: "test" };
    const three = extend("three", "emmu-v5", {
      paths: { exit_mmap: { callouts: [release, release, release] } },
    });
    const one = rev("emmu-v5");
    const [k2, k3] = [C("exit_mmap", "entry:release#2"), C("exit_mmap", "entry:release#3")];
    assert.deepEqual(keysOf(diffConfig(three, one)), [k2, k3]);
    // Removing the second alone would make the third the second.
    assert.equal(applicable(three, one, [k2]), false);
    assert.throws(() => hybridRevision(three, one, [k2]), RangeError);
    assert.equal(callouts(hybridRevision(three, one, [k3]), "exit_mmap").length, 2);
    assert.equal(callouts(hybridRevision(three, one, [k2, k3]), "exit_mmap").length, 1);
    // Adding the third alone would make it the second.
    assert.equal(applicable(one, three, [k3]), false);
    assert.equal(callouts(hybridRevision(one, three, [k2]), "exit_mmap").length, 2);
  });
  await t.step("base is not a key a hybrid can take", () => {
    assert.throws(() => hybridRevision(rev("emmu-v5"), rev("emmu-v4"), ["base"]), RangeError);
  });
});

Deno.test("renderMarkdown() names the causes of each verdict change, and its counts add up", () => {
  // F9 and G1 each change one key of F8 and F9: that key is the cause of every verdict change.
  const m = runMatrix(
    loadScenarioDir("scenarios").filter((s) => s.kernel === "2.5.42"),
    REVS.filter((r) => r.base === "2.5.42"),
  );
  const md = renderMarkdown(analyse(m, { lineages: ["nonlinear"] }));
  const [, n, r, f, both] =
    /^(\d+) verdict changes over \d+ steps? = (\d+) regressions? \+ (\d+) fix(?:es)? \+ (\d+) both /m
      .exec(md)!.map(Number);
  // Each scenario of each step counted once: a swap of kinds under "both" only.
  assert.equal(r + f + both, n);
  assert.ok(both > 0);
  // The lineage's own steps, before the candidates against their parent.
  const steps = md.slice(md.indexOf("### Regressions and fixes"), md.indexOf("### Candidates"));
  assert.equal(steps.match(/^- caused by \(1 of 1 differing key\):$/gm)?.length, n);
});
