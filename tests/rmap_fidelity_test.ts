/**
 * The reverse-map walks of reclaim and writeback against the kernel's
 * source: `try_to_unmap_cluster()` reads a cluster's ptes under one pte
 * lock (v2.6.24 mm/rmap.c:801-808), and `try_to_unmap_file()` scans the
 * nonlinear vmas only while the page is still mapped, skips VM_LOCKED ones
 * and goes round their clusters from a cursor (864-948). Each race test drives one schedule: a
 * thread runs to a named scheduling point, another runs to its end, then
 * the first goes on; the test asserts on the state the kernel leaves.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Decider, loadRevisionDir, parseScenario, Run } from "../mod.ts";
import { mmapStep, touchStep } from "./_fixtures.ts";

const revisions = loadRevisionDir("patches");
const mainline = revisions.find((r) => r.id === "mainline-2.6.27")!;

/**
 * A decider that runs `first` until it stops at `label` while another thread
 * can run (in the race, not in the steps before it), then every other
 * thread to its end, then `first` again.
 */
function holdAt(first: string, label: string): Decider {
  let parked = false;
  return (enabled) => {
    const me = enabled.find((t) => t.name === first);
    const raced = enabled.some((t) => t.name !== first);
    if (me && !parked) {
      if (raced && me.last?.label === label) parked = true;
      else return me;
    }
    return enabled.find((t) => t.name !== first) ?? enabled[0];
  };
}

/** Runs `s` on mainline-2.6.27 with every lock a scheduling point, under `decide`. */
function raced(s: ReturnType<typeof parseScenario>, decide: Decider): Run {
  const run = new Run(s, mainline, { preemptive: true, trace: false });
  run.complete(decide);
  return run;
}

/**
 * A shared mapping of a shmem file at 0x200000 (4 pages) whose first page
 * remap_file_pages() points at offset 3 (a nonlinear vma), one reclaim of
 * that page (its pte is young: it is kept), then reclaim racing `other`.
 */
function clusterRace(other: Record<string, unknown>) {
  return parseScenario(
    {
      purpose: "try_to_unmap_cluster() racing a change of the nonlinear vma's pte",
      exercises: ["try_to_unmap_cluster"],
      cite: "v2.6.24 mm/rmap.c try_to_unmap_cluster(), lines 801-807",
      files: [{ name: "data", pages: 8, kind: "shmem" }],
      steps: [
        mmapStep("0x200000", "0x4000", { file: "data" }),
        { op: "remap_file_pages", mm: "A", addr: "0x200000", len: "0x1000", pgoff: 3 },
        { op: "reclaim", mm: "A", addr: "0x200000" },
        {
          op: "race",
          threads: { cpu0: [{ op: "reclaim", mm: "A", addr: "0x200000" }], cpu1: [other] },
        },
      ],
    },
    "rmap_fidelity_test",
    "cluster-race",
  );
}

Deno.test("try_to_unmap_cluster() reads the cluster's ptes under the pte lock", async (t) => {
  // The racing reclaim waits at the cluster's pte lock while the other thread changes the pte. Under the lock the walk
  // reads what is there now ('if (!pte_present(*pte)) continue;').
  await t.step("MADV_DONTNEED zaps the pte first: the cluster finds no present pte", () => {
    const run = raced(
      clusterRace({ op: "madvise_dontneed", mm: "A", addr: "0x200000", len: "0x1000" }),
      holdAt("cpu0", "lock ptl:A:1"),
    );
    const { state } = run.kernel;
    const page = Object.values(state.pages).find((p) =>
      p.owner.kind === "file" && p.owner.index === 3
    )!;
    // Before, the walk went on with the pte it had read before the lock: it unmapped the page
    // a second time, leaving mapcount -1 and file rss -1.
    assert.equal(page.mapcount, 0);
    assert.equal(state.mms.A.rss.file, 0);
    // madvise_dontneed() zaps a nonlinear vma with details: the page, not at its linear
    // index, leaves a file pte of its offset (v2.6.24 mm/madvise.c:157-163, mm/memory.c:667-670).
    assert.deepEqual(state.mms.A.ptes[0x200], { t: "file", pgoff: 3 });
  });
  await t.step("remap_file_pages() to offset 5 first: the file pte it set stays", () => {
    const run = raced(
      clusterRace({
        op: "remap_file_pages",
        mm: "A",
        addr: "0x200000",
        len: "0x1000",
        pgoff: 5,
        nonblock: true,
      }),
      holdAt("cpu0", "lock ptl:A:1"),
    );
    const { state } = run.kernel;
    // Before, the walk cleared the pte remap_file_pages() had set and wrote the old page's
    // offset, 3, in its place.
    assert.deepEqual(state.mms.A.ptes[0x200], { t: "file", pgoff: 5 });
    for (const p of Object.values(state.pages)) assert.ok(p.mapcount >= 0, `pfn ${p.pfn}`);
    assert.equal(state.mms.A.rss.file, 0);
  });
});

/** Runs the steps of a scenario over the file `data` of `pages` pages, whole, on mainline-2.6.27. */
function ranWhole(pages: number, steps: Record<string, unknown>[]): Run {
  const s = parseScenario(
    {
      purpose: "reclaim of a file page whose file has a nonlinear vma",
      exercises: ["try_to_unmap"],
      cite: "v2.6.24 mm/rmap.c try_to_unmap_file(), lines 864-948",
      files: [{ name: "data", pages, kind: "shmem" }],
      steps,
    },
    "rmap_fidelity_test",
    "nonlinear-reclaim",
  );
  const run = new Run(s, mainline, { trace: false });
  run.complete();
  return run;
}

/** A shared mapping of `data` at `addr`, `len` bytes long, mlocked when `locked`. */
function mmapData(addr: string, len: string, locked = false): Record<string, unknown> {
  const op = { op: "mmap", mm: "A", addr, len, prot: "rw", share: "shared", file: "data" };
  return locked ? { ...op, locked } : op;
}

/** Reclaim of the page A maps at `addr`. */
function reclaim(addr: string): Record<string, unknown> {
  return { op: "reclaim", mm: "A", addr };
}

Deno.test("try_to_unmap() leaves the nonlinear vmas alone once the linear walk unmapped the page", () => {
  // v2.6.24 mm/rmap.c:879-880 'if (ret == SWAP_FAIL || !page_mapped(page)) goto out;': page 0
  // is unmapped from the linear vma, and the nonlinear vma's scan is never reached. Before, it
  // ran every time and unmapped the nonlinear vma's page 5 as well.
  const run = ranWhole(8, [
    mmapData("0x200000", "0x4000"),
    mmapData("0x400000", "0x4000"),
    { op: "remap_file_pages", mm: "A", addr: "0x400000", len: "0x1000", pgoff: 5 },
    touchStep("0x200000", "read"),
    reclaim("0x200000"),
    reclaim("0x200000"),
    touchStep("0x200000", "read"),
    reclaim("0x200000"),
    reclaim("0x200000"),
  ]);
  const { state } = run.kernel;
  const pte = state.mms.A.ptes[0x400];
  assert.equal(pte?.t, "present");
  const page = state.pages[pte.t === "present" ? pte.pfn : -1];
  assert.deepEqual(page.owner, { kind: "file", file: "data", index: 5 });
  assert.equal(page.mapcount, 1);
});

Deno.test("try_to_unmap() fails for a page whose file's nonlinear vmas are all VM_LOCKED", () => {
  // v2.6.24 mm/rmap.c:888-889 skip a VM_LOCKED vma, and 898-901 'if (max_nl_size == 0) { ret =
  // SWAP_FAIL;': shrink_page_list() activates the page (mm/vmscan.c:520-521 'case SWAP_FAIL:
  // goto activate_locked;'), which stays mapped. Before, the mlocked vma's ptes were unmapped.
  const run = ranWhole(8, [
    mmapData("0x200000", "0x4000", true),
    { op: "remap_file_pages", mm: "A", addr: "0x200000", len: "0x1000", pgoff: 3 },
    reclaim("0x200000"),
    reclaim("0x200000"),
    reclaim("0x200000"),
  ]);
  const values = run.outcome().returns.slice(2).map((r) => r.value);
  assert.deepEqual(values, ["activated", "activated", "activated"]);
  const pte = run.kernel.state.mms.A.ptes[0x200];
  assert.equal(pte?.t, "present");
});

Deno.test("try_to_unmap() scans a nonlinear vma cluster by cluster, past its first", () => {
  // A 64-page nonlinear vma whose one pte is in its second cluster (0x220000): v2.6.24
  // mm/rmap.c:919-937 walk the clusters up to max_nl_size, CLUSTER_SIZE (32 pages) at a time.
  // The first reclaim finds the pte young and ages it; the second unmaps it, leaving a file pte
  // (linear_page_index() there is 32, the page's index 0). Before, only the first cluster was
  // ever scanned, and the page stayed mapped.
  const run = ranWhole(64, [
    mmapData("0x200000", "0x40000"),
    { op: "remap_file_pages", mm: "A", addr: "0x220000", len: "0x1000", pgoff: 0 },
    reclaim("0x220000"),
    reclaim("0x220000"),
  ]);
  const values = run.outcome().returns.slice(2).map((r) => r.value);
  assert.deepEqual(values, ["kept-mapped", "freed"]);
  assert.deepEqual(run.kernel.state.mms.A.ptes[0x220], { t: "file", pgoff: 0 });
  // The scan stopped in the second cluster once the page's one mapping was gone (mapcount 0,
  // 'goto out' at 930-931): vm_private_data is left at the end of that cluster.
  assert.equal(run.kernel.state.mms.A.vmas[0].nlCursor, 0x40000);
});

Deno.test("__xip_unmap() checks under the pte lock that the pte still maps the sparse page", () => {
  // A write to an xip hole allocates the block, then __xip_unmap() waits for the pte lock while
  // MADV_DONTNEED zaps the sparse page's pte and a read fault maps the new block there.
  // page_check_address() looks at the pte again under the lock, and at its pfn (v2.6.24
  // mm/rmap.c:257-258): the block's pte stays. Before, __xip_unmap() cleared it, leaving the
  // block's mapcount at 1 with no pte (page-leak).
  const s = parseScenario(
    {
      purpose: "__xip_unmap() racing a zap and a re-fault of the sparse page's pte",
      exercises: ["__xip_unmap"],
      cite: "v2.6.24 mm/filemap_xip.c __xip_unmap(), line 192",
      files: [{ name: "x", pages: 4, kind: "xip" }],
      steps: [
        mmapStep("0x200000", "0x2000", { file: "x", prot: "r" }),
        touchStep("0x200000", "read"),
        {
          op: "race",
          threads: {
            cpu0: [{ op: "xip_write", file: "x", index: 0 }],
            cpu1: [
              { op: "madvise_dontneed", mm: "A", addr: "0x200000", len: "0x1000" },
              touchStep("0x200000", "read"),
            ],
          },
        },
      ],
    },
    "rmap_fidelity_test",
    "xip-race",
  );
  const run = raced(s, holdAt("cpu0", "lock ptl:A:1"));
  const { state } = run.kernel;
  const block = state.files.x.cache[0];
  assert.deepEqual(state.mms.A.ptes[0x200], {
    t: "present",
    pfn: block,
    write: false,
    young: true,
    dirty: false,
  });
  assert.equal(state.pages[block].mapcount, 1);
  assert.deepEqual(run.outcome().kinds, []);
});

Deno.test("writeback write-protects the ptes of a page only where its mapping counts dirty pages", () => {
  // clear_page_dirty_for_io() calls page_mkclean() 'if (mapping &&
  // mapping_cap_account_dirty(mapping))' (v2.6.24 mm/page-writeback.c:1118, 1144); shmem sets
  // BDI_CAP_NO_ACCT_DIRTY (mm/shmem.c:192) and only the page's dirty flag is cleared (1164).
  // A regular file's pte is cleaned and write-protected; a shmem file's stays writable and dirty.
  for (const [kind, write] of [["regular", false], ["shmem", true]] as const) {
    const s = parseScenario(
      {
        purpose: `writeback of a ${kind} page`,
        exercises: ["page_mkclean_one"],
        cite: "tests/rmap_fidelity_test.ts",
        files: [{ name: "data", pages: 2, kind }],
        steps: [
          mmapStep("0x200000", "0x2000", { file: "data" }),
          touchStep("0x200000", "write"),
          { op: "writeback", file: "data", index: 0 },
        ],
      },
      "rmap_fidelity_test",
      `writeback-${kind}`,
    );
    const run = new Run(s, revisions.find((r) => r.id === "mainline-2.6.27")!, { trace: false });
    run.complete();
    const pte = run.kernel.state.mms.A.ptes[0x200];
    assert.ok(pte?.t === "present", kind);
    assert.equal(pte.write, write, kind);
    assert.equal(pte.dirty, write, kind);
    assert.equal(run.outcome().returns[2].value, "written", kind);
  }
});

Deno.test("reclaim tries the page lock and keeps a page whose lock is taken", () => {
  // shrink_page_list(): 'if (TestSetPageLocked(page)) goto keep;' (v2.6.24 mm/vmscan.c:464;
  // v2.6.27 499 trylock_page()). Writeback holds the page lock while page_mkclean() waits for
  // i_mmap_lock; reclaim of the same page then keeps it, without waiting and without
  // unmapping it.
  const s = parseScenario(
    {
      purpose: "reclaim racing writeback of the same page",
      exercises: ["page_mkclean_one"],
      cite: "tests/rmap_fidelity_test.ts",
      files: [{ name: "data", pages: 2, kind: "regular" }],
      steps: [
        mmapStep("0x200000", "0x2000", { file: "data" }),
        touchStep("0x200000", "write"),
        {
          op: "race",
          threads: {
            cpu0: [{ op: "writeback", file: "data", index: 0 }],
            cpu1: [{ op: "reclaim", mm: "A", addr: "0x200000" }],
          },
        },
      ],
    },
    "rmap_fidelity_test",
    "reclaim-locked",
  );
  const run = new Run(s, revisions.find((r) => r.id === "mainline-2.6.27")!, {
    preemptive: true,
    trace: false,
  });
  run.complete(holdAt("cpu0", "lock i_mmap_lock:data"));
  assert.equal(run.outcome().returns[2].value, "cpu0=written; cpu1=kept-locked");
  const pte = run.kernel.state.mms.A.ptes[0x200];
  assert.ok(pte?.t === "present");
});

/** Runs `s` on revision `id` on the default schedule. */
function ranOn(s: ReturnType<typeof parseScenario>, id: string): Run {
  const run = new Run(s, revisions.find((r) => r.id === id)!, { trace: false });
  run.complete();
  return run;
}

Deno.test("page_referenced() in a VM_LOCKED vma: the young bit in 2.6.24, a reference that ends the walk from 2.6.25", () => {
  // An anonymous page of a MAP_LOCKED vma of A, shared with fork's child B (whose copy of the
  // vma is not locked: 'tmp->vm_flags &= ~VM_LOCKED;', v2.6.24 kernel/fork.c:262), both ptes
  // young, reclaimed twice.
  const s = parseScenario(
    {
      purpose: "reclaim of a page mapped by a VM_LOCKED vma and by fork's child",
      exercises: ["page_referenced_one"],
      cite: "v2.6.24 mm/rmap.c:287-288; v2.6.27 mm/rmap.c:292-296 (commit 5a9bbdcd29)",
      steps: [
        mmapStep("0x100000", "0x1000", { locked: true }),
        touchStep("0x100000", "write"),
        { op: "fork", mm: "A", child: "B" },
        touchStep("0x100000", "read", "B"),
        { op: "reclaim", mm: "A", addr: "0x100000" },
        { op: "reclaim", mm: "A", addr: "0x100000" },
      ],
    },
    "rmap_fidelity_test",
    "referenced-locked",
  );
  const young = (run: Run) => ["A", "B"].map((mm) => run.kernel.state.mms[mm].ptes[0x100]);
  // v2.6.24: page_referenced_one() clears and counts the young bit of both ptes (the page is
  // kept, activated); the second reclaim finds them old, and try_to_unmap_one() fails on the
  // VM_LOCKED vma ('if (!migration && ((vma->vm_flags & VM_LOCKED) ||', mm/rmap.c:679).
  const old = ranOn(s, "emmu-v5");
  assert.deepEqual(old.outcome().returns.slice(4).map((r) => r.value), ["activated", "activated"]);
  for (const pte of young(old)) assert.ok(pte?.t === "present" && !pte.young);
  // v2.6.27: A's vma, first on the anon_vma's list, counts as a reference and ends the walk: no
  // young bit is cleared, in A's vma or in B's, and each reclaim keeps the page as referenced.
  const now = ranOn(s, "mainline-2.6.27");
  assert.deepEqual(now.outcome().returns.slice(4).map((r) => r.value), ["activated", "activated"]);
  for (const pte of young(now)) assert.ok(pte?.t === "present" && pte.young);
});

Deno.test("page_referenced_file() counts a VM_LOCKED shared mapping as a reference before page_referenced_one()", () => {
  // 'if ((vma->vm_flags & (VM_LOCKED|VM_MAYSHARE)) == (VM_LOCKED|VM_MAYSHARE)) { referenced++;
  // break; }' (v2.6.24 mm/rmap.c:368-372, v2.6.27 393-397): the pte's young bit stays set.
  const s = parseScenario(
    {
      purpose: "reclaim of a file page mapped by a VM_LOCKED shared mapping",
      exercises: ["page_referenced_one"],
      cite: "v2.6.24 mm/rmap.c:368-372",
      files: [{ name: "data", pages: 2, kind: "regular" }],
      steps: [
        mmapStep("0x200000", "0x1000", { file: "data", locked: true }),
        touchStep("0x200000", "read"),
        { op: "reclaim", mm: "A", addr: "0x200000" },
      ],
    },
    "rmap_fidelity_test",
    "referenced-file-locked",
  );
  for (const id of ["emmu-v5", "mainline-2.6.27"]) {
    const run = ranOn(s, id);
    assert.equal(run.outcome().returns[2].value, "activated", id);
    const pte = run.kernel.state.mms.A.ptes[0x200];
    assert.ok(pte?.t === "present" && pte.young, id);
  }
});
