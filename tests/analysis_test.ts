/**
 * The analysis, tested once on the shipped data: what it finds along the
 * emmu lineage is checked against the pinned expectations
 * (`expectations/emmu.json`, each pin citing its seed), and the baseline
 * check against the `follows` fields of the shipped revision files.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  analyse,
  changeSummary,
  InputError,
  judge,
  loadExpectationFile,
  loadRevisionDir,
  loadScenarioDir,
  parseExpectations,
  type ReportModel,
  revisionsAfter,
  runMatrix,
  shippedExpectations,
} from "../mod.ts";
import { MAIL_WIDTH, renderMail } from "../src/report/mail.ts";

const revisions = loadRevisionDir("patches");
const emmu = revisions.filter((r) => r.lineage === "emmu");
const matrix = runMatrix(loadScenarioDir("scenarios"), emmu);
const PINS = shippedExpectations();
const pinned = (s: string, r: string) => (PINS[s][r] ?? PINS[s].default).kinds;
let cached: ReportModel | undefined;
const model = () => cached ??= analyse(matrix, { baseline: "emmu-v5", expect: PINS });

Deno.test("analyse() finds along emmu the regressions and fixes the pins imply", () => {
  const d = model().lineages[0];
  assert.equal(d.lineage, "emmu");
  for (const step of d.steps) {
    for (const c of step.scenarios) {
      const from = pinned(c.scenario, step.from);
      const to = pinned(c.scenario, step.to);
      const want = [
        ...(to.some((k) => !from.includes(k)) ? ["regression"] : []),
        ...(from.some((k) => !to.includes(k)) ? ["fix"] : []),
      ];
      const got = c.classes.filter((k) => k === "regression" || k === "fix");
      assert.deepEqual(got, want, `${c.scenario} ${step.from} -> ${step.to}`);
      if (want.length) assert.ok(c.causes !== undefined, `${c.scenario}: causes searched`);
    }
  }
});

Deno.test("analyse() names the cause of truncate-contended's regression in emmu-v5", () => {
  // expectations/emmu.json pins truncate-contended pass on emmu-v4 and unbalanced-range on
  // emmu-v5, citing V5's zap_page_range end callout with the range it was given.
  const step = model().lineages[0].steps.find((s) => s.to === "emmu-v5")!;
  const c = step.scenarios.find((s) => s.scenario === "truncate-contended")!;
  assert.deepEqual(c.classes, ["regression"]);
  assert.deepEqual(c.causes!.map((k) => k.key), [
    "paths.zap_page_range.callouts[after_tlb_finish:invalidate_range_end]",
  ]);
});

Deno.test("analyse() checks only the revisions after the baseline", () => {
  const b = model().baseline!;
  // patches/*.json: emmu-v5-holt-guard and emmu-v5-rmap follow emmu-v5, emmu-v5-rmap-xip
  // follows emmu-v5-rmap; emmu-v1 to emmu-v4 come before it.
  assert.deepEqual(b.checked, ["emmu-v5-holt-guard", "emmu-v5-rmap", "emmu-v5-rmap-xip"]);
  for (const r of b.regressions) {
    const base = pinned(r.scenario, "emmu-v5");
    assert.ok(pinned(r.scenario, r.revision).some((k) => !base.includes(k)), r.scenario);
  }
  const older = analyse(matrix, { baseline: "emmu-v5", named: ["emmu-v2"], blame: false });
  assert.deepEqual(
    older.baseline!.checked.at(-1),
    "emmu-v2",
    "a revision the user names is checked",
  );
});

Deno.test("analyse() judges every cell shown against the pins, and all match", () => {
  const js = model().judgements!;
  assert.equal(js.length, matrix.cells.length);
  assert.deepEqual(js.filter((j) => j.result !== "match"), []);
  assert.equal(
    js[0].expected,
    PINS[js[0].scenario][js[0].revision] ?? PINS[js[0].scenario].default,
  );
});

Deno.test("revisionsAfter() follows the lineage forward, never back", async (t) => {
  await t.step("a posted baseline: the later posted revisions and every candidate on them", () => {
    assert.deepEqual(revisionsAfter(revisions, "emmu-v4"), [
      "emmu-v5",
      "emmu-v5-holt-guard",
      "emmu-v5-rmap",
      "emmu-v5-rmap-xip",
    ]);
  });
  await t.step("a candidate baseline: only the candidates that follow it", () => {
    assert.deepEqual(revisionsAfter(revisions, "emmu-v5-rmap"), ["emmu-v5-rmap-xip"]);
    assert.deepEqual(revisionsAfter(revisions, "emmu-v5-holt-guard"), []);
  });
  await t.step("an unknown baseline is refused", () => {
    assert.throws(() => revisionsAfter(revisions, "emmu-v9"), RangeError);
  });
});

Deno.test("changeSummary() counts each scenario once, and the counts add up", () => {
  const step = model().lineages[0].steps.find((s) => s.to === "emmu-v5")!;
  const s = changeSummary(step.scenarios);
  assert.equal(s.regression + s.fix + s.both + s.change + s.same, s.scenarios);
  assert.equal(s.scenarios, step.scenarios.length);
  // From the pins: fork-enomem goes from stale-secondary (v4) to no-progress,unbalanced-range (v5).
  const swapped = step.scenarios.filter((c) => {
    const from = pinned(c.scenario, "emmu-v4");
    const to = pinned(c.scenario, "emmu-v5");
    return to.some((k) => !from.includes(k)) && from.some((k) => !to.includes(k));
  }).map((c) => c.scenario);
  assert.deepEqual(swapped, ["fork-enomem"]);
  assert.equal(s.both, 1);
});

Deno.test("renderMail() of the emmu lineage stays within 78 columns and cites the pins", () => {
  const text = renderMail(model());
  for (const line of text.split("\n")) assert.ok(line.length <= MAIL_WIDTH, line);
  // The cite of the pin of truncate-contended on emmu-v5, its first words.
  const cite = PINS["truncate-contended"]["emmu-v5"]?.cite ??
    PINS["truncate-contended"].default.cite;
  const words = cite.split(/\s+/).slice(0, 3).join(" ");
  assert.ok(text.replace(/\n +/g, " ").includes(words), words);
});

Deno.test("parseExpectations() refuses a malformed table, naming the field", () => {
  const bad = (raw: unknown, field: RegExp) => {
    assert.throws(() => parseExpectations(raw, "mine.json"), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, field);
      return true;
    });
  };
  bad([], /Cannot load "mine\.json": file must be an object/);
  bad({ s: { r: { cite: "x" } } }, /field "s\.r\.kinds" must be an array/);
  bad({ s: { r: { kinds: [], cite: "" } } }, /field "s\.r\.cite" must be a non-empty string/);
  bad({ s: { r: { kinds: [], cite: "x", verdict: 1 } } }, /field "s\.r\.verdict" is unknown/);
  bad({ s: { r: { kinds: [], cite: "x", returns: { a: 1 } } } }, /field "s\.r\.returns\.a"/);
  assert.throws(() => loadExpectationFile("no/such/file.json"), InputError);
});

Deno.test("judge() tells a match, a mismatch and an unpinned cell apart", () => {
  const o = matrix.cells.find((c) =>
    c.scenario === "truncate-contended" && c.revision === "emmu-v5"
  )!;
  const [match] = judge([o], PINS);
  assert.equal(match.result, "match");
  const [miss] = judge([o], { "truncate-contended": { default: { kinds: [], cite: "mine" } } });
  assert.equal(miss.result, "mismatch");
  assert.match(miss.diagnosis!, /^kinds \[unbalanced-range\] != pinned \[\]/);
  assert.equal(judge([o], {})[0].result, "unpinned");
});
