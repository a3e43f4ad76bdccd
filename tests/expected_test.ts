import assert from "node:assert/strict";
import { loadRevisionDir, loadScenarioDir, runScenario } from "../mod.ts";
import { expectationFor, loadExpectations, mismatch } from "./_expected.ts";

const table = loadExpectations();
const scenarios = loadScenarioDir("scenarios");
const revisions = loadRevisionDir("patches");

Deno.test("expectations/emmu.json pins every scenario and names only known revisions", () => {
  assert.deepEqual(Object.keys(table).sort(), scenarios.map((s) => s.id).sort());
  const ids = new Set(revisions.map((r) => r.id));
  for (const [scenario, row] of Object.entries(table)) {
    assert.ok(row.default, `${scenario} has no default`);
    for (const [rev, e] of Object.entries(row)) {
      assert.ok(rev === "default" || ids.has(rev), `${scenario}: unknown revision ${rev}`);
      assert.ok(e.cite.length > 20, `${scenario}/${rev}: a pinned expectation needs its citation`);
      assert.ok(
        e.note === undefined || e.note.length > 20,
        `${scenario}/${rev}: a note says what changed and why`,
      );
    }
  }
});

for (const s of scenarios) {
  for (const r of revisions.filter((r) => r.base === s.kernel)) {
    const e = expectationFor(table, s.id, r.id);
    Deno.test(`runScenario() gives the pinned verdict for ${s.id} on ${r.id}`, () => {
      const problem = mismatch(runScenario(s, r), e);
      assert.equal(problem, null, `${problem}\n  pinned from: ${e.cite}`);
    });
  }
}
