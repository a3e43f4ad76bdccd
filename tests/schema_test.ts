import assert from "node:assert/strict";
import { schemaFiles } from "../tools/schemas.ts";
import { InputError, parseRevision, parseScenario } from "../mod.ts";
import { loadRevisionDir } from "../src/run/revision.ts";
import { SMALL_SCENARIO } from "./_fixtures.ts";
import { ajv } from "./_json_schema.ts";

const files = schemaFiles();
const scenarioValid = ajv.compile(JSON.parse(files["docs/scenario.schema.json"]));
const revisionValid = ajv.compile(JSON.parse(files["docs/revision.schema.json"]));
const revisions = loadRevisionDir("patches");

function read(path: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(path));
}

Deno.test("schemaFiles() equals the checked-in schemas (deno run -A tools/schemas.ts)", () => {
  for (const [path, text] of Object.entries(files)) {
    assert.equal(Deno.readTextFileSync(path), text, `${path} is stale`);
  }
});

Deno.test("the schemas accept every shipped scenario and revision", async (t) => {
  for (const [dir, valid] of [["scenarios", scenarioValid], ["patches", revisionValid]]) {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
      await t.step(`${dir}/${e.name}`, () => {
        const ok = valid(read(`${dir}/${e.name}`));
        assert.ok(ok, JSON.stringify(valid.errors?.slice(0, 3)));
      });
    }
  }
});

Deno.test("the scenario schema accepts a $schema reference", () => {
  const s = { $schema: "../docs/scenario.schema.json", ...read("scenarios/munmap.json") };
  assert.ok(scenarioValid(s), JSON.stringify(scenarioValid.errors));
  assert.ok(parseScenario(s, "x.json", "x"));
});

// The malformed cases of tests/scenario_test.ts, tests/revision_test.ts and
// tests/bad_input_test.ts that a schema can express. Not here, as a schema
// cannot check them: an address outside the mappings made so far, a
// secondary or file a step names but the scenario does not declare, an id
// used twice, a cached index past the file's own size, the total pages of a
// scenario, the nesting depth, a fail_optional without a fail, and a
// revision's `extends` or `follows` naming an unknown revision.
const base = SMALL_SCENARIO;
const nl = read("scenarios/nl-evict-locked.json");
const BAD_SCENARIOS: [string, unknown][] = [
  ["unknown top-level field", { ...base, expect: [] }],
  ["unknown operation", { ...base, steps: [{ op: "explode", mm: "A" }] }],
  ["unknown field of an operation", { ...base, steps: [{ ...base.steps[0], colour: "red" }] }],
  ["missing field", { ...base, steps: [{ op: "munmap", mm: "A", addr: "0x1000" }] }],
  ["unaligned address", { ...base, steps: [{ ...base.steps[0], addr: "0x100001" }] }],
  ["bad allocation kind", { ...base, steps: [{ ...base.steps[0], fail: { pgd: [1] } }] }],
  ["unknown kernel tree", { ...base, kernel: "2.4" }],
  ["a 2.5.42 operation in a 2.6.24 scenario", {
    ...base,
    steps: [...base.steps, { op: "read", mm: "A", addr: "0x100000" }],
  }],
  ["a 2.6.24 operation in a 2.5.42 scenario", {
    ...nl,
    steps: [...(nl.steps as unknown[]), { op: "touch", mm: "A", addr: "0x0", access: "read" }],
  }],
  ["MAP_POPULATE in a 2.6.24 scenario", {
    ...base,
    steps: [{ ...base.steps[0], populate: true }],
  }],
  ["cached in a 2.6.24 scenario", {
    ...base,
    files: [{ name: "f", pages: 1, kind: "regular", cached: "all" }],
  }],
  ["a secondary MMU in 2.5.42", { ...nl, secondaries: base.secondaries }],
  ["a word past 32 bits", {
    ...nl,
    steps: [{ op: "sys_remap_file_pages", mm: "A", start: 0, size: 1, prot: 0, pgoff: 2 ** 32 }],
  }],
  ["a negative word", {
    ...nl,
    steps: [{ op: "sys_remap_file_pages", mm: "A", start: 0, size: -1, prot: 0, pgoff: 0 }],
  }],
  ["a length past LIMITS.pages", { ...base, steps: [{ ...base.steps[0], len: 2 ** 32 }] }],
  ["a file past LIMITS.pages", { ...base, files: [{ name: "f", pages: 2 ** 32, kind: "shmem" }] }],
  ["a race with one thread", {
    ...base,
    steps: [...base.steps, { op: "race", threads: { cpu0: [base.steps[1]] } }],
  }],
  ["a race in a race", {
    ...base,
    steps: [...base.steps, {
      op: "race",
      threads: { cpu0: [base.steps[1]], cpu1: [{ op: "race", threads: {} }] },
    }],
  }],
  ["a thread on a race", {
    ...base,
    steps: [...base.steps, {
      op: "race",
      thread: "cpu0",
      threads: { cpu0: [base.steps[1]], cpu1: [base.steps[1]] },
    }],
  }],
  ["a fail in a during", {
    ...base,
    steps: [base.steps[0], {
      ...base.steps[1],
      during: { at: "lock mmap_sem:A", step: { ...base.steps[1], fail: { page: 1 } } },
    }],
  }],
  ["a zero length", { ...base, steps: [{ ...base.steps[0], len: 0 }] }],
  ["no step", { ...base, steps: [] }],
];

const v5 = read("patches/emmu-v5.json");
const f8 = read("patches/nl-2.5.42-f8.json");
const f8nl = f8.nonlinear as Record<string, Record<string, unknown>>;
/** V5 with one callout in unmap_region, at before_unmap_vmas. */
function unmapRegion(callout: Record<string, string>): Record<string, unknown> {
  return {
    ...v5,
    paths: { unmap_region: { callouts: [{ at: "before_unmap_vmas", cite: "x", ...callout }] } },
  };
}
const BAD_REVISIONS: [string, unknown][] = [
  ["a key naming a bug", { ...v5, hasEndWithoutBegin: true }],
  ["an unknown kernel path", {
    ...v5,
    paths: { ...v5.paths as object, do_magic: { callouts: [] } },
  }],
  ["an unknown hook point", {
    ...v5,
    paths: { do_wp_page: { callouts: [{ at: "somewhere", call: "invalidate_page", cite: "x" }] } },
  }],
  [
    "a range the hook point does not have in scope",
    unmapRegion({
      call: "invalidate_range_begin",
      range: "page",
    }),
  ],
  ["a range callout without its range", unmapRegion({ call: "invalidate_range_begin" })],
  ["a page callout where no address is in scope", unmapRegion({ call: "invalidate_page" })],
  ["an atomic expression the point does not compute", {
    ...v5,
    paths: {
      do_wp_page: {
        callouts: [{ at: "entry", call: "invalidate_page", atomic: "maybe", cite: "x" }],
      },
    },
  }],
  ["a callout without its citation", {
    ...v5,
    paths: { do_wp_page: { callouts: [{ at: "entry", call: "invalidate_page" }] } },
  }],
  ["an unknown chain variant", { ...v5, chain: { ...v5.chain as object, release: "never" } }],
  ["an id in capitals", { ...v5, id: "EMMU-V9" }],
  ["a notifier chain on 2.5.42", { ...f8, chain: v5.chain }],
  ["a nonlinear config on 2.6.24", { ...v5, nonlinear: f8nl }],
  ["a missing nonlinear part", {
    ...f8,
    nonlinear: Object.fromEntries(Object.entries(f8nl).filter(([k]) => k !== "shmem_populate")),
  }],
  ["an unknown nonlinear behaviour", {
    ...f8,
    nonlinear: { ...f8nl, filemap_populate: { ...f8nl.filemap_populate, no_page: "retry" } },
  }],
  ["an offset expression the model does not know", {
    ...f8,
    nonlinear: {
      ...f8nl,
      default_prot: { set: "force-none-unless-offset-matches", offset: "start >> 12", cite: "c" },
    },
  }],
  ["an offset-matching default without its offset", {
    ...f8,
    nonlinear: { ...f8nl, default_prot: { set: "force-none-unless-offset-matches", cite: "c" } },
  }],
  ["a nonlinear part without its citation", {
    ...f8,
    nonlinear: {
      ...f8nl,
      remap_args: Object.fromEntries(
        Object.entries(f8nl.remap_args).filter(([k]) => k !== "cite"),
      ),
    },
  }],
  [
    "a revision without a chain",
    Object.fromEntries(Object.entries(v5).filter(([k]) => k !== "chain")),
  ],
  ["an extending revision with an unknown field", { id: "x", extends: "emmu-v5", colour: "red" }],
  ["a scenario file read as a revision", read("scenarios/munmap.json")],
];

Deno.test("the scenario schema rejects what parseScenario() rejects", async (t) => {
  for (const [name, raw] of BAD_SCENARIOS) {
    await t.step(name, () => {
      assert.throws(() => parseScenario(raw, "x.json", "x"), InputError, "the loader rejects it");
      assert.equal(scenarioValid(raw), false, "the schema rejects it");
    });
  }
});

Deno.test("the revision schema rejects what parseRevision() rejects", async (t) => {
  const lookup = (id: string) => revisions.find((r) => r.id === id);
  for (const [name, raw] of BAD_REVISIONS) {
    await t.step(name, () => {
      assert.throws(
        () => parseRevision(raw, "x.json", lookup),
        InputError,
        "the loader rejects it",
      );
      assert.equal(revisionValid(raw), false, "the schema rejects it");
    });
  }
});

Deno.test("the revision schema accepts a revision that extends another with few keys", () => {
  const raw = { id: "my-fix", extends: "emmu-v5", chain: { list: "srcu" } };
  assert.ok(revisionValid(raw), JSON.stringify(revisionValid.errors));
  assert.ok(parseRevision(raw, "x.json", (id) => revisions.find((r) => r.id === id)));
});
