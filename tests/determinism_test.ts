import assert from "node:assert/strict";
import {
  loadRevisionDir,
  loadScenarioDir,
  outcomeJson,
  revisionHash,
  runScenario,
  scenarioHash,
} from "../mod.ts";
import { digest } from "../src/model/state.ts";

Deno.test("runScenario() gives byte-identical outcome JSON on every run", () => {
  const revisions = loadRevisionDir("patches");
  for (const s of loadScenarioDir("scenarios")) {
    for (const r of revisions.filter((r) => r.base === s.kernel)) {
      assert.equal(
        outcomeJson(runScenario(s, r)),
        outcomeJson(runScenario(s, r)),
        `${s.id} on ${r.id}`,
      );
    }
  }
});

Deno.test("revisionHash() and scenarioHash() hash the content, each copy with content of its own", () => {
  const [rev] = loadRevisionDir("patches");
  const [s] = loadScenarioDir("scenarios");
  assert.equal(revisionHash(rev), digest(rev.resolved));
  assert.equal(scenarioHash(s), digest(s.source));
  // Asked again, the same; a copy with other content, its own hash.
  assert.equal(revisionHash(rev), digest(rev.resolved));
  const other = { ...rev, resolved: { ...rev.resolved, title: `${rev.title}, changed` } };
  assert.equal(revisionHash(other), digest(other.resolved));
  assert.notEqual(revisionHash(other), revisionHash(rev));
  const moved = { ...s, source: { ...(s.source as object), purpose: "changed" } };
  assert.notEqual(scenarioHash(moved), scenarioHash(s));
});
