import assert from "node:assert/strict";
import { flattenConfig, loadRevisionDir, loadScenario, runScenario } from "../mod.ts";
import { explainOutcome, formatExplanation } from "../src/report/explain.ts";

const revisions = loadRevisionDir("patches");
const rev = (id: string) => revisions.find((r) => r.id === id)!;

Deno.test("explainOutcome() gives each violation the callouts of its step and the keys of their paths", () => {
  const s = loadScenario("scenarios/wp-reuse-after-fork.json");
  const r = rev("emmu-v5");
  const o = runScenario(s, r);
  const e = explainOutcome(o, r, s);
  assert.equal(e.status, "fail");
  assert.deepEqual(e.hashes, o.hashes);
  assert.equal(e.violations.length, o.violations.length);
  const flat = flattenConfig(r);
  for (const x of e.violations) {
    assert.ok(x.callouts.length > 0);
    assert.ok(x.callouts.every((t) => t.step === x.violation.step));
    assert.deepEqual(
      x.paths.map((p) => p.path),
      [...new Set(x.callouts.map((t) => t.path))].sort(),
    );
    for (const p of x.paths) {
      const want = Object.keys(flat).filter((k) => k.startsWith(`paths.${p.path}.`)).sort();
      assert.deepEqual(p.keys.map((k) => k.key), want);
      for (const k of p.keys) assert.equal(k.value, flat[k.key]);
    }
  }
  const unbalanced = e.violations.find((x) => x.violation.kind === "unbalanced-range")!;
  assert.equal(unbalanced.op, "guest");
  // The end callout covers the violation's range; it is the one marked.
  assert.deepEqual(
    unbalanced.callouts.filter((_, i) => unbalanced.touches[i]).map((t) => t.call),
    ["invalidate_range_end"],
  );
  assert.deepEqual(
    unbalanced.paths[0].keys.map((k) => `${k.key}: ${k.value}`),
    [
      "paths.do_wp_page.callouts[copy.after_cow_user_page:invalidate_range_begin]: range=page atomic=0",
      "paths.do_wp_page.callouts[unlock:invalidate_range_end]: range=page atomic=0",
    ],
  );
  assert.ok(e.chain.every((k) => k.key.startsWith("chain.")));
});

Deno.test("formatExplanation() shows a path with no callout configured", () => {
  // On V2, mremap's move_ptes has no callout left (V2 drops invalidate_page): the lost write.
  const s = loadScenario("scenarios/mremap-move.json");
  const r = rev("emmu-v2");
  const text = formatExplanation(explainOutcome(runScenario(s, r), r, s));
  assert.match(text, /^explain mremap-move on emmu-v2: fail \(lost-write\)$/m);
  assert.match(text, /^violation 1 of 1: step 3, lost-write at 0x100000: /m);
  assert.match(text, /^ {2}paths\.move_ptes: no callout configured$/m);
  assert.match(text, /^reproduce: deno task run mremap-move emmu-v2$/m);
});

Deno.test("formatExplanation() says so when there is no violation", () => {
  const s = loadScenario("scenarios/mremap-move.json");
  const r = rev("emmu-v5");
  const text = formatExplanation(explainOutcome(runScenario(s, r), r, s));
  assert.match(text, /^explain mremap-move on emmu-v5: pass \(pass\)$/m);
  assert.match(text, /^no violation$/m);
  assert.match(text, /^ {2}paths\.move_page_tables\.callouts\[entry:invalidate_range_begin\]: /m);
});

Deno.test("explainOutcome() rejects an outcome of another revision", () => {
  const s = loadScenario("scenarios/mremap-move.json");
  assert.throws(
    () => explainOutcome(runScenario(s, rev("emmu-v5")), rev("emmu-v4"), s),
    /explained with "mremap-move" on "emmu-v4"/,
  );
});
