/**
 * The anon_vma and its lock, as v2.6.24 and v2.6.27 use them: an
 * anonymous page's reverse map is its vma's anon_vma, whose lock
 * `page_lock_anon_vma()` takes (mm/rmap.c:159-172), which the vmas of a
 * fork's child share (`anon_vma_link()`, kernel/fork.c:265), which
 * `free_pgtables()` takes to unlink the vma (`anon_vma_unlink()`,
 * mm/memory.c:272-275, mm/rmap.c:122-135), and which 2.6.27's
 * `mm_take_all_locks()` takes after the mappings' `i_mmap_lock`s
 * (mm/mmap.c:2361-2374).
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadRevisionDir, parseScenario, Run } from "../mod.ts";
import { mmapStep, touchStep } from "./_fixtures.ts";

const revisions = loadRevisionDir("patches");
const mainline = revisions.find((r) => r.id === "mainline-2.6.27")!;
const v2 = revisions.find((r) => r.id === "emmu-v2")!;

/** Runs `steps` on `revision` to the end: the run, and the lock points each step passed. */
function run(
  steps: Record<string, unknown>[],
  revision = mainline,
  extra: Record<string, unknown> = {},
): { run: Run; locks: string[][] } {
  const s = parseScenario(
    {
      purpose: "anon_vma locks",
      exercises: [],
      cite: "v2.6.24 mm/rmap.c:111-172",
      ...extra,
      steps,
    },
    "anon_vma_test",
    "anon-vma",
  );
  const locks: string[][] = steps.map(() => []);
  const r = new Run(s, revision, {
    preemptive: true,
    trace: false,
    onPoint: (step, _thread, p) => {
      if (p.label.startsWith("lock ")) locks[step].push(p.label.slice(5));
    },
  });
  r.complete();
  return { run: r, locks };
}

/** Two pages of one anonymous vma at 0x100000, both written. */
const twoPages = [
  mmapStep("0x100000", "0x2000"),
  touchStep("0x100000", "write"),
  touchStep("0x101000", "write"),
];

Deno.test("the pages of an anonymous vma share its anon_vma's lock, and so does a fork's child", async (t) => {
  await t.step("reclaim of either page takes the lock of the vma's anon_vma", () => {
    const { locks } = run([
      ...twoPages,
      { op: "reclaim", mm: "A", addr: "0x100000" },
      { op: "reclaim", mm: "A", addr: "0x101000" },
    ]);
    assert.ok(locks[3].includes("anon_vma:A:0x100000"), locks[3].join(", "));
    assert.ok(locks[4].includes("anon_vma:A:0x100000"), locks[4].join(", "));
  });
  await t.step("each page is in that anon_vma (page->mapping)", () => {
    const { run: r } = run(twoPages);
    const owners = Object.values(r.kernel.state.pages).filter((p) => p.owner.kind === "anon")
      .map((p) => p.owner);
    assert.deepEqual(owners, [
      { kind: "anon", anonVma: "A:0x100000" },
      { kind: "anon", anonVma: "A:0x100000" },
    ]);
  });
  await t.step("fork links the child's vma under that lock, and the child's vma shares it", () => {
    const { run: r, locks } = run([...twoPages, { op: "fork", mm: "A", child: "B" }]);
    assert.ok(locks[3].includes("anon_vma:A:0x100000"), locks[3].join(", "));
    assert.equal(r.kernel.state.mms.B.vmas[0].anonVma, "A:0x100000");
  });
  await t.step(
    "a vma never faulted has no anon_vma, and fork takes no anon_vma lock for it",
    () => {
      const { run: r, locks } = run([
        mmapStep("0x100000", "0x1000"),
        { op: "fork", mm: "A", child: "B" },
      ]);
      assert.deepEqual(locks[1].filter((l) => l.startsWith("anon_vma:")), []);
      assert.equal(r.kernel.state.mms.B.vmas[0].anonVma, false);
    },
  );
});

Deno.test("munmap unlinks an anonymous vma under its anon_vma's lock, after the zap and before the pages are freed", () => {
  // free_pgtables() runs between unmap_vmas() and tlb_finish_mmu() (v2.6.24 mm/mmap.c:1746-1750).
  let ptes = -1;
  let pageLive = false;
  const s = parseScenario(
    {
      purpose: "munmap of a written anonymous vma",
      exercises: ["unmap_vmas"],
      cite: "v2.6.24 mm/memory.c:272-275",
      steps: [...twoPages, { op: "munmap", mm: "A", addr: "0x100000", len: "0x2000" }],
    },
    "anon_vma_test",
    "munmap-anon",
  );
  const r: Run = new Run(s, mainline, {
    preemptive: true,
    trace: false,
    onPoint: (step, _thread, p) => {
      if (step !== 3 || p.label !== "lock anon_vma:A:0x100000") return;
      const mm = r.kernel.state.mms.A;
      ptes = Object.values(mm.ptes).filter((x) => x.t === "present").length;
      pageLive = Object.values(r.kernel.state.pages).some((p) => p.owner.kind === "anon");
    },
  });
  r.complete();
  assert.equal(ptes, 0, "the zap is done when free_pgtables() takes the lock");
  assert.ok(pageLive, "tlb_finish_mmu() has not freed the pages yet");
  assert.deepEqual(r.kernel.state.mms.A.vmas, []);
  assert.deepEqual(r.outcome().kinds, []);
});

Deno.test("mm_take_all_locks() takes the anon_vmas' locks after the mappings' (2.6.27 registration)", async (t) => {
  const steps = [
    mmapStep("0x100000", "0x1000"),
    touchStep("0x100000", "write"),
    mmapStep("0x200000", "0x1000", { file: "data" }),
    { op: "register", secondary: "kvm0" },
  ];
  const extra = {
    files: [{ name: "data", pages: 1, kind: "shmem" }],
    secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
  };
  await t.step("mainline-2.6.27: i_mmap_lock:data, then anon_vma:A:0x100000", () => {
    const { locks } = run(steps, mainline, extra);
    const taken = locks[3].filter((l) => l.startsWith("i_mmap_lock:") || l.startsWith("anon_vma:"));
    assert.deepEqual(taken, ["i_mmap_lock:data", "anon_vma:A:0x100000"]);
  });
  await t.step("emmu-v2, which registers under mmap_sem alone, takes neither", () => {
    const { locks } = run(steps, v2, extra);
    const taken = locks[3].filter((l) => l.startsWith("i_mmap_lock:") || l.startsWith("anon_vma:"));
    assert.deepEqual(taken, []);
  });
});
