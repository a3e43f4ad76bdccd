/**
 * Page allocation in a race, and the anonymous read fault.
 *
 * The threads of a race step allocate pages from rows of their own (after
 * v2.6.24's `buffered_rmqueue()`, mm/page_alloc.c:1060-1087, which takes an
 * order-0 page from the running CPU's list): the pfn a CPU gets does not
 * depend on when the others allocated, so two schedules that differ only
 * in the order of two CPUs' allocations end in one state.
 *
 * A read fault on anonymous memory allocates a private page, writable and
 * dirty, in 2.6.24 to 2.6.27 (v2.6.24 mm/memory.c:2160-2170, after "remove
 * ZERO_PAGE", commit 557ed1fa26), and maps the zero page read-only on the
 * revisions that select 4.9's `do_anonymous_page()` (v4.9
 * mm/memory.c:2772-2776).
 *
 * @module
 */
import assert from "node:assert/strict";
import { explore, loadRevisionDir, parseScenario, Run } from "../mod.ts";

const revisions = loadRevisionDir("patches");
const rev = (id: string) => revisions.find((r) => r.id === id)!;

/** The race's operations: cpu0 and cpu1 write a page each, cpu2 reads a third. */
const RACE = [
  ["cpu0", [{ op: "touch", mm: "A", addr: "0x100000", access: "write" }]],
  ["cpu1", [{ op: "touch", mm: "A", addr: "0x101000", access: "write" }]],
  ["cpu2", [{ op: "touch", mm: "A", addr: "0x102000", access: "read" }]],
] as const;

/**
 * The first `cpus` threads of {@link RACE} on one private writable mapping;
 * after the race a fourth page is written.
 */
function faults(cpus = 3) {
  return parseScenario(
    {
      purpose: "CPUs fault pages of one mm in; then one more fault",
      exercises: [],
      cite: "v2.6.24 mm/page_alloc.c buffered_rmqueue(), mm/memory.c do_anonymous_page()",
      steps: [
        { op: "mmap", mm: "A", addr: "0x100000", len: "0x4000", prot: "rw", share: "private" },
        { op: "race", threads: Object.fromEntries(RACE.slice(0, cpus)) },
        { op: "touch", mm: "A", addr: "0x103000", access: "write" },
      ],
    },
    "page_alloc_test",
    "percpu-faults",
  );
}

/**
 * Runs `faults()` on revision `rid` picking, at each choice point, the first
 * of `order` that can run; returns the run and the pte of each page.
 */
function runIn(rid: string, order: string[]) {
  const run = new Run(faults(), rev(rid), { preemptive: true, trace: false });
  for (let names = run.next(); names; names = run.next()) {
    run.pick(order.find((t) => names.includes(t)) ?? names[0]);
  }
  const ptes = run.kernel.state.mms.A.ptes;
  const present = [0x100000, 0x101000, 0x102000, 0x103000].map((addr) => {
    const pte = ptes[addr >> 12];
    assert.equal(pte?.t, "present", `a pte at 0x${addr.toString(16)}`);
    return pte as Extract<typeof pte, { t: "present" }>;
  });
  return { run, ptes: present, pfns: present.map((p) => p.pfn) };
}

Deno.test("a race step's CPUs take pages from their own rows, whatever the order they fault in", () => {
  for (const rid of ["mainline-2.6.27", "hmm-sequence-retry"]) {
    const a = runIn(rid, ["cpu0", "cpu1", "cpu2"]);
    const b = runIn(rid, ["cpu2", "cpu1", "cpu0"]);
    // Each CPU's page is the same in both orders (with one counter for every CPU, cpu0's page
    // and cpu1's traded pfns when cpu1 faulted first), and no two pages share a pfn.
    assert.deepEqual(b.pfns, a.pfns, rid);
    assert.equal(new Set(a.pfns).size, 4, `${rid}: ${a.pfns}`);
    // The step's rows are closed: the page written after the race is past all of them.
    assert.ok(a.pfns.slice(0, 3).every((p) => p < a.pfns[3]), `${rid}: ${a.pfns}`);
    assert.equal(a.run.kernel.state.percpu, undefined);
    assert.ok(a.run.kernel.state.nextPfn > Math.max(...a.pfns));
    assert.deepEqual(a.run.outcome().violations, []);
  }
});

Deno.test("a read fault on anonymous memory maps a new private page on 2.6, the zero page on 4.9's", () => {
  const read = (rid: string) => {
    const { run, ptes } = runIn(rid, ["cpu2", "cpu0", "cpu1"]);
    return { pte: ptes[2], page: run.kernel.state.pages[ptes[2].pfn] };
  };
  // v2.6.24 mm/memory.c:2165-2170: alloc_zeroed_user_highpage_movable(), then
  // maybe_mkwrite(pte_mkdirty(entry), vma): writable (the vma is) and dirty.
  const v26 = read("mainline-2.6.27");
  assert.equal(v26.page.owner.kind, "anon");
  assert.equal(v26.pte.write, true);
  assert.equal(v26.pte.dirty, true);
  // v4.9 mm/memory.c:2772-2776: "Use the zero-page for reads", read-only.
  const v49 = read("hmm-sequence-retry");
  assert.equal(v49.page.owner.kind, "zero");
  assert.equal(v49.pte.write, false);
  assert.equal(rev("hmm-sequence-retry").kernel.anonymous_read, "zero-page");
  assert.equal(rev("mainline-2.6.27").kernel.anonymous_read, "new-page");
});

Deno.test("explore() ends two CPUs' faults in one state: the order of their allocations is not part of it", () => {
  const r = rev("mainline-2.6.27");
  const x = explore(faults(2), r, { finals: true, reuse: false });
  assert.equal(x.status, "complete");
  // One ending, and one final state: with one pfn counter for every CPU, the schedules in which
  // cpu1 allocates before cpu0 swapped their pfns and ended in other states.
  assert.deepEqual(x.endings, [[]]);
  assert.equal(x.finals!.length, 1);
  const off = explore(faults(2), r, { finals: true, reuse: false, reduction: false });
  assert.deepEqual(off.finals, x.finals);
});
