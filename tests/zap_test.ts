/**
 * A zap takes the pte lock of each page table once and reads the ptes under
 * it, as v2.6.24's `zap_pte_range()` does (mm/memory.c:629-698), and reclaim
 * asks the notifiers nothing about a pte an unmap cleared, as
 * `page_check_address()` makes `page_referenced_one()` return early
 * (mm/rmap.c:283-285). Each test drives one schedule: a thread runs to a
 * named scheduling point, another runs to its end, then the first goes on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Decider, loadRevisionDir, loadScenarioDir, parseScenario, Run } from "../mod.ts";

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

/** Anonymous memory at 0x100000 (4 pages) with its first page touched; then `race`. */
function dontneedRace(threads: Record<string, unknown[]>) {
  return parseScenario(
    {
      purpose: "madvise(MADV_DONTNEED) racing a fault in the same page table",
      exercises: ["zap_page_range", "unmap_vmas"],
      cite: "v2.6.24 mm/memory.c zap_pte_range(), lines 629-698",
      steps: [
        { op: "mmap", mm: "A", addr: "0x100000", len: "0x4000", prot: "rw", share: "private" },
        { op: "touch", mm: "A", addr: "0x100000", access: "write" },
        { op: "race", threads },
      ],
    },
    "zap_test",
    "dontneed-race",
  );
}

Deno.test("a zap reads the ptes under the table's pte lock: a fault that maps a pte before the zap takes the lock is zapped", async (t) => {
  const s = dontneedRace({
    cpu0: [{ op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0x4000" }],
    cpu1: [{ op: "touch", mm: "A", addr: "0x102000", access: "write" }],
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
    assert.deepEqual(o.kinds, [], id);
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
  const s = parseScenario(
    {
      purpose: "madvise(MADV_DONTNEED) of ten touched pages",
      exercises: ["zap_page_range", "unmap_vmas"],
      cite: "v2.6.24 mm/memory.c unmap_vmas(), lines 808-870",
      steps: [
        { op: "mmap", mm: "A", addr: "0x100000", len: "0xa000", prot: "rw", share: "private" },
        ...Array.from({ length: 10 }, (_, i) => touch(i)),
        { op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0xa000" },
      ],
    },
    "zap_test",
    "dontneed-ten",
  );
  const run = new Run(s, revisions.find((r) => r.id === "mainline-2.6.27")!, { trace: false });
  run.complete();
  assert.equal(run.kernel.state.counters.tlbFlushRange, 2);
  assert.equal(Object.keys(run.kernel.state.mms.A.ptes).length, 0);
});
