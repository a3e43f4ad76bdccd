/**
 * The fault paths against the kernel's text, case by case: what
 * `__do_fault()` and `do_swap_page()` return to get_user_pages, the
 * re-checks under the pte lock of `__do_fault()` and `do_swap_page()`,
 * `do_wp_page()`'s decision to reuse an anonymous page, and what
 * `zap_pte()` moves to the page. Each race test drives one schedule: a
 * thread runs to a named scheduling point, another runs to its end, then
 * the first goes on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Decider, loadRevisionDir, parseScenario, Run } from "../mod.ts";
import { mmapStep, touchStep } from "./_fixtures.ts";

const revisions = loadRevisionDir("patches");
const mainline = revisions.find((r) => r.id === "mainline-2.6.27")!;

/** A scenario of `steps` (with `files` and `secondaries` when given), exercising `exercises`. */
function scenario(id: string, exercises: string[], raw: Record<string, unknown>) {
  return parseScenario(
    { purpose: `fault_fidelity_test: ${id}`, exercises, cite: "see the test", ...raw },
    "fault_fidelity_test",
    id,
  );
}

/**
 * A decider that runs `first` until it has stopped at point `label` for the
 * `nth` time, then every other thread to its end, then `first` again.
 * `parked()` tells whether `first` got there.
 */
function parkAt(first: string, label: string, nth: number): Decider & { parked(): boolean } {
  let seen = 0;
  let points = -1;
  let parked = false;
  const decide: Decider = (enabled) => {
    const me = enabled.find((t) => t.name === first);
    if (me && !parked) {
      if (me.points !== points) {
        points = me.points;
        if (me.last?.label === label) seen++;
      }
      if (seen >= nth) parked = true;
      else return me;
    }
    return enabled.find((t) => t.name !== first) ?? enabled[0];
  };
  return Object.assign(decide, { parked: () => parked });
}

/** A run of `s` on `rev` (default mainline-2.6.27) with every lock a scheduling point. */
function raced(s: ReturnType<typeof parseScenario>, decide?: Decider, rev = mainline): Run {
  const run = new Run(s, rev, { preemptive: true, trace: false });
  run.complete(decide);
  return run;
}

/** The value the last step of `run` returned. */
function lastReturn(run: Run): unknown {
  const r = run.outcome().returns;
  return r[r.length - 1].value;
}

/**
 * A private anonymous page at 0x100000 of A, written and reclaimed once (its
 * pte was young: it is kept, the pte old), then reclaimed again (cpu0)
 * racing `other` (cpu1).
 */
function reclaimRacing(other: Record<string, unknown>) {
  return [
    mmapStep("0x100000", "0x1000"),
    touchStep("0x100000", "write"),
    { op: "reclaim", mm: "A", addr: "0x100000" },
    {
      op: "race",
      threads: { cpu0: [{ op: "reclaim", mm: "A", addr: "0x100000" }], cpu1: [other] },
    },
  ];
}

/**
 * A shared mapping at 0x200000 of A of file "data" (of `kind`, `pages` long),
 * its first page written and reclaimed once (kept, the pte old), then
 * reclaimed again (cpu0) racing `others` (cpu1): the scenario's files and
 * steps.
 */
function fileReclaimRacing(kind: string, pages: number, others: unknown[]) {
  return {
    files: [{ name: "data", pages, kind }],
    steps: [
      mmapStep("0x200000", "0x1000", { file: "data" }),
      touchStep("0x200000", "write"),
      { op: "reclaim", mm: "A", addr: "0x200000" },
      {
        op: "race",
        threads: { cpu0: [{ op: "reclaim", mm: "A", addr: "0x200000" }], cpu1: others },
      },
    ],
  };
}

/** A private anonymous page at 0x100000 of A, written, and KVM guest kvm0 on A; then `steps`. */
function anonWithKvm(steps: unknown[]) {
  return {
    secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
    steps: [
      mmapStep("0x100000", "0x1000"),
      touchStep("0x100000", "write"),
      { op: "register", secondary: "kvm0" },
      ...steps,
    ],
  };
}

/** Reclaim of A's page at 0x100000 twice: the first finds it referenced, the second swaps it out. */
const SWAP_OUT = [
  { op: "reclaim", mm: "A", addr: "0x100000" },
  { op: "reclaim", mm: "A", addr: "0x100000" },
];

/**
 * A shared mapping of file "data" at 0x200000 of A, `mprotect()`ed
 * read-only, and KVM's first access to it: `get_user_pages(..., write=1,
 * force=1, ...)` with no pte there.
 */
function forcedWriteRoShared() {
  return scenario("forced-write-ro-shared", ["__do_fault", "do_wp_page", "get_user_pages"], {
    files: [{ name: "data", pages: 8, kind: "regular" }],
    secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
    steps: [
      mmapStep("0x200000", "0x4000", { file: "data" }),
      { op: "mprotect", mm: "A", addr: "0x200000", len: "0x4000", prot: "r" },
      { op: "register", secondary: "kvm0" },
      { op: "guest", secondary: "kvm0", addr: "0x200000", access: "read" },
    ],
  });
}

Deno.test("__do_fault() does not return VM_FAULT_WRITE: a forced write on a read-only shared mapping with no pte breaks COW", () => {
  // v2.6.24 mm/memory.c: only do_wp_page sets VM_FAULT_WRITE (1615, 1664; v2.6.27 1844,
  // 1922), and get_user_pages looks the page up as a read only after it (1091). KVM's
  // get_user_pages(write=1, force=1) on a shared vma mprotect()ed read-only: __do_fault maps the
  // page-cache page read-only and returns 0; the write lookup fails again, do_wp_page finds a
  // shared vma without VM_WRITE and copies (gotten:); the guest maps the copy, as it would had
  // the pte been there before.
  const run = raced(forcedWriteRoShared());
  const st = run.kernel.state;
  const pte = st.mms.A.ptes[0x200000 / 0x1000];
  assert.ok(pte && pte.t === "present");
  assert.equal(st.pages[pte.pfn].owner.kind, "anon");
  assert.equal(pte.write, false);
  const cached = st.files.data.cache[0];
  assert.equal(st.pages[cached].mapcount, 0);
  assert.equal(st.pages[cached].refs["kvm:kvm0:0x200000"], undefined);
  assert.equal(st.pages[pte.pfn].refs["kvm:kvm0:0x200000"], 1);
  assert.deepEqual(run.kinds(), []);
});

Deno.test("do_swap_page() returns 0 when another fault mapped the pte meanwhile: a forced write goes on to do_wp_page", () => {
  // KVM's forced write faults on A's swap entry while a read fault of A maps it read-only. The
  // kernel's do_swap_page then returns 0 (out_nomap; v2.6.24 mm/memory.c:2099-2101), the write
  // lookup fails, and do_wp_page reuses the page, which only A maps: the pte becomes writable
  // and dirty (v2.6.24 1608-1615, 'maybe_mkwrite(pte_mkdirty(pte_mkyoung(orig_pte)), vma)').
  const s = scenario(
    "swap-recheck-forced",
    ["do_swap_page", "do_wp_page"],
    anonWithKvm([
      ...SWAP_OUT,
      {
        op: "race",
        threads: {
          vcpu0: [{ op: "guest", secondary: "kvm0", addr: "0x100000", access: "read" }],
          cpu1: [touchStep("0x100000", "read")],
        },
      },
    ]),
  );
  // follow_page, handle_mm_fault, then do_swap_page's relock.
  const decide = parkAt("vcpu0", "lock ptl:A:0", 3);
  const run = raced(s, decide);
  assert.ok(decide.parked());
  assert.equal(lastReturn(run), "vcpu0=faulted; cpu1=faulted");
  const pte = run.kernel.state.mms.A.ptes[0x100000 / 0x1000];
  assert.ok(pte && pte.t === "present");
  assert.equal(pte.write, true);
  assert.equal(pte.dirty, true);
  assert.equal(run.kernel.state.pages[pte.pfn].refs["kvm:kvm0:0x100000"], 1);
  assert.deepEqual(run.kinds(), []);
});

/**
 * A shared shmem mapping of 4 pages of `data` at 0x200000 whose page 3 is
 * the file pte of page 7 (remap_file_pages with MAP_NONBLOCK); then `race`.
 */
function remapRace(threads: Record<string, unknown[]>) {
  return scenario("remap-vs-fault", ["__do_fault", "install_file_pte"], {
    files: [{ name: "data", pages: 8, kind: "shmem" }],
    steps: [
      mmapStep("0x200000", "0x4000", { file: "data" }),
      {
        op: "remap_file_pages",
        mm: "A",
        addr: "0x203000",
        len: "0x1000",
        pgoff: 7,
        nonblock: true,
      },
      { op: "race", threads },
    ],
  });
}

/** The pte a read fault of a shared shmem page `pfn` installs (writable: no write-notify). */
function mapped(pfn: number | undefined) {
  return { t: "present", pfn, write: true, young: true, dirty: false };
}

Deno.test("__do_fault() maps the page only over the pte it started from", async (t) => {
  // v2.6.24 mm/memory.c:2313 (v2.6.27 2518): 'if (likely(pte_same(*page_table, orig_pte)))',
  // else the page is released and the fault returns 0. remap_file_pages(MAP_NONBLOCK) installs
  // a file pte for page 6 while the fault waits for the pte lock; the fault leaves it, and the
  // access, tried again, faults page 6 in through it.
  const remap = (addr: string) => ({
    op: "remap_file_pages",
    mm: "A",
    addr,
    len: "0x1000",
    pgoff: 6,
    nonblock: true,
  });
  await t.step("a linear fault (from pte_none) leaves a file pte installed meanwhile", () => {
    const s = remapRace({
      cpu0: [touchStep("0x201000", "read")],
      cpu1: [remap("0x201000")],
    });
    // handle_mm_fault's pte lock, then __do_fault's.
    const decide = parkAt("cpu0", "lock ptl:A:1", 2);
    const run = raced(s, decide);
    assert.ok(decide.parked());
    const { files, mms, pages } = run.kernel.state;
    assert.deepEqual(mms.A.ptes[0x201000 / 0x1000], mapped(files.data.cache[6]));
    // ->fault read page 1 in before the re-check; it stays in the page cache, mapped nowhere.
    assert.equal(pages[files.data.cache[1]].mapcount, 0);
  });
  await t.step(
    "a nonlinear fault (from the file pte of page 7) leaves the file pte of page 6",
    () => {
      const s = remapRace({
        cpu0: [touchStep("0x203000", "read")],
        cpu1: [remap("0x203000")],
      });
      const decide = parkAt("cpu0", "lock ptl:A:1", 2);
      const run = raced(s, decide);
      assert.ok(decide.parked());
      const { files, mms, pages } = run.kernel.state;
      assert.deepEqual(mms.A.ptes[0x203000 / 0x1000], mapped(files.data.cache[6]));
      assert.equal(pages[files.data.cache[7]].mapcount, 0);
    },
  );
});

/** A private anonymous page at 0x100000 of A, written, shared with child B by fork; then `steps`. */
function forked(id: string, steps: unknown[]) {
  return scenario(id, ["do_wp_page"], {
    steps: [
      mmapStep("0x100000", "0x1000"),
      touchStep("0x100000", "write"),
      { op: "fork", mm: "A", child: "B" },
      ...steps,
    ],
  });
}

Deno.test("do_wp_page() reuses an anonymous page only when it can lock it and no one else uses it", async (t) => {
  // v2.6.24 mm/memory.c:1564-1567 (v2.6.27 1792-1795): 'if (!TestSetPageLocked(old_page)) {
  // reuse = can_share_swap_page(old_page); unlock_page(old_page); }', and can_share_swap_page()
  // counts the mapcount and, for a page in the swap cache, the swap entries that still refer to
  // it (mm/swapfile.c:330-339).
  await t.step("a page reclaim has locked is copied, though only one pte maps it", () => {
    // B exits: A's pte, write-protected by fork, is the page's only one. A writes while
    // shrink_page_list holds the page lock.
    const s = forked("wp-locked-page", [
      { op: "exit", mm: "B" },
      {
        op: "reclaim",
        mm: "A",
        addr: "0x100000",
        during: {
          at: "shrink_page_list:after_referenced",
          step: touchStep("0x100000", "write"),
        },
      },
    ]);
    const run = raced(s);
    const { mms, pages } = run.kernel.state;
    const pte = mms.A.ptes[0x100000 / 0x1000];
    assert.ok(pte && pte.t === "present");
    assert.equal(pte.write, true);
    // pfn 1 is the page A's first write allocated.
    assert.notEqual(pte.pfn, 1);
    assert.equal(pages[pte.pfn].data, pages[1].data + 1);
  });
  await t.step("a swap-cache page another mm's swap entry refers to is copied", () => {
    // Reclaim turns A's pte into a swap entry and keeps the page in the swap cache, as B maps it
    // (B's read makes B's pte young while page_referenced() runs). B then writes: the page has one
    // pte and one swap entry, so it is copied, and A later reads back what A wrote.
    const s = forked("wp-swap-shared", [
      { op: "reclaim", mm: "A", addr: "0x100000" },
      {
        op: "reclaim",
        mm: "A",
        addr: "0x100000",
        during: {
          at: "shrink_page_list:after_referenced",
          step: touchStep("0x100000", "read", "B"),
        },
      },
      touchStep("0x100000", "write", "B"),
      { op: "reclaim", mm: "B", addr: "0x100000" },
      { op: "reclaim", mm: "B", addr: "0x100000" },
      touchStep("0x100000", "read"),
    ]);
    const run = raced(s);
    const { mms, pages } = run.kernel.state;
    assert.equal(mms.B.ptes[0x100000 / 0x1000]?.t, "swap");
    const a = mms.A.ptes[0x100000 / 0x1000];
    assert.ok(a && a.t === "present");
    // A wrote once before the fork, B once after it.
    assert.equal(pages[a.pfn].data, 1);
    assert.deepEqual(run.kinds(), []);
  });
});

Deno.test("install_file_pte() moves the dirty bit of the pte it zaps to the page, not the young bit", () => {
  // zap_pte(), v2.6.24 mm/fremap.c:23-47 (v2.6.27 24-48): 'if (pte_dirty(pte))
  // set_page_dirty(page);' and nothing for pte_young. Reclaim has cleared the page's
  // PG_referenced and the pte's young bit; a new access sets the young bit again; then
  // remap_file_pages() replaces the pte: PG_referenced stays clear.
  const run = raced(scenario("zap-pte-young", ["install_file_pte"], {
    files: [{ name: "data", pages: 8, kind: "shmem" }],
    steps: [
      mmapStep("0x200000", "0x4000", { file: "data" }),
      touchStep("0x200000", "write"),
      { op: "reclaim", mm: "A", addr: "0x200000" },
      touchStep("0x200000", "read"),
      { op: "remap_file_pages", mm: "A", addr: "0x200000", len: "0x1000", pgoff: 5 },
    ],
  }));
  const { files, pages } = run.kernel.state;
  const zero = pages[files.data.cache[0]];
  assert.equal(zero.mapcount, 0);
  assert.equal(zero.referenced, false);
  assert.equal(zero.dirty, true);
});

Deno.test("zap_pte_range() moves the dirty and young bits of the pte it zaps to a file page, not to an anonymous one", () => {
  // v2.6.24 mm/memory.c:672-680 (v2.6.27 755-763): 'if (PageAnon(page)) anon_rss--; else { if
  // (pte_dirty(ptent)) set_page_dirty(page); if (pte_young(ptent)) SetPageReferenced(page); ...
  // }'. A's private page and A's shared file page, each mapped by fork's child B too, written
  // and read by A (its ptes dirty and young); A's munmap zaps both, and B keeps the pages (fork
  // copies no pte of a shared file mapping: B maps the file page by a read fault).
  const run = raced(scenario("zap-anon-dirty", ["zap_pte_range"], {
    files: [{ name: "data", pages: 8, kind: "shmem" }],
    steps: [
      mmapStep("0x100000", "0x1000"),
      mmapStep("0x200000", "0x1000", { file: "data" }),
      touchStep("0x100000", "write"),
      touchStep("0x200000", "write"),
      { op: "fork", mm: "A", child: "B" },
      touchStep("0x200000", "read", "B"),
      { op: "reclaim", mm: "A", addr: "0x100000" },
      { op: "reclaim", mm: "A", addr: "0x200000" },
      touchStep("0x100000", "read"),
      touchStep("0x200000", "write"),
      { op: "munmap", mm: "A", addr: "0x100000", len: "0x1000" },
      { op: "munmap", mm: "A", addr: "0x200000", len: "0x1000" },
    ],
  }));
  const { mms, pages } = run.kernel.state;
  const [anon, file] = [0x100, 0x200].map((key) => {
    const pte = mms.B.ptes[key];
    assert.ok(pte?.t === "present");
    return pages[pte.pfn];
  });
  assert.equal(anon.mapcount, 1);
  assert.deepEqual([anon.dirty, anon.referenced], [false, false]);
  assert.equal(file.mapcount, 1);
  assert.deepEqual([file.dirty, file.referenced], [true, true]);
});

Deno.test("do_swap_page() returns VM_FAULT_OOM only if the pte is still the swap entry when it cannot read the page", async (t) => {
  // v2.6.24 mm/memory.c:2076-2084 (v2.6.27 2275-2283): when read_swap_cache_async() fails,
  // 'page_table = pte_offset_map_lock(...); if (likely(pte_same(*page_table, orig_pte))) ret =
  // VM_FAULT_OOM;', else 0 and the access is tried again.
  const swapped = (last: Record<string, unknown>) =>
    scenario("swap-oom", ["do_swap_page"], anonWithKvm([...SWAP_OUT, last]));
  await t.step("another fault maps the page meanwhile: 0, and the access then succeeds", () => {
    const s = swapped({
      op: "race",
      fail: { page: [1] },
      threads: {
        cpu0: [touchStep("0x100000", "read")],
        cpu1: [touchStep("0x100000", "read")],
      },
    });
    // handle_mm_fault's pte lock, then do_swap_page's relock after the failed allocation.
    const decide = parkAt("cpu0", "lock ptl:A:0", 2);
    const run = raced(s, decide);
    assert.equal(lastReturn(run), "cpu0=faulted; cpu1=faulted");
    assert.ok(decide.parked());
    assert.equal(run.kernel.state.mms.A.ptes[0x100000 / 0x1000]?.t, "present");
  });
  await t.step("the pte is still the swap entry: VM_FAULT_OOM", () => {
    const s = swapped({
      op: "touch",
      mm: "A",
      addr: "0x100000",
      access: "read",
      fail: { page: [1] },
    });
    const run = raced(s);
    assert.equal(lastReturn(run), "VM_FAULT_OOM");
    assert.equal(run.kernel.state.mms.A.ptes[0x100000 / 0x1000]?.t, "swap");
  });
});

Deno.test("xip_file_fault() gives a hole of a shared writable vma a new block, and a private vma the sparse page", async (t) => {
  // v2.6.24 mm/filemap_xip.c:235-248: '(VM_WRITE | VM_MAYWRITE) && (VM_SHARED | VM_MAYSHARE)'
  // allocates a block and __xip_unmap()s the sparse page at that offset from every other
  // mapping; any other hole maps the sparse page, which __do_fault() copies on a private write.
  const xip = (share: string, prot: string, mm = "A") => ({
    op: "mmap",
    mm,
    addr: "0x200000",
    len: "0x2000",
    prot,
    share,
    file: "x",
  });
  const files = [{ name: "x", pages: 4, kind: "xip" }];
  await t.step(
    "a shared writable mapping's write: a block, and a reader's sparse page unmapped",
    () => {
      const run = new Run(
        scenario("xip-shared-write", ["__do_fault"], {
          files,
          steps: [
            xip("shared", "rw"),
            xip("shared", "r", "B"),
            touchStep("0x200000", "read", "B"),
            touchStep("0x200000", "write"),
          ],
        }),
        mainline,
        { trace: false },
      );
      run.complete();
      const { state } = run.kernel;
      const block = state.files.x.cache[0];
      assert.ok(block !== undefined);
      assert.deepEqual(state.pages[block].owner, { kind: "file", file: "x", index: 0 });
      const a = state.mms.A.ptes[0x200];
      assert.ok(a?.t === "present" && a.pfn === block && a.write);
      assert.equal(state.mms.B.ptes[0x200], undefined);
      // The sparse page keeps its zeroes.
      const zero = Object.values(state.pages).find((p) => p.owner.kind === "zero")!;
      assert.equal(zero.data, 0);
    },
  );
  await t.step("a private mapping's write: a copy of the sparse page, and no block", () => {
    const run = new Run(
      scenario("xip-private-write", ["__do_fault"], {
        files,
        steps: [xip("private", "rw"), touchStep("0x200000", "write")],
      }),
      mainline,
      { trace: false },
    );
    run.complete();
    const { state } = run.kernel;
    assert.deepEqual(state.files.x.cache, {});
    const a = state.mms.A.ptes[0x200];
    assert.ok(a?.t === "present" && a.write);
    assert.equal(state.pages[a.pfn].owner.kind, "anon");
  });
});

Deno.test("do_wp_page's copy takes the old page's rmap off before the pte's clear on 2.6.24, after the new pte on 2.6.27", () => {
  // v2.6.24 mm/memory.c:1640 'page_remove_rmap(old_page, vma);' comes before
  // 'ptep_clear_flush()' (1656); from 945754a175 ("mm: fix race in COW logic") it comes after
  // set_pte_at() (v2.6.27 1917). A page fork shares (mapcount 2) is copied on the parent's
  // write; KVM's callout after the pte's clear takes its mmu_lock, a scheduling point, where the
  // old page's mapcount is 1 on emmu-v1 (kernel.cow_rmap "remove-before-clear") and still 2 on
  // mainline-2.6.27 ("remove-after-set").
  const s = scenario("cow-rmap-order", ["do_wp_page"], {
    secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
    steps: [
      mmapStep("0x100000", "0x1000"),
      { op: "register", secondary: "kvm0" },
      touchStep("0x100000", "write"),
      { op: "fork", mm: "A", child: "B" },
      touchStep("0x100000", "write"),
    ],
  });
  for (const [id, mapcount] of [["emmu-v1", 1], ["mainline-2.6.27", 2]] as const) {
    const rev = revisions.find((r) => r.id === id)!;
    let seen = -1;
    /** The page the parent maps when its write begins: the one fork shares. */
    let oldPfn = -1;
    const run: Run = new Run(s, rev, {
      preemptive: true,
      trace: false,
      onPoint: (step, _thread, p) => {
        if (step !== 4) return;
        const pte = run.kernel.state.mms.A.ptes[0x100];
        if (oldPfn < 0 && pte?.t === "present") oldPfn = pte.pfn;
        // KVM's callout after the pte's clear: the pte is none there.
        if (p.label === "lock kvm->mmu_lock:kvm0" && pte === undefined && seen < 0) {
          seen = run.kernel.state.pages[oldPfn].mapcount;
        }
      },
    });
    run.complete();
    assert.equal(seen, mapcount, id);
  }
});

/**
 * A decider that runs `first` until `ready(run)` holds at one of its
 * points, then every other thread while one can run, then `first` again.
 */
function runUntil(first: string, ready: (run: Run) => boolean): Decider & { parked(): boolean } {
  let parked = false;
  const decide: Decider = (enabled, run) => {
    const me = enabled.find((t) => t.name === first);
    if (me && !parked) {
      if (ready(run)) parked = true;
      else return me;
    }
    return enabled.find((t) => t.name !== first && !t.waiting) ?? me ?? enabled[0];
  };
  return Object.assign(decide, { parked: () => parked });
}

/** Whether A's pte at `addr` is a swap entry now. */
const swapped = (addr: number) => (run: Run) =>
  run.kernel.state.mms.A?.ptes[addr / 0x1000]?.t === "swap";

Deno.test("do_swap_page() takes the page reclaim has not freed yet from the swap cache, and reclaim keeps it", () => {
  // v2.6.24 mm/memory.c:2071 'page = lookup_swap_cache(entry);' with a reference, then
  // lock_page() (2092). A's read fault comes once try_to_unmap has put the swap entry in and
  // ->writepage() has unlocked the page, before reclaim takes the lock again (mm/vmscan.c:543-553):
  // it maps the page reclaim had, and reclaim's remove_mapping() finds its reference and keeps
  // the page (588, 'cannot_free').
  const s = scenario("swap-cache-hit", ["do_swap_page", "try_to_unmap_one"], {
    steps: reclaimRacing(touchStep("0x100000", "read")),
  });
  let before = -1;
  const decide = runUntil("cpu0", (run) => {
    const pte = run.kernel.state.mms.A.ptes[0x100000 / 0x1000];
    if (pte?.t === "present") before = pte.pfn;
    return swapped(0x100000)(run);
  });
  const run = raced(s, decide);
  assert.ok(decide.parked(), "reclaim put the swap entry in");
  const st = run.kernel.state;
  const pte = st.mms.A.ptes[0x100000 / 0x1000];
  assert.ok(pte && pte.t === "present");
  assert.equal(pte.pfn, before, "the page of the swap cache, not a new one");
  assert.equal(st.pages[before].mapcount, 1);
  assert.equal(st.counters.pagesFreed, 0);
  assert.equal(lastReturn(run), "cpu0=kept-busy; cpu1=faulted");
  assert.deepEqual(run.kinds(), []);
});

Deno.test("do_swap_page() maps a swap-cache page that another entry still refers to read-only, and a write copies it in do_wp_page", () => {
  // After fork, reclaim puts a swap entry in A and in B and writes the page out. Before it takes
  // the page lock again, A's write fault finds the page in the swap cache, where
  // can_share_swap_page() counts B's entry (v2.6.24 mm/memory.c:2112, mm/swapfile.c:310-339):
  // the pte is read-only, and do_wp_page (2126) gives A a copy; B's read fault maps the page of
  // the swap cache. Reclaim then finds B's reference and keeps the page.
  const s = scenario("swap-cache-cow", ["do_swap_page", "do_wp_page", "try_to_unmap_one"], {
    steps: [
      mmapStep("0x100000", "0x1000"),
      touchStep("0x100000", "write"),
      { op: "fork", mm: "A", child: "B" },
      { op: "reclaim", mm: "A", addr: "0x100000" },
      {
        op: "race",
        threads: {
          cpu0: [{ op: "reclaim", mm: "A", addr: "0x100000" }],
          cpu1: [touchStep("0x100000", "write")],
          cpu2: [touchStep("0x100000", "read", "B")],
        },
      },
    ],
  });
  let before = -1;
  const decide = runUntil("cpu0", (run) => {
    const pte = run.kernel.state.mms.A.ptes[0x100000 / 0x1000];
    if (pte?.t === "present") before = pte.pfn;
    const b = run.kernel.state.mms.B.ptes[0x100000 / 0x1000];
    return pte?.t === "swap" && b?.t === "swap";
  });
  const run = raced(s, decide);
  assert.ok(decide.parked(), "reclaim put both swap entries in");
  const st = run.kernel.state;
  const a = st.mms.A.ptes[0x100000 / 0x1000];
  const b = st.mms.B.ptes[0x100000 / 0x1000];
  assert.ok(a && a.t === "present" && b && b.t === "present");
  assert.notEqual(a.pfn, before, "A wrote a copy");
  assert.equal(a.write, true);
  assert.equal(b.pfn, before, "B mapped the page of the swap cache");
  assert.equal(b.write, false);
  assert.equal(st.pages[before].mapcount, 1);
  assert.equal(lastReturn(run), "cpu0=kept-busy; cpu1=faulted; cpu2=faulted");
  assert.deepEqual(run.kinds(), []);
});

Deno.test("reclaim's remove_mapping() leaves the page cache alone for a page truncation took out of it meanwhile", () => {
  // While reclaim has written A's shmem page out and dropped its lock, truncation takes the page
  // out of the cache, the file grows again, and a write fault puts a new page at the same index.
  // Reclaim then frees its page, which is no longer in the cache: the new page's entry stays
  // (v2.6.24 mm/vmscan.c:588, 'if (!mapping || !remove_mapping(mapping, page))'; truncation
  // cleared page->mapping in truncate_complete_page()).
  const s = scenario(
    "reclaim-truncated",
    ["try_to_unmap_one", "__do_fault"],
    fileReclaimRacing("shmem", 1, [
      { op: "truncate", file: "data", pages: 0 },
      { op: "truncate", file: "data", pages: 1 },
      touchStep("0x200000", "write"),
    ]),
  );
  const decide = parkAt("cpu0", "shrink_page_list:after_pageout", 1);
  const run = raced(s, decide);
  assert.ok(decide.parked(), "reclaim wrote the page out");
  const st = run.kernel.state;
  const pte = st.mms.A.ptes[0x200000 / 0x1000];
  assert.ok(pte && pte.t === "present");
  assert.equal(st.files.data.cache[0], pte.pfn, "the new page is still in the cache");
  assert.equal(lastReturn(run), "cpu0=freed; cpu1=0,0,faulted");
  assert.deepEqual(run.kinds(), []);
});

Deno.test("shrink_page_list() puts an anonymous page in the swap cache before try_to_unmap(), and tlb_finish_mmu() takes it out again", async (t) => {
  // 'if (PageAnon(page) && !PageSwapCache(page)) if (!add_to_swap(page, GFP_ATOMIC))' comes
  // before try_to_unmap() (v2.6.24 mm/vmscan.c:507-519). A's touch between page_referenced() and
  // try_to_unmap() makes the pte young again: try_to_unmap_one() fails ('goto
  // activate_locked'), and the page stays in the swap cache, its slot allocated and no swap pte
  // referring to it. munmap()'s tlb_finish_mmu() then frees it through free_swap_cache():
  // remove_exclusive_swap_page() finds the gather's and the cache's the only references
  // (mm/swap_state.c:256-262, mm/swapfile.c:345-385), and the slot goes with the page.
  const steps = [
    mmapStep("0x100000", "0x1000"),
    touchStep("0x100000", "write"),
    { op: "reclaim", mm: "A", addr: "0x100000" },
    {
      op: "reclaim",
      mm: "A",
      addr: "0x100000",
      during: { at: "shrink_page_list:after_referenced", step: touchStep("0x100000", "read") },
    },
  ];
  await t.step("try_to_unmap() fails: the page stays in the swap cache", () => {
    const run = raced(scenario("add-to-swap-first", ["try_to_unmap_one"], { steps }));
    assert.equal(lastReturn(run), "activated");
    const st = run.kernel.state;
    const pte = st.mms.A.ptes[0x100];
    assert.ok(pte?.t === "present");
    assert.deepEqual(Object.values(st.swap), [{
      data: st.pages[pte.pfn].data,
      from: 0,
      page: pte.pfn,
    }]);
    assert.equal(st.pages[pte.pfn].refs.swapcache, 1);
    assert.ok(st.pages[pte.pfn].dirty, "add_to_swap() dirties the page");
  });
  await t.step("munmap() frees the page and its slot", () => {
    const munmap = { op: "munmap", mm: "A", addr: "0x100000", len: "0x1000" };
    const run = raced(
      scenario("free-swap-cache", ["try_to_unmap_one"], { steps: [...steps, munmap] }),
    );
    assert.deepEqual(run.kernel.state.swap, {});
    assert.equal(run.kernel.state.counters.pagesFreed, 1);
    assert.deepEqual(run.kinds(), []);
  });
});

Deno.test("free_swap_cache() leaves a page reclaim has locked in the swap cache; reclaim frees it and its slot", () => {
  // munmap() runs while reclaim, past add_to_swap() and holding the page lock, waits for the
  // anon_vma lock in try_to_unmap(): tlb_finish_mmu()'s free_swap_cache() cannot lock the page
  // ('!TestSetPageLocked(page)', v2.6.24 mm/swap_state.c:258) and leaves it in the cache. Reclaim
  // then finds it unmapped, writes it out and frees it: remove_mapping()'s
  // '__delete_from_swap_cache(page); ... swap_free(swap);' (mm/vmscan.c:419-423) frees the
  // slot too, which no swap pte refers to.
  const s = scenario("free-swap-cache-locked", ["try_to_unmap_one"], {
    steps: reclaimRacing({ op: "munmap", mm: "A", addr: "0x100000", len: "0x1000" }),
  });
  const decide = parkAt("cpu0", "lock anon_vma:A:0x100000", 2);
  const run = raced(s, decide);
  assert.ok(decide.parked(), "reclaim got to try_to_unmap()");
  assert.equal(lastReturn(run), "cpu0=freed; cpu1=0");
  assert.deepEqual(run.kernel.state.swap, {});
  assert.equal(run.kernel.state.counters.pagesFreed, 1);
  assert.deepEqual(run.kinds(), []);
});

Deno.test("do_swap_page() reads a page into the swap cache and leaves it there; a zapped swap pte frees it only when no one else holds it", async (t) => {
  // A's page, shared with fork's child B, is swapped out from both: one slot, two swap ptes.
  const swappedFromBoth = [
    mmapStep("0x100000", "0x1000"),
    touchStep("0x100000", "write"),
    { op: "fork", mm: "A", child: "B" },
    ...SWAP_OUT,
  ];
  const run = (more: unknown[]) => {
    const steps = [...swappedFromBoth, ...more];
    const r = raced(scenario("swap-in-cache", ["do_swap_page"], { steps }));
    assert.deepEqual(r.kinds(), []);
    return r.kernel.state;
  };
  await t.step("the page read in stays in the swap cache", () => {
    // B's write fault reads it in: read_swap_cache_async() puts the new page in the swap cache
    // (v2.6.24 mm/swap_state.c:356), can_share_swap_page() counts A's entry too
    // (mm/swapfile.c:310-339), so do_wp_page() copies it for B. A's read fault then finds it in
    // the cache and maps it, and swap_free() leaves it there (mm/memory.c:2121-2123).
    const st = run([touchStep("0x100000", "write", "B"), touchStep("0x100000", "read")]);
    const a = st.mms.A.ptes[0x100];
    const b = st.mms.B.ptes[0x100];
    assert.ok(a?.t === "present" && b?.t === "present");
    assert.notEqual(b.pfn, a.pfn, "B's write copied the page A's entry still referred to");
    assert.deepEqual(Object.values(st.swap), [{
      data: st.pages[a.pfn].data,
      from: 0,
      page: a.pfn,
    }]);
    assert.deepEqual(st.pages[a.pfn].refs, { swapcache: 1, "pte:A:0x100000": 1 });
  });
  await t.step("free_swap_and_cache() of A's swap pte leaves the page B maps in the cache", () => {
    // B's read fault maps the page it reads in, and A's swap pte still refers to its slot. A's
    // exit zaps that pte, the slot's last entry, but the page is mapped by B ('one_user =
    // (page_count(page) == 2)', v2.6.24 mm/swapfile.c:415), so it stays in the cache; B's exit
    // then frees it and its slot through free_swap_cache().
    const readByB = [touchStep("0x100000", "read", "B"), { op: "exit", mm: "A" }];
    const st = run(readByB);
    const b = st.mms.B.ptes[0x100];
    assert.ok(b?.t === "present");
    assert.deepEqual(Object.values(st.swap), [{
      data: st.pages[b.pfn].data,
      from: 0,
      page: b.pfn,
    }]);
    assert.deepEqual(st.pages[b.pfn].refs, { swapcache: 1, "pte:B:0x100000": 1 });
    const freed = run([...readByB, { op: "exit", mm: "B" }]);
    assert.deepEqual(freed.swap, {});
    assert.equal(freed.counters.pagesFreed, freed.counters.pagesAllocated);
  });
  await t.step("free_swap_and_cache() takes out of the cache a page only the cache holds", () => {
    // B's write fault reads the page in and copies it: the page of the swap cache is mapped by
    // no one. A's exit zaps A's swap pte, the slot's last entry: the cache's is the page's only
    // reference, so it leaves the cache with the slot and is freed (mm/swapfile.c:415-424).
    const st = run([touchStep("0x100000", "write", "B"), { op: "exit", mm: "A" }]);
    assert.deepEqual(st.swap, {});
    const b = st.mms.B.ptes[0x100];
    assert.ok(b?.t === "present");
    assert.equal(st.counters.pagesFreed, st.counters.pagesAllocated - 1, "all but B's copy");
  });
});

Deno.test("shrink_page_list() keeps a page dirtied again after ->writepage(): its data is not on disk", () => {
  // Reclaim writes A's shared file page out and unlocks it ('case PAGE_SUCCESS: if
  // (PageWriteback(page) || PageDirty(page)) goto keep;', v2.6.24 mm/vmscan.c:543-545, v2.6.27
  // 578-580). Meanwhile cpu1 writes the page again through a new fault and unmaps it, and the
  // zap moves the pte's dirty bit to the page: reclaim keeps the page in the page cache, dirty,
  // for a later writeback. (Freeing it would drop the second write.)
  const s = scenario(
    "redirtied-after-pageout",
    ["shrink_page_list"],
    fileReclaimRacing("regular", 8, [
      touchStep("0x200000", "write"),
      { op: "munmap", mm: "A", addr: "0x200000", len: "0x1000" },
    ]),
  );
  for (const id of ["emmu-v1", "mainline-2.6.27", "hmm-sequence-retry"]) {
    const decide = parkAt("cpu0", "shrink_page_list:after_pageout", 1);
    const run = raced(s, decide, revisions.find((r) => r.id === id)!);
    assert.ok(decide.parked(), `${id}: reclaim wrote the page out`);
    assert.equal(lastReturn(run), "cpu0=kept-dirty; cpu1=faulted,0", id);
    const st = run.kernel.state;
    const pfn = st.files.data.cache[0];
    assert.ok(pfn !== undefined, `${id}: the page is still in the page cache`);
    assert.ok(st.pages[pfn].dirty && !st.pages[pfn].freed, id);
    assert.deepEqual(st.pages[pfn].refs, { "cache:data": 1 }, id);
    assert.deepEqual(run.kinds(), [], id);
  }
});

/** The revision of the 4.x swap-cache rules (`kernel.swap_cache` "try-to-free"). */
const hmm = revisions.find((r) => r.id === "hmm-sequence-retry")!;

Deno.test("kernel.swap_cache: 4.x's reuse_swap_page() takes the page it lets a fault write out of the swap cache; 2.6's can_share_swap_page() leaves it there", async (t) => {
  assert.equal(mainline.kernel.swap_cache, "remove-exclusive");
  assert.equal(hmm.kernel.swap_cache, "try-to-free");
  // A's page, swapped out: one slot, A's swap pte its only entry.
  const swapped = [mmapStep("0x100000", "0x1000"), touchStep("0x100000", "write"), ...SWAP_OUT];
  /** The swap slots, A's pte, and the page it maps, after `more`. */
  const after = (rev: typeof mainline, more: unknown[]) => {
    const run = raced(
      scenario("reuse-swap-page", ["do_swap_page"], { steps: [...swapped, ...more] }),
      undefined,
      rev,
    );
    assert.deepEqual(run.kinds(), []);
    const st = run.kernel.state;
    const pte = st.mms.A.ptes[0x100];
    assert.ok(pte?.t === "present" && pte.write && pte.dirty);
    return { swap: st.swap, page: st.pages[pte.pfn] };
  };
  for (
    const [name, more] of [
      // do_swap_page(): 'if (write_access && can_share_swap_page(page))' (v2.6.24
      // mm/memory.c:2112), 'if ((fe->flags & FAULT_FLAG_WRITE) && reuse_swap_page(page, NULL))'
      // (v4.9 mm/memory.c:2636).
      ["a write fault on the swap pte", [touchStep("0x100000", "write")]],
      // do_wp_page(): 'reuse = can_share_swap_page(old_page);' (v2.6.24 mm/memory.c:1565),
      // 'if (reuse_swap_page(old_page, &total_mapcount))' (v4.9 mm/memory.c:2406).
      ["a read fault, then a write", [
        touchStep("0x100000", "read"),
        touchStep("0x100000", "write"),
      ]],
    ] as const
  ) {
    await t.step(name, () => {
      // 2.6: the page stays in the swap cache, its slot with it (swap_free() drops A's entry),
      // the slot holding what was written out, the page what A wrote since.
      const old = after(mainline, [...more]);
      assert.deepEqual(Object.values(old.swap), [{ data: 1, from: 0, page: old.page.pfn }]);
      assert.equal(old.page.data, 2);
      assert.deepEqual(old.page.refs, { swapcache: 1, "pte:A:0x100000": 1 });
      // 4.x: 'if (count == 1 && !PageWriteback(page)) { delete_from_swap_cache(page);
      // SetPageDirty(page); }' (v4.9 mm/swapfile.c:946-949): the page and the slot part.
      const now = after(hmm, [...more]);
      assert.deepEqual(now.swap, {});
      assert.deepEqual(now.page.refs, { "pte:A:0x100000": 1 });
      assert.ok(now.page.dirty);
    });
  }
});

Deno.test("kernel.swap_cache: 4.x's free_swap_cache() takes a page no pte maps out of the swap cache though another gather holds it; 2.6 leaves it to the last holder", () => {
  // A's page, swapped out and read back by A and by fork's child B: in the swap cache, mapped
  // twice, no swap pte on its slot. B's munmap zaps B's pte into its gather and waits for the
  // anon_vma lock in free_pgtables(); A's munmap then runs to its end, and its
  // tlb_finish_mmu() frees the page's swap cache: 2.6's remove_exclusive_swap_page() finds
  // B's gather's reference too ('page_count(page) != 2', v2.6.27 mm/swapfile.c:360) and leaves
  // it; 4.x's free_swap_cache() finds it mapped by no pte ('!page_mapped(page)', v4.9
  // mm/swap_state.c:244) and try_to_free_swap() takes it out. Either way B's tlb_finish_mmu()
  // frees the page and the slot at the end.
  const s = scenario("free-swap-cache-held", ["do_swap_page"], {
    steps: [
      mmapStep("0x100000", "0x1000"),
      touchStep("0x100000", "write"),
      { op: "fork", mm: "A", child: "B" },
      ...SWAP_OUT,
      touchStep("0x100000", "read"),
      touchStep("0x100000", "read", "B"),
      {
        op: "race",
        threads: {
          cpu0: [{ op: "munmap", mm: "B", addr: "0x100000", len: "0x1000" }],
          cpu1: [
            { op: "munmap", mm: "A", addr: "0x100000", len: "0x1000" },
            { op: "munmap", mm: "A", addr: "0x300000", len: "0x1000", outside: true },
          ],
        },
      },
    ],
  });
  for (const [rev, cached] of [[mainline, true], [hmm, false]] as const) {
    const decide = parkAt("cpu0", "lock anon_vma:A:0x100000", 1);
    /** The holders of the page when cpu1 starts its second munmap. */
    let held: Record<string, number> | undefined;
    const run: Run = new Run(s, rev, {
      preemptive: true,
      trace: false,
      onPoint: (_step, thread, p) => {
        if (thread !== "cpu1" || p.label !== "lock mmap_sem:A" || held) return;
        const page = Object.values(run.kernel.state.pages).find((x) => !x.freed);
        if (run.kernel.state.mms.A.ptes[0x100] === undefined) held = { ...page?.refs };
      },
    });
    run.complete(decide);
    assert.ok(decide.parked(), `${rev.id}: B's munmap waited in free_pgtables()`);
    assert.deepEqual(
      held,
      cached ? { swapcache: 1, "mmu_gather:B": 1 } : { "mmu_gather:B": 1 },
      rev.id,
    );
    assert.deepEqual(run.kernel.state.swap, {}, rev.id);
    assert.equal(run.kernel.state.counters.pagesFreed, 2, rev.id);
    assert.deepEqual(run.kinds(), [], rev.id);
  }
});

Deno.test("kernel.swap_cache: 4.x's free_swap_and_cache() takes out of the swap cache a page reclaim has unlocked to write out; reclaim then keeps it, dirty", () => {
  // Reclaim unmaps A's page into a swap pte, writes it out and unlocks it; munmap zaps the swap
  // pte meanwhile. 2.6's free_swap_and_cache() finds reclaim's reference too ('one_user =
  // (page_count(page) == 2)', v2.6.27 mm/swapfile.c:417) and leaves the page, which reclaim
  // then frees with its slot. 4.x's takes it out, mapped by no pte ('!page_mapped(page)', v4.9
  // mm/swapfile.c:1022), and dirties it; reclaim finds it dirty and keeps it (v4.9
  // mm/vmscan.c:1149-1150), and its reference was the last.
  const s = scenario("free-swap-and-cache-reclaimed", ["try_to_unmap_one"], {
    steps: reclaimRacing({ op: "munmap", mm: "A", addr: "0x100000", len: "0x1000" }),
  });
  for (const [rev, result] of [[mainline, "freed"], [hmm, "kept-dirty"]] as const) {
    const decide = parkAt("cpu0", "shrink_page_list:after_pageout", 1);
    const run = raced(s, decide, rev);
    assert.ok(decide.parked(), `${rev.id}: reclaim wrote the page out`);
    assert.equal(lastReturn(run), `cpu0=${result}; cpu1=0`, rev.id);
    assert.deepEqual(run.kernel.state.swap, {}, rev.id);
    assert.equal(run.kernel.state.counters.pagesFreed, 1, rev.id);
    assert.deepEqual(run.kinds(), [], rev.id);
  }
});

Deno.test("kernel.wp_page_lock: do_wp_page() copies an anonymous page reclaim has locked on 2.6, and waits for its lock on 4.x", async (t) => {
  assert.equal(mainline.kernel.wp_page_lock, "trylock");
  assert.equal(hmm.kernel.wp_page_lock, "lock");
  // A's page, swapped out and read back: in the swap cache, mapped read-only by A alone. Reclaim
  // takes its lock and stops after page_referenced(); A's write fault meanwhile finds the page
  // locked. 2.6 copies it ('if (!TestSetPageLocked(old_page))', v2.6.27 mm/memory.c:1792). 4.x
  // waits in lock_page() with the pte lock dropped (v4.9 mm/memory.c:2392-2405).
  const run = (rev: typeof mainline, more: unknown[]) => {
    const s = scenario("wp-page-lock", ["do_wp_page"], {
      steps: [
        mmapStep("0x100000", "0x1000"),
        touchStep("0x100000", "write"),
        ...SWAP_OUT,
        touchStep("0x100000", "read"),
        ...more,
        {
          op: "race",
          threads: {
            cpu0: [{ op: "reclaim", mm: "A", addr: "0x100000" }],
            cpu1: [touchStep("0x100000", "write")],
          },
        },
      ],
    });
    /** The scheduling points A's write passes in the race. */
    const points: string[] = [];
    const r: Run = new Run(s, rev, {
      preemptive: true,
      trace: false,
      onPoint: (step, thread, p) => {
        if (step === s.steps.length - 1 && thread === "cpu1") points.push(p.label);
      },
    });
    const decide = parkAt("cpu0", "shrink_page_list:after_referenced", 1);
    r.complete(decide);
    assert.ok(decide.parked(), `${rev.id}: reclaim holds the page lock`);
    assert.deepEqual(r.kinds(), []);
    const pte = r.kernel.state.mms.A.ptes[0x100];
    assert.ok(pte?.t === "present" && pte.write);
    return { run: r, points, pte };
  };
  /** The page A maps after the swap-in read: the first pfn after the one swapped out. */
  const read = 2;
  await t.step("the pte young: reclaim keeps the page, and 4.x reuses it", () => {
    const old = run(mainline, []);
    assert.notEqual(old.pte.pfn, read, "2.6 copied the page");
    assert.ok(!old.points.includes(`lock page_lock:${read}`));
    assert.equal(lastReturn(old.run), "cpu0=activated; cpu1=faulted");
    const now = run(hmm, []);
    assert.ok(now.points.includes(`lock page_lock:${read}`), "4.x waited for the page lock");
    assert.equal(now.pte.pfn, read, "4.x reused the page once reclaim let it go");
    assert.equal(lastReturn(now.run), "cpu0=activated; cpu1=faulted");
    assert.deepEqual(now.run.kernel.state.swap, {}, "reuse_swap_page() took it out of the cache");
  });
  await t.step(
    "the pte old: reclaim unmaps it meanwhile, and 4.x returns 0 and faults again",
    () => {
      // Another reclaim first clears the young bit (the page is referenced, kept). Then reclaim
      // unmaps the page into a swap pte while A's fault waits: 4.x's re-check after lock_page()
      // fails ('if (!pte_same(*fe->pte, orig_pte)) { ... return 0; }'), A's access faults again and
      // do_swap_page() finds the page in the swap cache; the fault's reference keeps reclaim from
      // freeing it ('kept-busy'). 2.6 copied the page before reclaim unmapped it.
      const again = [{ op: "reclaim", mm: "A", addr: "0x100000" }];
      const old = run(mainline, again);
      assert.notEqual(old.pte.pfn, read);
      assert.equal(lastReturn(old.run), "cpu0=freed; cpu1=faulted");
      const now = run(hmm, again);
      assert.ok(now.points.includes(`lock page_lock:${read}`));
      assert.equal(now.pte.pfn, read);
      assert.equal(lastReturn(now.run), "cpu0=kept-busy; cpu1=faulted");
      const faults = (x: { run: Run }) => x.run.kernel.state.counters.faults;
      assert.equal(faults(now), faults(old) + 1, "4.x faulted once more");
    },
  );
});

Deno.test("do_wp_page's copy drops what the cleared pte held: the old page is not dirtied", () => {
  // 'ptep_clear_flush(vma, address, page_table); set_pte_at(mm, address, page_table, entry);'
  // (v2.6.24 mm/memory.c:1656-1657; v2.6.27 ptep_clear_flush_notify(), 1888): the old pte's dirty
  // bit goes nowhere. A's written page, which fork left write-protected and dirty in A's pte, is
  // copied on A's next write; fork's child B keeps the page, as clean as the page was.
  const run = raced(scenario("cow-old-clean", ["do_wp_page"], {
    steps: [
      mmapStep("0x100000", "0x1000"),
      touchStep("0x100000", "write"),
      { op: "fork", mm: "A", child: "B" },
      touchStep("0x100000", "write"),
    ],
  }));
  const { mms, pages } = run.kernel.state;
  const [a, b] = [mms.A.ptes[0x100], mms.B.ptes[0x100]];
  assert.ok(a?.t === "present" && b?.t === "present" && a.pfn !== b.pfn, "A's write copied");
  assert.equal(pages[b.pfn].mapcount, 1);
  assert.equal(pages[b.pfn].dirty, false);
});

Deno.test("follow_page() for a write dirties the page, not the pte", () => {
  // 'if ((flags & FOLL_WRITE) && !pte_dirty(pte) && !PageDirty(page)) set_page_dirty(page);'
  // (v2.6.24 mm/memory.c:952-954; v2.6.27 1081-1083; v4.9 mm/gup.c:165-167). A's read fault maps
  // the shmem page writable and clean; KVM's guest write looks it up with FOLL_WRITE.
  const run = raced(scenario("follow-page-dirty", ["follow_page"], {
    files: [{ name: "data", pages: 1, kind: "shmem" }],
    secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
    steps: [
      mmapStep("0x200000", "0x1000", { file: "data" }),
      { op: "register", secondary: "kvm0" },
      touchStep("0x200000", "read"),
      { op: "guest", secondary: "kvm0", addr: "0x200000", access: "write" },
    ],
  }));
  const pte = run.kernel.state.mms.A.ptes[0x200];
  assert.ok(pte?.t === "present" && pte.write, "the read fault mapped the page writable");
  assert.equal(pte.dirty, false);
  assert.equal(run.kernel.state.pages[pte.pfn].dirty, true);
  assert.deepEqual(run.kinds(), []);
});

Deno.test("do_wp_page() dirties a shared page only once writeback has let go of its lock", () => {
  // Writeback holds A's regular file page locked: clear_page_dirty_for_io() write-protects A's pte
  // through page_mkclean() (KVM's invalidate_page there takes kvm->mmu_lock, where cpu0 stops),
  // then clears the page's dirty flag. cpu1's write faults on the clean pte meanwhile and reuses
  // the page. 2.6 waits for the page lock before set_page_dirty_balance() ('wait_on_page_locked(
  // dirty_page);', v2.6.24 mm/memory.c:1684, v2.6.27 1944); 4.x takes it (v4.9
  // mm/memory.c:2102-2108). Either way the page ends dirty: writeback's clear comes first.
  const s = scenario("wp-dirty-after-writeback", ["do_wp_page"], {
    files: [{ name: "data", pages: 1, kind: "regular" }],
    secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
    steps: [
      mmapStep("0x200000", "0x1000", { file: "data" }),
      { op: "register", secondary: "kvm0" },
      touchStep("0x200000", "write"),
      {
        op: "race",
        threads: {
          cpu0: [{ op: "writeback", file: "data", index: 0 }],
          cpu1: [touchStep("0x200000", "write")],
        },
      },
    ],
  });
  for (const rev of [revisions.find((r) => r.id === "emmu-v1")!, mainline, hmm]) {
    const decide = parkAt("cpu0", "lock kvm->mmu_lock:kvm0", 1);
    const run = raced(s, decide, rev);
    assert.ok(decide.parked(), `${rev.id}: writeback got to page_mkclean()'s callout`);
    assert.equal(lastReturn(run), "cpu0=written; cpu1=faulted", rev.id);
    const pte = run.kernel.state.mms.A.ptes[0x200];
    assert.ok(pte?.t === "present" && pte.write && pte.dirty, rev.id);
    assert.equal(run.kernel.state.pages[pte.pfn].dirty, true, rev.id);
    assert.deepEqual(run.kinds(), [], rev.id);
  }
});

/**
 * Runs `run` (with `decide`) and gives, for kvm0's first get_user_pages()
 * call, the page faults it took and the kind of page it returned (the page
 * holding its "gup:kvm0" reference at `kvm0:after-gfn_to_pfn`).
 */
function firstGup(
  s: ReturnType<typeof parseScenario>,
  rev: (typeof revisions)[number],
  decide?: Decider,
): { faults: number; page: string } {
  let start: number | undefined;
  let got: { faults: number; page: string } | undefined;
  const run: Run = new Run(s, rev, {
    preemptive: true,
    trace: false,
    onPoint: (_step, thread, p) => {
      const st = run.kernel.state;
      if (thread !== "guest" || got) return;
      start ??= st.counters.faults;
      if (p.label !== "kvm0:after-gfn_to_pfn") return;
      const held = Object.values(st.pages).filter((pg) => pg.refs["gup:kvm0"]);
      got = { faults: st.counters.faults - start, page: held.map((pg) => pg.owner.kind).join() };
    },
  });
  run.complete(decide);
  assert.ok(got, `${rev.id}: get_user_pages() returned`);
  return got;
}

Deno.test("kernel.gup_force: 4.x refuses a forced write to a shared vma without VM_WRITE, where 2.6 breaks COW", () => {
  // v4.9 mm/gup.c:438-453, check_vma_flags(): 'if (!(vm_flags & VM_WRITE)) { ... if
  // (!is_cow_mapping(vm_flags)) return -EFAULT; }'. 2.6.27 asks VM_MAYWRITE only
  // (mm/memory.c:1146): the test above, where KVM maps a private copy of the shared page.
  const run = raced(forcedWriteRoShared(), undefined, hmm);
  assert.equal(lastReturn(run), "EFAULT");
  assert.equal(run.kernel.state.mms.A.ptes[0x200], undefined, "no fault was taken");
  assert.equal(run.kernel.state.counters.faults, 0);
  assert.deepEqual(run.kinds(), []);
});

Deno.test("kernel.gup_force: a zap between do_wp_page's VM_FAULT_WRITE and the lookup gives KVM the file's own page on 2.6, a new copy on 4.x (FOLL_COW)", () => {
  // KVM's forced write to a private read-only file mapping, racing madvise(MADV_DONTNEED). The
  // guest waits for A's pte lock six times: follow_page finds no pte (1); __do_fault maps a
  // private copy, read-only and dirty (2, then the page lock, 3); the write lookup fails on the
  // read-only pte (4); do_wp_page reuses the copy, VM_FAULT_WRITE (5); and the lookup after it
  // (6), where the zap runs. 2.6.27 looks up as a read from then on ('foll_flags &= ~FOLL_WRITE;',
  // mm/memory.c:1247-1248): a read fault maps the page-cache page and get_user_pages() returns it,
  // the Dirty COW window. v4.9 keeps FOLL_WRITE with FOLL_COW (mm/gup.c:424-425): the write
  // fault copies again, and the new copy's dirty pte satisfies the lookup (67-71).
  const s = scenario("foll-cow", ["get_user_pages", "do_wp_page"], {
    files: [{ name: "data", pages: 1, kind: "regular" }],
    secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
    steps: [
      {
        op: "mmap",
        mm: "A",
        addr: "0x200000",
        len: "0x1000",
        prot: "r",
        share: "private",
        file: "data",
      },
      { op: "register", secondary: "kvm0" },
      {
        op: "race",
        threads: {
          guest: [{ op: "guest", secondary: "kvm0", addr: "0x200000", access: "write" }],
          cpu1: [{ op: "madvise_dontneed", mm: "A", addr: "0x200000", len: "0x1000" }],
        },
      },
    ],
  });
  for (const [rev, page] of [[mainline, "file"], [hmm, "anon"]] as const) {
    const park = parkAt("guest", "lock ptl:A:1", 6);
    assert.equal(firstGup(s, rev, park).page, page, rev.id);
    assert.ok(park.parked(), rev.id);
  }
  // With the zap after the guest's whole access, both return the copy.
  const guestFirst: Decider = (enabled) => enabled.find((t) => t.name === "guest") ?? enabled[0];
  for (const rev of [mainline, hmm]) {
    assert.equal(firstGup(s, rev, guestFirst).page, "anon", rev.id);
  }
});

Deno.test("kernel.swap_write_result: what do_swap_page() returns after a write decides how many faults a forced write takes", async (t) => {
  // KVM's forced write to A's swapped-out page, in a private vma mprotect()ed read-only. Counted:
  // the page faults of its first get_user_pages() call (a later one, after KVM's
  // mmu_notifier_retry, is not).
  const swapped = (fork: boolean) =>
    scenario(`swap-forced-write${fork ? "-fork" : ""}`, ["do_swap_page", "get_user_pages"], {
      secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
      steps: [
        mmapStep("0x100000", "0x1000"),
        touchStep("0x100000", "write"),
        ...(fork ? [{ op: "fork", mm: "A", child: "B" }] : []),
        ...SWAP_OUT,
        { op: "mprotect", mm: "A", addr: "0x100000", len: "0x1000", prot: "r" },
        { op: "register", secondary: "kvm0" },
        { op: "guest", secondary: "kvm0", addr: "0x100000", access: "write", thread: "guest" },
      ],
    });
  const v8 = revisions.find((r) => r.id === "mmun-v8")!;
  await t.step("the page is A's alone: 4.x's reuse returns VM_FAULT_WRITE", () => {
    // do_swap_page() reuses the page, dirty and read-only (maybe_mkwrite() without VM_WRITE).
    // 2.6 returns 0 (v2.6.27 mm/memory.c:2317-2320): the write lookup fails, and a second fault's
    // do_wp_page() returns VM_FAULT_WRITE. v4.9 returns VM_FAULT_WRITE from do_swap_page itself
    // (mm/memory.c:2636-2640), and FOLL_COW takes the dirty pte.
    const s = swapped(false);
    assert.equal(firstGup(s, v8).faults, 2);
    assert.equal(firstGup(s, mainline).faults, 2);
    assert.equal(firstGup(s, hmm).faults, 1);
  });
  await t.step(
    "B's swap pte refers to the slot too: do_wp_page copies, and 2.6.25 on returns its VM_FAULT_WRITE",
    () => {
      // do_swap_page() cannot reuse the page and calls do_wp_page(), which copies. v2.6.25-rc3
      // (#v8's tree, as 2.6.24 mm/memory.c:2128-2130) keeps only VM_FAULT_OOM of it: the write
      // lookup fails on the copy's read-only pte, and a second fault reuses the copy. From commit
      // 61469f1d51 (v2.6.27 mm/memory.c:2331-2335, v4.9 2674-2677) VM_FAULT_WRITE is returned.
      const s = swapped(true);
      assert.equal(firstGup(s, v8).faults, 2);
      assert.equal(firstGup(s, mainline).faults, 1);
      assert.equal(firstGup(s, hmm).faults, 1);
    },
  );
});
