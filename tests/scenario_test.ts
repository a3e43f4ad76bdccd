import assert from "node:assert/strict";
import { HOOK_POINTS } from "../src/kernel/hooks.ts";
import { SMALL_SCENARIO } from "./_fixtures.ts";
import { InputError, loadScenarioDir, NONLINEAR_PATHS, parseScenario } from "../mod.ts";

const base = SMALL_SCENARIO;

function rejects(raw: unknown, field: string) {
  assert.throws(() => parseScenario(raw, "scenarios/x.json", "x"), (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.file, "scenarios/x.json");
    assert.equal(e.field, field);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("parseScenario() accepts a well-formed scenario", () => {
  const s = parseScenario(base, "scenarios/x.json", "x");
  assert.equal(s.steps.length, 2);
  assert.equal(s.steps[1].args.addr, 0x101000);
  assert.equal(s.steps[1].thread, "cpu0");
});

Deno.test("parseScenario() names the file and field of bad input", async (t) => {
  await t.step("unknown top-level field", () => rejects({ ...base, expect: [] }, "expect"));
  await t.step(
    "unknown operation",
    () => rejects({ ...base, steps: [{ op: "explode", mm: "A" }] }, "steps[0].op"),
  );
  await t.step(
    "unknown field of an operation",
    () => rejects({ ...base, steps: [{ ...base.steps[0], colour: "red" }] }, "steps[0].colour"),
  );
  await t.step(
    "missing field",
    () => rejects({ ...base, steps: [{ op: "munmap", mm: "A", addr: "0x1000" }] }, "steps[0].len"),
  );
  await t.step("address outside any mapping", () =>
    rejects({
      ...base,
      steps: [base.steps[0], { op: "touch", mm: "A", addr: "0x900000", access: "read" }],
    }, "steps[1].addr"));
  await t.step("address outside after munmap", () =>
    rejects({
      ...base,
      steps: [
        base.steps[0],
        { op: "munmap", mm: "A", addr: "0x100000", len: "0x2000" },
        { op: "touch", mm: "A", addr: "0x100000", access: "read" },
      ],
    }, "steps[2].addr"));
  await t.step(
    "unaligned address",
    () => rejects({ ...base, steps: [{ ...base.steps[0], addr: "0x100001" }] }, "steps[0].addr"),
  );
  await t.step("undeclared secondary", () =>
    rejects({
      ...base,
      steps: [base.steps[0], { op: "guest", secondary: "gru0", addr: "0x100000", access: "read" }],
    }, "steps[1].secondary"));
  await t.step(
    "bad allocation kind",
    () =>
      rejects({ ...base, steps: [{ ...base.steps[0], fail: { pgd: [1] } }] }, "steps[0].fail.pgd"),
  );
});

Deno.test("parseScenario() accepts an address outside any mapping when the step says so", () => {
  const s = parseScenario(
    {
      ...base,
      steps: [base.steps[0], {
        op: "touch",
        mm: "A",
        addr: "0x900000",
        access: "read",
        outside: true,
      }],
    },
    "scenarios/x.json",
    "x",
  );
  assert.equal(s.steps[1].outside, true);
});

Deno.test("loadScenarioDir() loads scenarios that name only real kernel paths", () => {
  const all = loadScenarioDir("scenarios");
  assert.ok(all.length >= 15, `${all.length} scenarios`);
  const known = new Set([
    ...Object.keys(HOOK_POINTS),
    "get_user_pages",
    "follow_page",
    "__do_fault",
    "do_swap_page",
  ]);
  for (const s of all) {
    assert.ok(s.purpose.length > 20 && !s.purpose.includes("\n"), `${s.id}: one-line purpose`);
    const paths = s.kernel === "2.5.42" ? new Set(NONLINEAR_PATHS) : known;
    for (const p of s.exercises) assert.ok(paths.has(p), `${s.id}: unknown path ${p}`);
  }
});

Deno.test("loadScenarioDir() covers every hooked kernel path with a KVM secondary attached", () => {
  const all = loadScenarioDir("scenarios");
  const covered = new Set(all.flatMap((s) => s.exercises));
  for (const path of Object.keys(HOOK_POINTS)) {
    assert.ok(covered.has(path), `no scenario exercises ${path}`);
  }
  const withKvm = new Set(
    all.filter((s) => s.secondaries.some((x) => x.driver === "kvm")).flatMap((s) => s.exercises),
  );
  // Page-level hook points serve the rmap notifier of EMMU V5 4/4, which only XPmem uses.
  const rmapOnly = (path: string) => Object.values(HOOK_POINTS[path]).every((p) => p.page);
  for (const path of Object.keys(HOOK_POINTS)) {
    if (rmapOnly(path)) assert.ok(covered.has(path), `no scenario exercises ${path}`);
    else assert.ok(withKvm.has(path), `no KVM scenario exercises ${path}`);
  }
  for (const s of all.filter((s) => s.kernel === "2.6.24")) {
    assert.ok(s.secondaries.length > 0, `${s.id} attaches no secondary MMU`);
  }
});

const nonlinear = {
  purpose: "p",
  exercises: ["sys_remap_file_pages"],
  cite: "c",
  kernel: "2.5.42",
  files: [{ name: "f", pages: 4, kind: "regular", cached: [0, 1] }],
  steps: [
    {
      op: "mmap",
      mm: "A",
      addr: "0x40000000",
      len: "0x2000",
      prot: "rw",
      share: "shared",
      file: "f",
    },
    { op: "sys_remap_file_pages", mm: "A", start: "0x40000001", size: 1, prot: 3, pgoff: 3 },
    { op: "read", mm: "A", addr: "0x40000000" },
  ],
};

Deno.test("parseScenario() takes raw syscall words in a 2.5.42 scenario", () => {
  const s = parseScenario(nonlinear, "scenarios/x.json", "x");
  assert.equal(s.kernel, "2.5.42");
  assert.equal(s.steps[1].args.start, 0x40000001);
  assert.deepEqual(s.files[0].cached, [0, 1]);
});

Deno.test("parseScenario() names the file and field of bad 2.5.42 input", async (t) => {
  const step = (i: number, over: Record<string, unknown>) => ({
    ...nonlinear,
    steps: nonlinear.steps.map((s, j) => j === i ? { ...s, ...over } : s),
  });
  await t.step("unknown kernel tree", () => rejects({ ...nonlinear, kernel: "2.4" }, "kernel"));
  await t.step(
    "a 2.6.24 operation in a 2.5.42 scenario",
    () => rejects(step(2, { op: "touch", access: "read" }), "steps[2].op"),
  );
  await t.step(
    "a 2.5.42 operation in a 2.6.24 scenario",
    () => rejects({ ...base, steps: [...base.steps, nonlinear.steps[2]] }, "steps[2].op"),
  );
  await t.step(
    "MAP_POPULATE in a 2.6.24 scenario",
    () => rejects({ ...base, steps: [{ ...base.steps[0], populate: true }] }, "steps[0].populate"),
  );
  await t.step(
    "a word past 32 bits",
    () => rejects(step(1, { pgoff: "0x100000000" }), "steps[1].pgoff"),
  );
  await t.step("a negative word", () => rejects(step(1, { size: -1 }), "steps[1].size"));
  await t.step(
    "a cached page past the file",
    () =>
      rejects(
        { ...nonlinear, files: [{ ...nonlinear.files[0], cached: [4] }] },
        "files[0].cached[0]",
      ),
  );
  await t.step(
    "cached in a 2.6.24 scenario",
    () =>
      rejects(
        { ...base, files: [{ name: "f", pages: 1, kind: "regular", cached: "all" }] },
        "files[0].cached",
      ),
  );
  await t.step(
    "a secondary MMU in 2.5.42",
    () => rejects({ ...nonlinear, secondaries: base.secondaries }, "secondaries"),
  );
});
