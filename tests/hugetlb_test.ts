import assert from "node:assert/strict";
import {
  loadRevisionDir,
  loadScenarioDir,
  parseRevision,
  type Revision,
  runScenario,
} from "../mod.ts";

import { hugeScenario } from "./_fixtures.ts";

const revisions = loadRevisionDir("patches");
const lookup = (id: string) => revisions.find((r) => r.id === id);
const mainline = lookup("mainline-2.6.27")!;
const scenarios = loadScenarioDir("scenarios");
const byId = (id: string) => scenarios.find((s) => s.id === id)!;

/** mainline-2.6.27 with callouts added where a later kernel has them. */
function mainlineWith(paths: Record<string, unknown>): Revision {
  return parseRevision(
    { id: "test-later", extends: "mainline-2.6.27", paths },
    "test-later.json",
    lookup,
  );
}

const range = (at: string, call: string, r: string, guard?: string) => ({
  at,
  call,
  range: r,
  ...(guard ? { guard } : {}),
  cite: "docs/sources.md §7",
});

/** copy_hugetlb_page_range as Andreas Sandberg's fix (2013) has it: start before the loop, end after it, both when cow. */
const sandberg = {
  copy_hugetlb_page_range: {
    callouts: [
      range("entry", "invalidate_range_start", "vma", "is_cow_mapping"),
      range("out", "invalidate_range_end", "vma", "is_cow_mapping"),
    ],
  },
};

/** hugetlb_cow as Doug Doan's fix (2010) has it: the pair around the pte change, under page_table_lock. */
const doan = {
  hugetlb_cow: {
    callouts: [
      range("copy.before_clear", "invalidate_range_start", "hpage"),
      range("copy.after_set", "invalidate_range_end", "hpage"),
    ],
  },
};

/** hugetlb_cow after "mm: move all mmu notifier invocations to be done outside the PT lock" (2012). */
const outsideLock = {
  hugetlb_cow: {
    callouts: [
      range("copy.after_copy", "invalidate_range_start", "hpage"),
      range("copy.release", "invalidate_range_end", "hpage"),
    ],
  },
};

/** The kinds and steps of an outcome's violations, as "kind@step". */
const found = (
  o: { violations: { kind: string; step: number }[] },
) => [...new Set(o.violations.map((v) => `${v.kind}@${v.step}`))];

Deno.test("runScenario() shows the hugetlb gaps of mainline closed by the later kernels' calls", async (t) => {
  // hugetlb-cow-after-fork: 2 guest read (2.6.27's KVM faults with write=1, force=1: a writable
  // spte on A's page), 3 fork, 4 A's write (hugetlb_cow copies), 5 guest write.
  const cow = byId("hugetlb-cow-after-fork");
  const fork = byId("hugetlb-fork-wrprotect");
  await t.step("on mainline-2.6.27 both fail", () => {
    const c = runScenario(cow, mainline);
    assert.deepEqual(c.kinds, ["lost-write", "stale-secondary"]);
    // The fork leaves the writable spte over a read-only pte, the COW break leaves it on the old
    // page, and the guest's write lands on the page only the child maps.
    assert.deepEqual(found(c), ["stale-secondary@3", "stale-secondary@4", "lost-write@5"]);
    const f = runScenario(fork, mainline);
    // The guest's write lands on the page A still maps (read-only): no data lost, a stale permission.
    assert.deepEqual(f.kinds, ["stale-secondary"]);
    assert.deepEqual(found(f), ["stale-secondary@3"]);
  });
  await t.step("Sandberg's copy_hugetlb_page_range calls fix the fork", () => {
    const out = runScenario(fork, mainlineWith(sandberg));
    assert.deepEqual(out.kinds, []);
    const calls = out.trace.filter((e) => e.step === 3).map((e) => `${e.call} ${e.range}`);
    assert.deepEqual(calls, [
      "invalidate_range_start 0x40000000-0x40400000",
      "invalidate_range_end 0x40000000-0x40400000",
    ]);
    // With forced faults KVM can map the page hugetlb_cow replaces only through a spte that
    // survived the fork: the fork's calls alone clear the COW scenario too.
    assert.deepEqual(runScenario(cow, mainlineWith(sandberg)).kinds, []);
  });
  await t.step("Doan's hugetlb_cow calls fix the COW break", () => {
    const out = runScenario(cow, mainlineWith(doan));
    // What is left is the fork's gap (step 3), which Sandberg's calls close; nothing from step 4 on.
    assert.deepEqual(found(out), ["stale-secondary@3"]);
    const calls = out.trace.filter((e) => e.step === 4).map((e) => `${e.call} ${e.range}`);
    assert.deepEqual(calls, [
      "invalidate_range_start 0x40000000-0x40200000",
      "invalidate_range_end 0x40000000-0x40200000",
    ]);
    assert.ok(
      out.trace.filter((e) => e.step === 4).every((e) => e.inAtomic),
      "under page_table_lock",
    );
    assert.deepEqual(runScenario(cow, mainlineWith({ ...sandberg, ...doan })).kinds, []);
  });
  await t.step("the 2012 placement calls start with page_table_lock dropped", () => {
    const out = runScenario(cow, mainlineWith(outsideLock));
    assert.deepEqual(found(out), ["stale-secondary@3"]);
    const start = out.trace.find((e) => e.step === 4 && e.call === "invalidate_range_start")!;
    assert.ok(start, "a start at the COW break");
    assert.ok(!start.inAtomic, "sleepable");
    assert.ok(!start.locks.some((l) => l.startsWith("page_table_lock")), start.locks.join(" "));
    assert.deepEqual(runScenario(cow, mainlineWith({ ...sandberg, ...outsideLock })).kinds, []);
  });
});

Deno.test("hugetlb_cow makes an exclusive huge page writable in place and copies a shared one", () => {
  const reuse = runScenario(
    hugeScenario([
      { op: "touch", mm: "A", addr: "0x40000000", access: "read" },
      { op: "touch", mm: "A", addr: "0x40000000", access: "write" },
      { op: "exit", mm: "A" },
    ]),
    mainline,
  );
  assert.deepEqual(reuse.kinds, []);
  assert.equal(reuse.counters.pagesAllocated, 1, "avoidcopy: page_count(old_page) == 1");
  const copy = runScenario(
    hugeScenario([
      { op: "touch", mm: "A", addr: "0x40000000", access: "read" },
      { op: "fork", mm: "A", child: "B" },
      { op: "touch", mm: "A", addr: "0x40000000", access: "write" },
      { op: "exit", mm: "B" },
      { op: "exit", mm: "A" },
    ]),
    mainline,
  );
  assert.deepEqual(copy.kinds, []);
  assert.equal(copy.counters.pagesAllocated, 2);
  assert.equal(copy.counters.pagesFreed, 2, "both huge pages go at the exits");
});

Deno.test("copy_hugetlb_page_range write-protects the parent only in a COW mapping", () => {
  const steps = [
    { op: "register", secondary: "kvm0" },
    { op: "guest", secondary: "kvm0", addr: "0x40000000", access: "write" },
    { op: "fork", mm: "A", child: "B" },
    { op: "guest", secondary: "kvm0", addr: "0x40000000", access: "write" },
  ];
  assert.deepEqual(runScenario(hugeScenario(steps, { share: "shared" }), mainline).kinds, []);
  // Private: the spte stays writable over the read-only pte; the guest's write lands on the page
  // A still maps, so it is a stale permission, not a lost write.
  assert.deepEqual(runScenario(hugeScenario(steps), mainline).kinds, ["stale-secondary"]);
});

Deno.test("copy_hugetlb_page_range returns -ENOMEM past the exit hook point but through out", () => {
  const steps = [
    { op: "register", secondary: "kvm0" },
    { op: "touch", mm: "A", addr: "0x40000000", access: "write" },
    { op: "fork", mm: "A", child: "B", fail: { pud: [1] } },
    { op: "guest", secondary: "kvm0", addr: "0x40000000", access: "write" },
  ];
  const atExit = mainlineWith({
    copy_hugetlb_page_range: {
      callouts: [
        range("entry", "invalidate_range_start", "vma", "is_cow_mapping"),
        range("exit", "invalidate_range_end", "vma", "is_cow_mapping"),
      ],
    },
  });
  const failed = runScenario(hugeScenario(steps), atExit);
  assert.equal(failed.returns[3].value, "-ENOMEM");
  // An end only on success leaves KVM's mmu_notifier_count raised: its next fault retries for ever.
  assert.deepEqual(failed.kinds, ["no-progress", "unbalanced-range"]);
  assert.deepEqual(runScenario(hugeScenario(steps), mainlineWith(sandberg)).kinds, []);
});

Deno.test("get_user_pages on a huge page faults through hugetlb_fault, not handle_mm_fault", () => {
  const out = runScenario(
    hugeScenario([
      { op: "register", secondary: "kvm0" },
      { op: "guest", secondary: "kvm0", addr: "0x40200000", access: "write" },
    ]),
    mainline,
  );
  assert.deepEqual(out.kinds, []);
  assert.equal(out.counters.faults, 0, "follow_hugetlb_page calls hugetlb_fault directly");
  assert.equal(out.counters.pagesAllocated, 1);
});
