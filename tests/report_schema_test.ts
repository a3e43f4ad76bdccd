import assert from "node:assert/strict";
import { VIOLATION_KINDS } from "../mod.ts";
import { CELL_STATUSES, OUTCOME_PARTS } from "../src/report/diff.ts";
import { type Schema, validate } from "./_json_schema.ts";
import { cliInProcess, type Result } from "./_cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SCHEMA: Schema = JSON.parse(Deno.readTextFileSync(`${ROOT}docs/report-schema.json`));

/** The JSON report of this checkout's scenarios and revisions, from `main()` in this process. */
function report(...args: string[]): Promise<Result> {
  return cliInProcess("report", "--format", "json", ...args);
}

Deno.test("docs/report-schema.json documents every field and matches the code's vocabularies", async (t) => {
  await t.step("every property and definition has a description", () => {
    const missing: string[] = [];
    const walk = (s: Schema, path: string) => {
      for (const [k, v] of Object.entries((s.properties as Record<string, Schema>) ?? {})) {
        if (typeof v.description !== "string" || v.description === "") missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
      if (s.items) walk(s.items as Schema, `${path}[]`);
      if (typeof s.additionalProperties === "object") {
        walk(s.additionalProperties as Schema, `${path}.*`);
      }
    };
    walk(SCHEMA, "$");
    for (const [name, def] of Object.entries(SCHEMA.$defs as Record<string, Schema>)) {
      if (typeof def.description !== "string") missing.push(`$defs.${name}`);
      walk(def, `$defs.${name}`);
    }
    assert.deepEqual(missing, []);
  });
  await t.step("the enums are the code's", () => {
    const defs = SCHEMA.$defs as Record<string, Schema>;
    assert.deepEqual(defs.kind.enum, [...VIOLATION_KINDS]);
    assert.deepEqual(defs.status.enum, [...CELL_STATUSES]);
    assert.deepEqual(defs.outcomePart.enum, [...OUTCOME_PARTS]);
  });
});

Deno.test("report --format json validates against docs/report-schema.json", async (t) => {
  // The whole report, races included, is validated in tests/merge_test.ts, which runs it anyway.
  await t.step("one lineage against a baseline, without races", async () => {
    const r = await report("--lineage", "emmu", "--baseline", "emmu-v1", "--no-races");
    assert.equal(r.code, 1, "later revisions of emmu regress against emmu-v1");
    const value = JSON.parse(r.stdout);
    assert.deepEqual(validate(SCHEMA, value), []);
    assert.equal(value.races, undefined);
    assert.equal(value.baseline.revision, "emmu-v1");
    assert.ok(value.baseline.regressions.length > 0);
  });
  await t.step("with --expect FILE, the judgements are against the file", async () => {
    // A user's table that pins truncate-contended to pass everywhere: emmu-v5 differs
    // (expectations/emmu.json pins unbalanced-range there).
    const dir = Deno.makeTempDirSync({ prefix: "mmbisect-schema-" });
    try {
      const file = `${dir}/pins.json`;
      Deno.writeTextFileSync(
        file,
        JSON.stringify({ "truncate-contended": { default: { kinds: [], cite: "mine" } } }),
      );
      const r = await report("--lineage", "emmu", "--no-races", "--expect", file);
      assert.equal(r.code, 1, "a cell does not match the file");
      const value = JSON.parse(r.stdout);
      assert.deepEqual(validate(SCHEMA, value), []);
      const judged = value.judgements.filter((j: { result: string }) => j.result !== "unpinned");
      assert.ok(judged.every((j: { scenario: string }) => j.scenario === "truncate-contended"));
      const v5 = judged.find((j: { revision: string }) => j.revision === "emmu-v5");
      assert.equal(v5.result, "mismatch");
      assert.match(v5.diagnosis, /^kinds \[unbalanced-range\] != pinned \[\]/);
      assert.equal(v5.expected.cite, "mine");
      // A judgement without its result does not validate.
      delete value.judgements[0].result;
      assert.deepEqual(validate(SCHEMA, value), [
        "$.judgements[0]: must have required property 'result'",
      ]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
});
