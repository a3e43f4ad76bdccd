/**
 * The threads of a race step allocate pages from per-CPU lists, as
 * v2.6.24's `buffered_rmqueue()` (mm/page_alloc.c:1060-1087) takes an
 * order-0 page from the list of the CPU it runs on: the pfn a CPU gets does
 * not depend on when the others allocated, so two schedules that differ
 * only in the order of two CPUs' allocations end in one state.
 *
 * @module
 */
import assert from "node:assert/strict";
import { explore, loadRevisionDir, parseScenario, Run } from "../mod.ts";

const revision = loadRevisionDir("patches").find((r) => r.id === "mainline-2.6.27")!;

/**
 * cpu0 and cpu1 write-fault a page each of one private mapping, cpu2 reads
 * a third (the zero page, which is not from a CPU's list), the first `cpus`
 * of them; after the race a fourth page is faulted in.
 */
function faults(cpus = 3) {
  return parseScenario(
    {
      purpose: "three CPUs fault pages of one mm in; then one more fault",
      exercises: [],
      cite: "v2.6.24 mm/page_alloc.c buffered_rmqueue()",
      steps: [
        { op: "mmap", mm: "A", addr: "0x100000", len: "0x4000", prot: "rw", share: "private" },
        {
          op: "race",
          threads: Object.fromEntries(
            [
              ["cpu0", [{ op: "touch", mm: "A", addr: "0x100000", access: "write" }]],
              ["cpu1", [{ op: "touch", mm: "A", addr: "0x101000", access: "write" }]],
              ["cpu2", [{ op: "touch", mm: "A", addr: "0x102000", access: "read" }]],
            ].slice(0, cpus),
          ),
        },
        { op: "touch", mm: "A", addr: "0x103000", access: "write" },
      ],
    },
    "page_alloc_test",
    "percpu-faults",
  );
}

/** Runs `faults()` picking, at each choice point, the first of `order` that can run. */
function runIn(order: string[]) {
  const run = new Run(faults(), revision, { preemptive: true, trace: false });
  for (let names = run.next(); names; names = run.next()) {
    run.pick(order.find((t) => names.includes(t)) ?? names[0]);
  }
  const ptes = run.kernel.state.mms.A.ptes;
  const pfnAt = (addr: number) => {
    const pte = ptes[addr >> 12];
    return pte?.t === "present" ? pte.pfn : undefined;
  };
  return { run, pfns: [0x100000, 0x101000, 0x102000, 0x103000].map(pfnAt) };
}

Deno.test("a race step's CPUs take pages from their own lists, whatever the order they fault in", () => {
  const a = runIn(["cpu0", "cpu1", "cpu2"]);
  const b = runIn(["cpu2", "cpu1", "cpu0"]);
  // The step starts at pfn 1 with three CPUs and the shared row: a stride of 4. cpu0's page is
  // 1 + 0, cpu1's 1 + 1; the zero page comes from the shared row, 1 + 3. The next step's fault
  // takes the pfn past every row: 1 + 1 * 4.
  assert.deepEqual(a.pfns, [1, 2, 4, 5]);
  assert.deepEqual(b.pfns, a.pfns);
  assert.equal(a.run.kernel.state.nextPfn, 6);
  assert.equal(a.run.kernel.state.percpu, undefined);
  assert.deepEqual(a.run.outcome().violations, []);
});

Deno.test("explore() ends two CPUs' faults in one state: the order of their allocations is not part of it", () => {
  const x = explore(faults(2), revision, { finals: true, reuse: false });
  assert.equal(x.status, "complete");
  // One ending, and one final state: with one pfn counter for every CPU, the schedules in which
  // cpu1 allocates before cpu0 swapped their pfns and ended in other states.
  assert.deepEqual(x.endings, [[]]);
  assert.equal(x.finals!.length, 1);
  const off = explore(faults(2), revision, { finals: true, reuse: false, reduction: false });
  assert.deepEqual(off.finals, x.finals);
});
