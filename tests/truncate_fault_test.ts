/**
 * A file fault racing `vmtruncate()`, as v2.6.24 orders them: the fault
 * holds the page lock from `find_lock_page()` until its pte is set
 * (`__do_fault()`, mm/memory.c:2344) and `filemap_fault()` looks at i_size
 * again under it (mm/filemap.c:1387-1392); truncation writes i_size, unmaps,
 * drops each cache page under its lock, unmapping a page that is mapped
 * again (`truncate_inode_pages_range()`, mm/truncate.c:198 and 240), and
 * unmaps a second time for private COW copies (mm/memory.c:1937). Each test
 * drives one schedule: the fault runs to a chosen point, the truncation
 * runs as far as it can, then both finish.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Decider, loadRevisionDir, parseScenario, Run } from "../mod.ts";

const mainline = loadRevisionDir("patches").find((r) => r.id === "mainline-2.6.27")!;

/** cpu0 reads or writes page 3 of an 8-page file mapped at 0x200000; cpu1 truncates it to 2 pages. */
function faultVsTruncate(
  id: string,
  opts: { kind: "regular" | "shmem"; share: "shared" | "private"; access: "read" | "write" },
) {
  return parseScenario(
    {
      purpose: "a file fault racing truncate",
      exercises: ["__do_fault", "truncate_inode_pages", "vmtruncate"],
      cite: "tests/truncate_fault_test.ts",
      files: [{ name: "data", pages: 8, kind: opts.kind }],
      steps: [
        {
          op: "mmap",
          mm: "A",
          addr: "0x200000",
          len: "0x8000",
          prot: "rw",
          share: opts.share,
          file: "data",
        },
        {
          op: "race",
          threads: {
            cpu0: [{ op: "touch", mm: "A", addr: "0x203000", access: opts.access }],
            cpu1: [{ op: "truncate", file: "data", pages: 2 }],
          },
        },
      ],
    },
    "truncate_fault_test",
    id,
  );
}

/**
 * A decider that runs cpu0 until `parked(run)` holds, then cpu1 as far as
 * it can go (to its end, or until it waits for cpu0), then whoever can run.
 */
function parkCpu0(parked: (run: Run) => boolean): Decider {
  let held = false;
  return (enabled, run) => {
    if (!held && parked(run)) held = true;
    const want = held ? "cpu1" : "cpu0";
    return enabled.find((t) => t.name === want) ?? enabled[0];
  };
}

/** The page locks a thread holds. */
function pageLocks(run: Run, thread: string): string[] {
  return run.kernel.locksOf(thread).map((l) => l.name).filter((n) => n.startsWith("page_lock:"));
}

/**
 * A run of `s` with every lock a scheduling point; cpu1's point labels in
 * the race, and at each what maps 0x203000 ("none", or the page's kind).
 */
function raced(s: ReturnType<typeof parseScenario>) {
  const points: string[] = [];
  const mapped: string[] = [];
  const run: Run = new Run(s, mainline, {
    preemptive: true,
    trace: false,
    onPoint: (step, thread, p) => {
      if (step !== 1 || thread !== "cpu1") return;
      points.push(p.label);
      const pte = run.kernel.state.mms.A.ptes[0x203];
      mapped.push(pte?.t === "present" ? run.kernel.state.pages[pte.pfn].owner.kind : "none");
    },
  });
  return { run, points, mapped };
}

Deno.test("filemap_fault() looks at i_size again under the page lock: a page truncated before the fault locks it is not mapped past the end", () => {
  // The auditor's schedule: the fault has read page 3 in and stops before it takes the page
  // lock; truncation writes the size, unmaps, takes the page lock (TestSetPageLocked, first
  // pass) and drops the page. The fault then locks the page, finds it gone from the mapping
  // (find_lock_page(), mm/filemap.c:648-652), reads a new one in (page_cache_read()) and
  // gives SIGBUS under its lock: no pte maps 0x203000 and nothing past the end is mapped.
  // The model used to map the dropped page there.
  const { run } = raced(faultVsTruncate("auditor", {
    kind: "regular",
    share: "shared",
    access: "read",
  }));
  run.complete(parkCpu0((r) => r.kernel.state.files.data.cache[3] !== undefined));
  const st = run.kernel.state;
  assert.equal(run.outcome().returns[1].value, "cpu0=VM_FAULT_SIGBUS; cpu1=0");
  assert.equal(st.mms.A.ptes[0x203], undefined);
  assert.equal(st.files.data.size, 2);
  // The new page page_cache_read() added stays in the cache past the end, as in the kernel.
  const left = st.files.data.cache[3];
  assert.ok(left !== undefined && st.pages[left].mapcount === 0);
  assert.equal(run.violations.length, 0, JSON.stringify(run.violations));
});

Deno.test("shmem_fault() of a page truncated before the fault locks it gives SIGBUS and reads nothing in", () => {
  // shmem_getpage(): find_lock_page() finds no page after the truncation, and
  // shmem_swp_alloc() refuses an index past i_size (-EINVAL, VM_FAULT_SIGBUS).
  const { run } = raced(
    faultVsTruncate("shmem", { kind: "shmem", share: "shared", access: "read" }),
  );
  run.complete(parkCpu0((r) => r.kernel.state.files.data.cache[3] !== undefined));
  const st = run.kernel.state;
  assert.equal(run.outcome().returns[1].value, "cpu0=VM_FAULT_SIGBUS; cpu1=0");
  assert.equal(st.mms.A.ptes[0x203], undefined);
  assert.deepEqual(Object.keys(st.files.data.cache).filter((i) => Number(i) >= 2), []);
});

Deno.test("truncate_inode_pages() waits for the page lock a fault holds, then unmaps the page the fault mapped", () => {
  // The fault holds page 3 locked (it passed the i_size check) and stops before the pte lock.
  // Truncation unmaps (no pte yet), skips the locked page in its first pass and waits for it
  // in the second (lock_page(), mm/truncate.c:238). The fault maps the page and unlocks it;
  // truncation finds it mapped and unmaps it under the page lock (line 240), then drops it.
  // The access the fault was for goes through its pte before truncation takes the lock.
  const { run, points, mapped } = raced(faultVsTruncate("wait", {
    kind: "regular",
    share: "shared",
    access: "read",
  }));
  run.complete(parkCpu0((r) => pageLocks(r, "cpu0").length > 0));
  const st = run.kernel.state;
  const page = points.findIndex((p) => p.startsWith("wait page_lock:"));
  assert.ok(page >= 0, points.join(", "));
  // After the page lock: the one-page unmap_mapping_range() (i_mmap_lock), with the fault's
  // pte there, then the second walk, with none.
  const unmaps = points.map((p, i) => [p, mapped[i]]).slice(page)
    .filter(([p]) => p === "lock i_mmap_lock:data").map(([, m]) => m);
  assert.deepEqual(unmaps, ["file", "none"], points.join(", "));
  assert.equal(run.outcome().returns[1].value, "cpu0=faulted; cpu1=0");
  assert.equal(st.mms.A.ptes[0x203], undefined);
  assert.deepEqual(st.files.data.cache, {});
  assert.equal(run.violations.length, 0, JSON.stringify(run.violations));
});

Deno.test("vmtruncate() unmaps a second time: a private COW copy made under the page lock is zapped there", () => {
  // A private write fault copies page 3 under its lock and stops before the pte lock.
  // Truncation waits for the page lock; the fault maps its anonymous copy. The page-cache page
  // is not mapped, so truncate_inode_pages() unmaps nothing; the second
  // unmap_mapping_range() (mm/memory.c:1937, even_cows) zaps the copy, which the write has
  // gone through meanwhile.
  const { run, points, mapped } = raced(faultVsTruncate("cow", {
    kind: "regular",
    share: "private",
    access: "write",
  }));
  run.complete(parkCpu0((r) => pageLocks(r, "cpu0").length > 0));
  assert.ok(points.some((p) => p.startsWith("wait page_lock:")), points.join(", "));
  // The first walk finds no pte; the second finds the copy.
  const unmaps = points.map((p, i) => [p, mapped[i]])
    .filter(([p]) => p === "lock i_mmap_lock:data").map(([, m]) => m);
  assert.deepEqual(unmaps, ["none", "anon"], points.join(", "));
  assert.equal(run.kernel.state.mms.A.ptes[0x203], undefined);
  assert.equal(run.outcome().returns[1].value, "cpu0=faulted; cpu1=0");
  assert.equal(run.violations.length, 0, JSON.stringify(run.violations));
});
