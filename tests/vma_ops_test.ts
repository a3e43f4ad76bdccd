/**
 * The system calls that change vmas, against v2.6.24: fork's child loses
 * VM_LOCKED, mprotect gives the ptes the new `vm_page_prot` (and leaves a
 * vma whose flags do not change alone), MADV_DONTNEED refuses what
 * `madvise_dontneed()` refuses and keeps a nonlinear vma's file ptes,
 * mremap checks the old vma after unmapping the new range and links the
 * new vma with the mapping's truncate count, and truncation writes the
 * file size before it unmaps.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Decider, loadRevisionDir, type Outcome, parseScenario, Run } from "../mod.ts";
import { mmapStep, touchStep } from "./_fixtures.ts";

const mainline = loadRevisionDir("patches").find((r) => r.id === "mainline-2.6.27")!;

/** Runs `steps` (with `files`) whole on mainline-2.6.27, one thread, and returns the outcome. */
function ran(id: string, steps: Record<string, unknown>[], files: unknown[] = []): Outcome {
  const s = parseScenario(
    { purpose: id, exercises: [], cite: "tests/vma_ops_test.ts", files, steps },
    "vma_ops_test",
    id,
  );
  const run = new Run(s, mainline);
  run.complete();
  return run.outcome();
}

/** The value each step returned. */
function values(o: Outcome): unknown[] {
  return o.returns.map((r) => r.value);
}

const mprotect = (prot: string) => ({
  op: "mprotect",
  mm: "A",
  addr: "0x100000",
  len: "0x4000",
  prot,
});

Deno.test("fork: the child's copy of an mlocked vma is not mlocked, so reclaim may free its page", () => {
  // v2.6.24 kernel/fork.c:262 'tmp->vm_flags &= ~VM_LOCKED;'. The parent's write gives it its
  // own copy; the child's page is then mapped by the child alone, in a vma that is not locked.
  const o = ran("fork-locked", [
    mmapStep("0x100000", "0x1000", { locked: true }),
    { op: "fork", mm: "A", child: "B" },
    touchStep("0x100000", "write"),
    { op: "reclaim", mm: "B", addr: "0x100000" },
  ]);
  assert.equal(values(o)[3], "freed");
});

Deno.test("mprotect gives the ptes the vma's new vm_page_prot", async (t) => {
  await t.step(
    "PROT_READ|PROT_WRITE on a private vma: a page fork shares is copied on write",
    () => {
      // PAGE_COPY has no write bit (mm/mprotect.c:194-199, pte_modify at line 48): the parent's
      // write faults and do_wp_page() copies the page the child still maps.
      for (const prots of [["rw"], ["r", "rw"]]) {
        const o = ran("mprotect-after-fork", [
          mmapStep("0x100000", "0x4000"),
          touchStep("0x100000", "write"),
          { op: "fork", mm: "A", child: "B" },
          ...prots.map(mprotect),
          touchStep("0x100000", "write"),
        ]);
        assert.equal(values(o).at(-1), "faulted", prots.join(" then "));
        assert.equal(o.counters.pagesAllocated, 2, prots.join(" then "));
      }
    },
  );
  await t.step("flags that do not change: no split, no callouts", () => {
    // 'if (newflags == oldflags) { *pprev = vma; return 0; }' (line 142), before split_vma()
    // and before mmu_notifier_invalidate_range_start() (v2.6.27 148, 207).
    const base = [
      mmapStep("0x100000", "0x4000"),
      { op: "register", secondary: "kvm0" },
      touchStep("0x100000", "write"),
    ];
    const s = { id: "kvm0", driver: "kvm", mm: "A" };
    const raw = (extra: Record<string, unknown>[]) =>
      parseScenario(
        {
          purpose: "mprotect",
          exercises: [],
          cite: "tests",
          secondaries: [s],
          steps: [...base, ...extra],
        },
        "vma_ops_test",
        "mprotect-same",
      );
    const without = new Run(raw([]), mainline);
    without.complete();
    const run = new Run(raw([{ ...mprotect("rw"), len: "0x2000" }]), mainline);
    run.complete();
    assert.equal(run.outcome().counters.callouts, without.outcome().counters.callouts);
    assert.equal(run.kernel.state.mms.A.vmas.length, 1);
  });
  await t.step("PROT_NONE: a read of a mapped page faults, and the fault finds no VM_READ", () => {
    const o = ran("mprotect-none", [
      mmapStep("0x100000", "0x4000"),
      touchStep("0x100000", "write"),
      mprotect("none"),
      touchStep("0x100000", "read"),
    ]);
    assert.equal(values(o)[3], "SIGSEGV");
  });
});

Deno.test("MADV_DONTNEED does what madvise_dontneed() does", async (t) => {
  await t.step("an mlocked vma: -EINVAL, and its page stays mapped", () => {
    // v2.6.24 mm/madvise.c:155 'if (vma->vm_flags & (VM_LOCKED|VM_HUGETLB|VM_PFNMAP)) return -EINVAL;'.
    const o = ran("madvise-locked", [
      mmapStep("0x100000", "0x1000", { locked: true }),
      { op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0x1000" },
      touchStep("0x100000", "read"),
    ]);
    assert.deepEqual(values(o).slice(1), ["-EINVAL", "hit"]);
  });
  await t.step("a hole in the range: -ENOMEM, the vmas around it zapped", () => {
    // Lines 326-336: 'unmapped_error = -ENOMEM' and on to the next vma.
    const o = ran("madvise-hole", [
      mmapStep("0x100000", "0x1000"),
      mmapStep("0x102000", "0x1000"),
      touchStep("0x100000", "write"),
      touchStep("0x102000", "write"),
      { op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0x3000", outside: true },
      touchStep("0x100000", "read"),
      touchStep("0x102000", "read"),
    ]);
    assert.deepEqual(values(o).slice(4), ["-ENOMEM", "faulted", "faulted"]);
  });
  await t.step(
    "a nonlinear vma: the page leaves a file pte, and the refault maps its offset",
    () => {
      // Lines 157-163 pass details with .nonlinear_vma; zap_pte_range() then sets
      // pgoff_to_pte(page->index) for a page not at its linear index (mm/memory.c:667-670), so
      // the refault maps file page 4 again (cached), not the linear page 0 (a read from disk).
      const o = ran(
        "madvise-nonlinear",
        [
          mmapStep("0x200000", "0x4000", { file: "data" }),
          { op: "remap_file_pages", mm: "A", addr: "0x200000", len: "0x1000", pgoff: 4 },
          touchStep("0x200000", "write"),
          { op: "madvise_dontneed", mm: "A", addr: "0x200000", len: "0x1000" },
          touchStep("0x200000", "read"),
        ],
        [{ name: "data", pages: 8, kind: "shmem" }],
      );
      assert.equal(values(o)[4], "faulted");
      assert.equal(o.counters.pagesAllocated, 1);
    },
  );
});

Deno.test("mremap checks the old vma as do_mremap() does, after unmapping the new range", async (t) => {
  await t.step("no vma at the old address: -EFAULT, and the new range is unmapped", () => {
    // v2.6.24 mm/mremap.c:298 do_munmap(mm, new_addr, new_len), then 321-324 -EFAULT.
    const o = ran("mremap-efault", [
      mmapStep("0x800000", "0x1000"),
      touchStep("0x800000", "write"),
      {
        op: "mremap",
        mm: "A",
        addr: "0x100000",
        len: "0x1000",
        new_addr: "0x800000",
        outside: true,
      },
      { ...touchStep("0x800000", "read"), outside: true },
    ]);
    assert.deepEqual(values(o).slice(2), ["-EFAULT", "SIGSEGV"]);
  });
  await t.step("a hugetlb vma: -EINVAL", () => {
    // Lines 325-328 'if (is_vm_hugetlb_page(vma)) { ret = -EINVAL; goto out; }'.
    const o = ran(
      "mremap-huge",
      [
        {
          op: "mmap",
          mm: "A",
          addr: "0x40000000",
          len: "0x200000",
          prot: "rw",
          share: "private",
          file: "huge",
        },
        touchStep("0x40000000", "write"),
        {
          op: "mremap",
          mm: "A",
          addr: "0x40000000",
          len: "0x200000",
          new_addr: "0x80000000",
        },
        { ...touchStep("0x40000000", "read"), outside: true },
      ],
      [{ name: "huge", pages: 2, kind: "hugetlbfs" }],
    );
    assert.deepEqual(values(o).slice(2), ["-EINVAL", "hit"]);
  });
});

Deno.test("a vma mremap moves during a truncation's lock break is truncated", () => {
  // The truncation to 0 pages drops i_mmap_lock after the first ZAP_BLOCK_SIZE of the vma
  // (contended) and notes its restart address in the vma; mremap moves the vma then. vma_link()
  // gives the new vma the mapping's truncate_count (v2.6.24 mm/mmap.c:438), move_ptes() leaves
  // it (mm/mremap.c:87-89), and the walk that starts again zaps the new vma whole: nothing of
  // the file stays mapped. A copy of the old vma's restart address made it look done.
  const pages = Array.from({ length: 10 }, (_, i) => touchStep(`0x40${i}000`, "write"));
  const o = ran(
    "mremap-truncate-break",
    [
      mmapStep("0x400000", "0x10000", { file: "data" }),
      ...pages,
      {
        op: "truncate",
        file: "data",
        pages: 0,
        contended: true,
        during: {
          at: "unmap_mapping_range:lock_break",
          step: { op: "mremap", mm: "A", addr: "0x400000", len: "0x10000", new_addr: "0x200000" },
        },
      },
      { ...touchStep("0x208000", "read"), outside: true },
    ],
    [{ name: "data", pages: 16, kind: "shmem" }],
  );
  assert.equal(values(o).at(-1), "VM_FAULT_SIGBUS");
});

Deno.test("truncation writes the file size before it unmaps: a fault after that finds the page past the end", () => {
  // v2.6.24 mm/memory.c:1925 i_size_write() before unmap_mapping_range() (1935). The
  // truncation is held at its first scheduling point (i_mmap_lock), the size already written;
  // the read fault of page 3 then gets SIGBUS where it read the page in and mapped it past
  // the new end of the file.
  const s = parseScenario(
    {
      purpose: "truncate racing a read fault",
      exercises: ["unmap_vmas"],
      cite: "tests/vma_ops_test.ts",
      files: [{ name: "data", pages: 4, kind: "shmem" }],
      steps: [
        mmapStep("0x200000", "0x4000", { file: "data" }),
        {
          op: "race",
          threads: {
            cpu0: [{ op: "truncate", file: "data", pages: 2 }],
            cpu1: [touchStep("0x203000", "read")],
          },
        },
      ],
    },
    "vma_ops_test",
    "truncate-fault",
  );
  const run = new Run(s, mainline, { preemptive: true });
  let held = false;
  const decide: Decider = (enabled) => {
    const trunc = enabled.find((t) => t.name === "cpu0");
    if (trunc && !held) {
      held = true;
      return trunc;
    }
    return enabled.find((t) => t.name === "cpu1") ?? enabled[0];
  };
  run.complete(decide);
  assert.equal(run.outcome().returns[1].value, "cpu0=0; cpu1=VM_FAULT_SIGBUS");
  assert.equal(run.kernel.state.mms.A.ptes[0x203], undefined);
});

Deno.test("a CPU write through a writable pte needs no mmap_sem: it lands during fork, before copy_page_range() reaches the page", () => {
  // The MMU goes through a present, writable pte without the kernel; only a fault takes mmap_sem
  // (v2.6.24 arch/x86/mm/fault_32.c:375-450). Fork holds the parent's mmap_sem for write, and
  // the write at 0x200000 (the second page table) comes while it copies the first: it goes to
  // the parent's page, which the copy then shares with the child, write-protected, holding
  // both writes. Waiting for mmap_sem, it came after the fork and copied the page.
  const o = ran("fork-during-write", [
    mmapStep("0x1ff000", "0x2000"),
    touchStep("0x1ff000", "write"),
    touchStep("0x200000", "write"),
    {
      op: "fork",
      mm: "A",
      child: "B",
      during: { at: "copy_page_range:chunk", step: touchStep("0x200000", "write") },
    },
  ]);
  assert.equal(o.counters.pagesAllocated, 2);
});

Deno.test("remap_file_pages() downgrades mmap_sem in one step: a waiting munmap cannot run before make_pages_present()", () => {
  // v2.6.24 mm/fremap.c:217 downgrade_write(&mm->mmap_sem), then 220 make_pages_present():
  // downgrade_write() turns the write hold into a read hold with one locked add
  // (include/asm-x86/rwsem.h:212-224). The remap (for write: the vma is not nonlinear yet) is
  // held at its pte lock while the munmap queues for mmap_sem; the remap's faults then run
  // before the munmap takes mmap_sem. An up_write() and down_read() let the munmap in between.
  const s = parseScenario(
    {
      purpose: "remap_file_pages racing munmap",
      exercises: ["sys_remap_file_pages"],
      cite: "tests/vma_ops_test.ts",
      files: [{ name: "data", pages: 8, kind: "shmem" }],
      steps: [
        mmapStep("0x200000", "0x4000", { file: "data" }),
        {
          op: "race",
          threads: {
            cpu0: [{ op: "remap_file_pages", mm: "A", addr: "0x200000", len: "0x1000", pgoff: 3 }],
            cpu1: [{ op: "munmap", mm: "A", addr: "0x200000", len: "0x4000" }],
          },
        },
      ],
    },
    "vma_ops_test",
    "remap-downgrade",
  );
  const points: string[] = [];
  const run = new Run(s, mainline, {
    preemptive: true,
    onPoint: (step, thread, p) => {
      if (step === 1) points.push(`${thread} ${p.label}`);
    },
  });
  let switched = false;
  run.complete((enabled) => {
    const remap = enabled.find((t) => t.name === "cpu0");
    if (remap?.last?.label === "lock ptl:A:1") switched = true;
    return (switched ? enabled.find((t) => t.name === "cpu1") : remap) ?? enabled[0];
  });
  const waited = points.indexOf("cpu1 wait mmap_sem:A");
  assert.ok(waited > 0, points.join(", "));
  const after = points.slice(waited + 1);
  const lastRemap = after.findLastIndex((p) => p.startsWith("cpu0 "));
  const firstMunmap = after.findIndex((p) => p.startsWith("cpu1 "));
  assert.ok(lastRemap >= 0 && lastRemap < firstMunmap, points.join(", "));
  assert.ok(!after.includes("cpu0 lock mmap_sem:A"), points.join(", "));
});

Deno.test("remap_file_pages() on a file that counts dirty pages maps the range linearly with mmap_region()", () => {
  // "page_mkclean doesn't work on nonlinear vmas, so if dirty pages need to be accounted,
  // emulate with linear vmas" (v2.6.24 mm/fremap.c:184-204): a regular file's shared vma is not
  // made nonlinear; the range gets a vma of its own at pgoff 3, and the page mapped there
  // before is unmapped by mmap_region()'s do_munmap(). A shmem file's vma becomes nonlinear.
  for (const [kind, nonlinear] of [["regular", false], ["shmem", true]] as const) {
    const s = parseScenario(
      {
        purpose: `remap_file_pages on a ${kind} file`,
        exercises: ["sys_remap_file_pages"],
        cite: "tests/vma_ops_test.ts",
        files: [{ name: "data", pages: 4, kind }],
        steps: [
          mmapStep("0x200000", "0x4000", { file: "data" }),
          touchStep("0x200000", "write"),
          { op: "remap_file_pages", mm: "A", addr: "0x200000", len: "0x1000", pgoff: 3 },
          touchStep("0x200000", "read"),
        ],
      },
      "vma_ops_test",
      `remap-${kind}`,
    );
    const run = new Run(s, mainline, { trace: false });
    run.complete();
    const { vmas, ptes } = run.kernel.state.mms.A;
    const o = run.outcome();
    assert.equal(o.returns[2].value, 0, kind);
    assert.equal(vmas.some((v) => v.nonlinear), nonlinear, kind);
    if (!nonlinear) {
      assert.deepEqual(
        vmas.map((v) => [v.start, v.end, v.pgoff]),
        [[0x200000, 0x201000, 3], [0x201000, 0x204000, 1]],
      );
    }
    const pte = ptes[0x200];
    assert.ok(pte?.t === "present", kind);
    assert.deepEqual(run.kernel.state.pages[pte.pfn].owner, {
      kind: "file",
      file: "data",
      index: 3,
    });
  }
});

Deno.test("fork copies a page table the parent still has, even with no pte in it", () => {
  // copy_pmd_range() skips only a none pmd (v2.6.24 mm/memory.c:552-555); copy_pte_range()
  // then allocates the child's table. After MADV_DONTNEED the parent's table is empty but
  // there: the child gets a table, and a pte allocation that fails fails the fork (-ENOMEM).
  const steps = (fail: boolean) => [
    mmapStep("0x100000", "0x1000"),
    touchStep("0x100000", "write"),
    { op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0x1000" },
    { op: "fork", mm: "A", child: "B", ...(fail ? { fail: { pte: [1] } } : {}) },
  ];
  assert.equal(ran("fork-empty-table", steps(false)).counters.tablesAllocated, 6);
  assert.equal(values(ran("fork-empty-table-enomem", steps(true)))[3], "-ENOMEM");
});

Deno.test("mremap's callouts: one pair around each move_ptes() on 2.6.27, one around the whole move_page_tables() on the HMM revisions (v4.9)", () => {
  // v2.6.27 mm/mremap.c move_ptes(): 'mmu_notifier_invalidate_range_start(vma->vm_mm, old_start,
  // old_end);' per extent; v4.9 mm/mremap.c:200 and 246, move_page_tables(): the pair on the whole
  // old range, and none in move_ptes(). Two extents: the move crosses a page table boundary.
  const s = parseScenario(
    {
      purpose: "mremap across two page tables",
      exercises: ["move_page_tables", "move_ptes"],
      cite: "tests/vma_ops_test.ts",
      steps: [
        mmapStep("0x1ff000", "0x2000"),
        touchStep("0x1ff000", "write"),
        touchStep("0x200000", "write"),
        { op: "mremap", mm: "A", addr: "0x1ff000", len: "0x2000", new_addr: "0x800000" },
      ],
    },
    "vma_ops_test",
    "mremap-extents",
  );
  const calls = (id: string) => {
    const run = new Run(s, loadRevisionDir("patches").find((r) => r.id === id)!);
    run.complete();
    return run.outcome().trace.filter((c) => c.step === 3 && c.path !== "unmap_vmas")
      .map((c) => `${c.path} ${c.call} ${c.range}`);
  };
  assert.deepEqual(calls("mainline-2.6.27"), [
    "move_ptes invalidate_range_start 0x1ff000-0x200000",
    "move_ptes invalidate_range_end 0x1ff000-0x200000",
    "move_ptes invalidate_range_start 0x200000-0x201000",
    "move_ptes invalidate_range_end 0x200000-0x201000",
  ]);
  assert.deepEqual(calls("hmm-sequence-retry"), [
    "move_page_tables invalidate_range_start 0x1ff000-0x201000",
    "move_page_tables invalidate_range_end 0x1ff000-0x201000",
  ]);
});

Deno.test("mprotect's callouts: one pair around the vma's range on 2.6.27, one from the first populated pmd in change_pmd_range() on the HMM revisions (v4.9)", () => {
  // v2.6.27 mm/mprotect.c:207 and 212, mprotect_fixup(): the pair on the range, whatever the page
  // tables hold. v4.9 mm/mprotect.c:158-162 and 190-191, change_pmd_range(): 'if (!mni_start) {
  // mni_start = addr; mmu_notifier_invalidate_range_start(mm, mni_start, end); }' at the first pmd
  // with a page table, the end after the loop, and no pair where no pmd has one. A 4 MiB vma over
  // three pmds, the middle one's page table made by a write at 0x300000.
  const s = (touched: boolean) =>
    parseScenario(
      {
        purpose: "mprotect over three pmds",
        exercises: ["mprotect_fixup"],
        cite: "tests/vma_ops_test.ts",
        steps: [
          mmapStep("0x100000", "0x400000"),
          ...(touched ? [touchStep("0x300000", "write")] : []),
          { op: "mprotect", mm: "A", addr: "0x100000", len: "0x400000", prot: "r" },
        ],
      },
      "vma_ops_test",
      `mprotect-pmds${touched ? "" : "-empty"}`,
    );
  const calls = (touched: boolean, id: string) => {
    const run = new Run(s(touched), loadRevisionDir("patches").find((r) => r.id === id)!);
    run.complete();
    const step = touched ? 2 : 1;
    return run.outcome().trace.filter((c) => c.step === step)
      .map((c) => `${c.at} ${c.call} ${c.range}`);
  };
  const pair27 = [
    "before invalidate_range_start 0x100000-0x500000",
    "after invalidate_range_end 0x100000-0x500000",
  ];
  assert.deepEqual(calls(true, "mainline-2.6.27"), pair27);
  assert.deepEqual(calls(false, "mainline-2.6.27"), pair27);
  assert.deepEqual(calls(true, "hmm-sequence-retry"), [
    "pmd.populated invalidate_range_start 0x200000-0x500000",
    "pmd.walked invalidate_range_end 0x200000-0x500000",
  ]);
  assert.deepEqual(calls(false, "hmm-sequence-retry"), []);
});
