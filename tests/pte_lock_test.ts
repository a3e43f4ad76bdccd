/**
 * The page-table walks that change ptes take each table's pte lock once and
 * read the ptes under it, as v2.6.24 does: a zap (`zap_pte_range()`,
 * mm/memory.c:629-698) and mprotect (`change_pte_range()`,
 * mm/mprotect.c:29-75). Reclaim asks the notifiers nothing about a pte an
 * unmap cleared, as `page_check_address()` makes `page_referenced_one()`
 * return early (mm/rmap.c:283-285), and takes no pte lock where its first
 * look finds no present pte (249-254); writeback leaves alone a pte that
 * maps another page by then (its pfn check, line 258). mremap moves every
 * page table the old range has and resets the new vma's truncate count. Each race test drives one schedule: a
 * thread runs to a named scheduling point, another runs to its end, then
 * the first goes on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Decider, loadRevisionDir, loadScenarioDir, parseScenario, Run } from "../mod.ts";
import { mmapStep, touchStep } from "./_fixtures.ts";

const revisions = loadRevisionDir("patches");

/**
 * A decider that runs `first` until its last point is `label`, then every
 * other thread to its end, then `first` again.
 */
function holdAt(first: string, label: string): Decider {
  let parked = false;
  return (enabled) => {
    const me = enabled.find((t) => t.name === first);
    if (me && !parked) {
      if (me.last?.label === label) parked = true;
      else return me;
    }
    return enabled.find((t) => t.name !== first) ?? enabled[0];
  };
}

/**
 * A run of `s` on mainline-2.6.27 with every lock a scheduling point, and the
 * labels of the points `thread` passes in scenario step `step`.
 */
function racedOn2627(s: ReturnType<typeof parseScenario>, step: number, thread: string) {
  const points: string[] = [];
  const run = new Run(s, revisions.find((r) => r.id === "mainline-2.6.27")!, {
    preemptive: true,
    trace: false,
    onPoint: (i, t, p) => {
      if (i === step && t === thread) points.push(p.label);
    },
  });
  return { run, points };
}

/** A scenario of unmap_vmas() run whole on mainline-2.6.27, one thread, no trace. */
function ranOn2627(id: string, raw: Record<string, unknown>): Run {
  const s = parseScenario({ exercises: ["unmap_vmas"], ...raw }, "pte_lock_test", id);
  const run = new Run(s, revisions.find((r) => r.id === "mainline-2.6.27")!, { trace: false });
  run.complete();
  return run;
}

/** Anonymous memory at 0x100000 (4 pages) with its first page touched; then `race`. */
function dontneedRace(threads: Record<string, unknown[]>) {
  return parseScenario(
    {
      purpose: "madvise(MADV_DONTNEED) racing a fault in the same page table",
      exercises: ["zap_page_range", "unmap_vmas"],
      cite: "v2.6.24 mm/memory.c zap_pte_range(), lines 629-698",
      steps: [
        mmapStep("0x100000", "0x4000"),
        touchStep("0x100000", "write"),
        { op: "race", threads },
      ],
    },
    "pte_lock_test",
    "dontneed-race",
  );
}

Deno.test("a zap reads the ptes under the table's pte lock: a fault that maps a pte before the zap takes the lock is zapped", async (t) => {
  const s = dontneedRace({
    cpu0: [{ op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0x4000" }],
    cpu1: [touchStep("0x102000", "write")],
  });
  const rev = revisions.find((r) => r.id === "mainline-2.6.27")!;
  const present = (run: Run, addr: number) => !!run.kernel.state.mms.A.ptes[addr / 0x1000];
  await t.step("the fault maps 0x102000 while the zap waits for the pte lock: zapped", () => {
    const run = new Run(s, rev, { preemptive: true, trace: false });
    run.complete(holdAt("cpu0", "lock ptl:A:0"));
    assert.equal(run.outcome().returns[2].value, "cpu0=0; cpu1=faulted");
    // Before, the zap listed the ptes of the vma first and left the new one mapped.
    assert.equal(present(run, 0x100000), false);
    assert.equal(present(run, 0x102000), false);
  });
  await t.step("the fault comes after the zap: mapped", () => {
    const run = new Run(s, rev, { preemptive: true, trace: false });
    run.complete((enabled) => enabled.find((e) => e.name === "cpu0") ?? enabled[0]);
    assert.equal(present(run, 0x100000), false);
    assert.equal(present(run, 0x102000), true);
  });
});

Deno.test("reclaim asks the notifiers nothing about a page an exit unmapped while it waited for the pte lock", () => {
  // race-exit-reclaim's race, with reclaim held at page_referenced_one()'s pte lock while the
  // exit runs whole: page_check_address() then finds no pte, and there is no age_page callout.
  const s = loadScenarioDir("scenarios").find((x) => x.id === "race-exit-reclaim")!;
  for (const id of ["emmu-v1", "mmun-v3", "mainline-2.6.27"]) {
    const run = new Run(s, revisions.find((r) => r.id === id)!, { preemptive: true });
    run.complete(holdAt("cpu1", "lock ptl:A:0"));
    const o = run.outcome();
    const asked = o.trace.filter((e) => e.step === 5 && e.thread === "cpu1");
    assert.deepEqual(asked, [], id);
    // V1's release oopses on the poisoned next pointer of its first entry (docs/sources.md
    // §5a.1), and the second notifier never gets ->release.
    const exit = id === "emmu-v1" ? ["list-corruption", "release-count"] : [];
    assert.deepEqual(o.kinds, exit, id);
  }
});

Deno.test("a zap frees what it gathered at the end of each ZAP_BLOCK_SIZE, not only at its end", () => {
  // v2.6.24 mm/memory.c:853-866: tlb_finish_mmu() after every block of 8 pages (CONFIG_PREEMPT),
  // then a new gather. Ten pages: one flush after the first eight, one at the end of the zap.
  const touch = (i: number) => ({
    op: "touch",
    mm: "A",
    addr: `0x${(0x100000 + i * 0x1000).toString(16)}`,
    access: "write",
  });
  const run = ranOn2627("dontneed-ten", {
    purpose: "madvise(MADV_DONTNEED) of ten touched pages",
    cite: "v2.6.24 mm/memory.c unmap_vmas(), lines 808-870",
    steps: [
      mmapStep("0x100000", "0xa000"),
      ...Array.from({ length: 10 }, (_, i) => touch(i)),
      { op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0xa000" },
    ],
  });
  assert.equal(run.kernel.state.counters.tlbFlushRange, 2);
  assert.equal(Object.keys(run.kernel.state.mms.A.ptes).length, 0);
});

Deno.test("mprotect takes the pte lock of each page table once, whatever its ptes hold", () => {
  // Three pages touched in one table and a fourth page never touched: one `lock ptl:A:0` point
  // for the whole range (change_pte_range(), v2.6.24 mm/mprotect.c:36-74), where a lock per pte
  // passed three. A race with a thread that never runs in A makes the points visible.
  const touch = (addr: string) => ({ op: "touch", mm: "A", addr, access: "write" });
  const s = parseScenario(
    {
      purpose: "mprotect of a page table with three ptes",
      exercises: ["mprotect_fixup"],
      cite: "v2.6.24 mm/mprotect.c change_pte_range(), lines 29-75",
      steps: [
        mmapStep("0x100000", "0x4000"),
        { op: "mmap", mm: "B", addr: "0x100000", len: "0x1000", prot: "rw", share: "private" },
        touch("0x100000"),
        touch("0x101000"),
        touch("0x102000"),
        {
          op: "race",
          threads: {
            cpu0: [{ op: "mprotect", mm: "A", addr: "0x100000", len: "0x4000", prot: "r" }],
            cpu1: [touchStep("0x100000", "write", "B")],
          },
        },
      ],
    },
    "pte_lock_test",
    "mprotect-table",
  );
  const { run, points } = racedOn2627(s, 5, "cpu0");
  run.complete();
  assert.deepEqual(points.filter((p) => p === "lock ptl:A:0"), ["lock ptl:A:0"]);
  const ptes = run.kernel.state.mms.A.ptes;
  assert.deepEqual([0x100, 0x101, 0x102].map((n) => ptes[n]?.t === "present" && ptes[n].write), [
    false,
    false,
    false,
  ]);
});

/** A shared file mapping at 0x100000 (2 pages), its first page touched, then `after`. */
function fileMapping(after: Record<string, unknown>[]) {
  return parseScenario(
    {
      purpose: "mremap of a file mapping",
      exercises: ["move_page_tables", "move_ptes"],
      cite: "v2.6.24 mm/mremap.c move_page_tables(), move_ptes()",
      files: [{ name: "data", pages: 4, kind: "shmem" }],
      steps: [
        mmapStep("0x100000", "0x2000", { file: "data" }),
        touchStep("0x100000", "write"),
        ...after,
      ],
    },
    "pte_lock_test",
    "mremap-file",
  );
}

Deno.test("mremap moves the ptes of every page table the old range has, even one whose ptes are all none", () => {
  // get_old_pmd() (v2.6.24 mm/mremap.c:26-45) asks whether the page table exists, not whether
  // a pte does: the destination's table is allocated (alloc_new_pmd()) and move_ptes() runs.
  const s = fileMapping([
    { op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0x2000" },
    { op: "mremap", mm: "A", addr: "0x100000", len: "0x2000", new_addr: "0x800000" },
  ]);
  const run = new Run(s, revisions.find((r) => r.id === "mainline-2.6.27")!, { trace: false });
  run.complete();
  const mm = run.kernel.state.mms.A;
  assert.equal(mm.tables.pte[0x800000 / 0x200000], true);
  assert.deepEqual(mm.vmas.map((v) => v.start), [0x800000]);
});

Deno.test("move_ptes clears the new vma's truncate count where it differs from the old vma's", () => {
  // v2.6.24 mm/mremap.c:87-89, under i_mmap_lock: a truncation that finished one of the two vmas
  // must not skip the other. The counts are set by hand where the move waits for i_mmap_lock
  // (the new vma linked, with the mapping's count, by vma_link() under the lock before).
  const s = fileMapping([{
    op: "race",
    threads: {
      cpu0: [{ op: "mremap", mm: "A", addr: "0x100000", len: "0x2000", new_addr: "0x800000" }],
      cpu1: [touchStep("0x101000", "read")],
    },
  }]);
  const rev = revisions.find((r) => r.id === "mainline-2.6.27")!;
  for (const [oldCount, newCount, left] of [[5, 7, undefined], [7, 7, 7]]) {
    const run = new Run(s, rev, { preemptive: true, trace: false });
    let set = false;
    run.complete((enabled, r) => {
      const me = enabled.find((t) => t.name === "cpu0");
      const vmas = r.kernel.state.mms.A.vmas;
      const linked = vmas.some((v) => v.start === 0x800000);
      if (me?.last?.label === "lock i_mmap_lock:data" && linked && !set) {
        vmas.find((v) => v.start === 0x100000)!.truncateCount = oldCount;
        vmas.find((v) => v.start === 0x800000)!.truncateCount = newCount;
        set = true;
      }
      return me ?? enabled[0];
    });
    assert.ok(set, "the move waited for i_mmap_lock");
    const moved = run.kernel.state.mms.A.vmas.find((v) => v.start === 0x800000)!;
    assert.equal(moved.truncateCount, left, `${oldCount} and ${newCount}`);
  }
});

Deno.test("page_mkclean leaves alone a pte that maps another page by the time it holds the pte lock", () => {
  // Writeback of file page 0 finds it mapped at 0x100000 (i_mmap_lock), then waits for the pte
  // lock while another thread unmaps it and maps file page 1 there, dirty. page_check_address()
  // compares the pfn under the lock (v2.6.24 mm/rmap.c:258): page 1's pte stays writable and dirty.
  const map = (pgoff: number) => ({
    op: "mmap",
    mm: "A",
    addr: "0x100000",
    len: "0x1000",
    prot: "rw",
    share: "shared",
    file: "data",
    pgoff,
  });
  const touch = touchStep("0x100000", "write");
  const s = parseScenario(
    {
      purpose: "writeback racing a remap of its page's address",
      exercises: ["page_mkclean_one"],
      cite: "v2.6.24 mm/rmap.c page_check_address(), line 258",
      files: [{ name: "data", pages: 4, kind: "shmem" }],
      steps: [
        map(0),
        touch,
        {
          op: "race",
          threads: {
            cpu0: [{ op: "writeback", file: "data", index: 0 }],
            cpu1: [{ op: "munmap", mm: "A", addr: "0x100000", len: "0x1000" }, map(1), touch],
          },
        },
      ],
    },
    "pte_lock_test",
    "mkclean-remapped",
  );
  const run = new Run(s, revisions.find((r) => r.id === "mainline-2.6.27")!, {
    preemptive: true,
    trace: false,
  });
  run.complete(holdAt("cpu0", "lock ptl:A:0"));
  const pte = run.kernel.state.mms.A.ptes[0x100];
  assert.ok(pte?.t === "present");
  assert.equal(run.kernel.state.pages[pte.pfn].owner.kind, "file");
  assert.deepEqual([pte.write, pte.dirty], [true, true]);
});

Deno.test("reclaim takes no pte lock where its first look finds no present pte", () => {
  // A page that fork shares between A and B. Reclaim finds both ptes under the anon_vma lock
  // and waits for A's pte lock while B's pte is cleared (MADV_DONTNEED). At B's,
  // page_check_address() returns before the lock (v2.6.24 mm/rmap.c:249-254).
  const s = parseScenario(
    {
      purpose: "reclaim of a page whose pte in one of its two mms is cleared meanwhile",
      exercises: ["page_referenced_one"],
      cite: "v2.6.24 mm/rmap.c page_check_address(), lines 249-254",
      steps: [
        mmapStep("0x100000", "0x1000"),
        touchStep("0x100000", "write"),
        { op: "fork", mm: "A", child: "B" },
        {
          op: "race",
          threads: {
            cpu0: [{ op: "reclaim", mm: "A", addr: "0x100000" }],
            cpu1: [{ op: "madvise_dontneed", mm: "B", addr: "0x100000", len: "0x1000" }],
          },
        },
      ],
    },
    "pte_lock_test",
    "reclaim-cleared-child",
  );
  const { run, points } = racedOn2627(s, 3, "cpu0");
  run.complete(holdAt("cpu0", "lock ptl:A:0"));
  assert.ok(points.includes("lock ptl:A:0"), points.join(", "));
  assert.ok(!points.includes("lock ptl:B:0"), points.join(", "));
});

Deno.test("a huge page costs a page of the zap's block, and nine end one", () => {
  // v2.6.24 mm/memory.c:839-843: 'zap_work -= (end - start) / (HPAGE_SIZE / PAGE_SIZE)' after
  // unmap_hugepage_range(); a spent block is flushed (853). Nine huge pages, three range flushes:
  // __unmap_hugepage_range()'s own, the end of the block of the first eight, and unmap_region()'s
  // tlb_finish_mmu() after unmap_vmas() (two without the block).
  const huge = { op: "mmap", mm: "A", addr: "0x40000000", len: "0x1200000", prot: "rw" };
  const run = ranOn2627("hugetlb-nine", {
    purpose: "munmap of a hugetlbfs mapping of nine huge pages",
    cite: "v2.6.24 mm/memory.c unmap_vmas(), lines 839-866",
    files: [{ name: "huge", pages: 9, kind: "hugetlbfs" }],
    steps: [
      { ...huge, share: "shared", file: "huge" },
      { op: "munmap", mm: "A", addr: "0x40000000", len: "0x1200000" },
    ],
  });
  assert.equal(run.kernel.state.counters.tlbFlushRange, 3);
});
