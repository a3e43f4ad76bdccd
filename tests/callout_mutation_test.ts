import assert from "node:assert/strict";
import { loadRevisionDir, loadScenarioDir, type Revision, runScenario } from "../mod.ts";
import { expectationFor, loadExpectations, mismatch } from "./_expected.ts";

const table = loadExpectations();
const scenarios = loadScenarioDir("scenarios");
const revisions = loadRevisionDir("patches");

/** The revision with one callout taken out of one path. */
function without(rev: Revision, path: string, index: number): Revision {
  const paths = { ...rev.paths };
  paths[path] = { ...paths[path], callouts: paths[path].callouts.filter((_, i) => i !== index) };
  return { ...rev, paths };
}

for (const rev of revisions) {
  Deno.test(`runScenario() fails a pinned expectation when any single callout of ${rev.id} is removed`, async (t) => {
    for (const [path, cfg] of Object.entries(rev.paths)) {
      for (let i = 0; i < cfg.callouts.length; i++) {
        const spec = cfg.callouts[i];
        await t.step(`${path}:${spec.at}:${spec.call}`, () => {
          const mutant = without(rev, path, i);
          // The first scenario whose pin notices is enough: the others need not run.
          const caught = scenarios.filter((s) => s.kernel === rev.base).some((s) =>
            mismatch(runScenario(s, mutant), expectationFor(table, s.id, rev.id)) !== null
          );
          assert.ok(
            caught,
            `no pinned expectation notices ${rev.id} without ${path}:${spec.at}:${spec.call}`,
          );
        });
      }
    }
  });
}
