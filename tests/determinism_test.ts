import assert from "node:assert/strict";
import { loadRevisionDir, loadScenarioDir, outcomeJson, runScenario } from "../mod.ts";

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
