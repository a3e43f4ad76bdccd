/**
 * Truncation on the 2.6 tree unmaps a file's nonlinear vmas too, as
 * v2.6.24's `unmap_mapping_range_list()` does (mm/memory.c:1824-1844): the
 * whole vma, each page checked against the truncation point, and a cleared
 * pte whose page was not at its linear index left as a file pte of that
 * index (lines 657-670).
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadRevisionDir, parseScenario, Run } from "../mod.ts";
import { lcg } from "./_fixtures.ts";

const revision = loadRevisionDir("patches").find((r) => r.id === "mainline-2.6.27")!;

/**
 * A shared mapping of file pages 0-3 at 0x200000 whose first two pages
 * `remap_file_pages` turns into file pages 4 and 5, every page touched, the
 * file truncated to 3 pages, then `after` steps.
 */
function nonlinearTruncate(after: Record<string, unknown>[]) {
  const touch = (addr: string) => ({ op: "touch", mm: "A", addr, access: "write" });
  return parseScenario(
    {
      purpose: "truncating a file that a vma maps nonlinearly",
      exercises: [],
      cite: "v2.6.24 mm/memory.c unmap_mapping_range_list()",
      files: [{ name: "data", pages: 8, kind: "shmem" }],
      steps: [
        {
          op: "mmap",
          mm: "A",
          addr: "0x200000",
          len: "0x4000",
          prot: "rw",
          share: "shared",
          file: "data",
        },
        { op: "remap_file_pages", mm: "A", addr: "0x200000", len: "0x2000", pgoff: 4 },
        touch("0x200000"),
        touch("0x201000"),
        touch("0x202000"),
        touch("0x203000"),
        { op: "truncate", file: "data", pages: 3 },
        ...after,
      ],
    },
    "truncate_test",
    "nonlinear-truncate",
  );
}

Deno.test("truncate unmaps the pages of a nonlinear vma past the truncation point, and no other", () => {
  const run = new Run(nonlinearTruncate([]), revision, { trace: false });
  run.complete();
  const mm = run.kernel.state.mms.A;
  const at = (addr: number) => mm.ptes[addr / 0x1000];
  // File pages 4 and 5, mapped where the linear pages 0 and 1 would be: cleared, left as file ptes.
  assert.deepEqual(at(0x200000), { t: "file", pgoff: 4 });
  assert.deepEqual(at(0x201000), { t: "file", pgoff: 5 });
  // File page 2, before the truncation point: still mapped.
  const kept = at(0x202000);
  assert.equal(kept?.t, "present");
  const page = kept?.t === "present" ? run.kernel.state.pages[kept.pfn] : undefined;
  assert.deepEqual(page?.owner, { kind: "file", file: "data", index: 2 });
  // File page 3, at its linear index: cleared, nothing left.
  assert.equal(at(0x203000), undefined);
  // Every page of the file past the truncation point is freed, no reference left.
  const past = Object.values(run.kernel.state.pages).flatMap((p) =>
    p.owner.kind === "file" && p.owner.index >= 3 ? [[p.owner.index, p.freed, p.refs] as const] : []
  ).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(past, [[3, true, {}], [4, true, {}], [5, true, {}]]);
  assert.deepEqual(run.outcome().violations, []);
});

Deno.test("a nonlinear page truncated away faults with SIGBUS, through its file pte", () => {
  const outcome = new Run(
    nonlinearTruncate([{ op: "touch", mm: "A", addr: "0x200000", access: "read" }]),
    revision,
    { trace: false },
  ).finish();
  assert.equal(outcome.returns.at(-1)?.value, "VM_FAULT_SIGBUS");
});

/**
 * A private mapping of file pages 0-15 at 0x200000, ten pages written (COW
 * copies, so `fork` copies their ptes), then a truncation of the whole file
 * with i_mmap_lock contended (it stops after ZAP_BLOCK_SIZE, 8 pages, and
 * drops the lock) racing a fork of the mm.
 */
function truncateRacingFork() {
  const touch = (i: number) => ({
    op: "touch",
    mm: "A",
    addr: `0x${(0x200000 + i * 0x1000).toString(16)}`,
    access: "write",
  });
  return parseScenario(
    {
      purpose: "a fork racing a contended truncation of a file it maps",
      exercises: [],
      cite: "v2.6.24 mm/memory.c unmap_mapping_range_vma(), kernel/fork.c dup_mmap()",
      files: [{ name: "data", pages: 16, kind: "shmem" }],
      steps: [
        {
          op: "mmap",
          mm: "A",
          addr: "0x200000",
          len: "0x10000",
          prot: "rw",
          share: "private",
          file: "data",
        },
        ...Array.from({ length: 10 }, (_, i) => touch(i)),
        {
          op: "race",
          threads: {
            t: [{ op: "truncate", file: "data", pages: 0, contended: true }],
            p: [{ op: "fork", mm: "A", child: "B" }],
          },
        },
      ],
    },
    "truncate_test",
    "truncate-racing-fork",
  );
}

/** The present ptes of every mm of `run`, as `<mm>:<address>`. */
function presentPtes(run: Run): string[] {
  return Object.values(run.kernel.state.mms).flatMap((mm) =>
    Object.entries(mm.ptes).filter(([, p]) => p.t === "present").map(([v]) =>
      `${mm.id}:0x${(Number(v) * 0x1000).toString(16)}`
    )
  );
}

Deno.test("a fork during a truncation's lock break leaves no pte past the end of the file", async (t) => {
  // v2.6.24 mm/memory.c:1744-1822: after a lock break the walk starts again from the first vma,
  // skipping those whose vm_truncate_count says they are done, and starting the others at the
  // restart address noted there; dup_mmap() links the child's vma with its parent's count under
  // i_mmap_lock (kernel/fork.c:274-279). So the child's vma, linked during the break, is visited
  // from the parent's restart address: the ptes it copied past it are unmapped too.
  const s = truncateRacingFork();
  await t.step("the fork runs whole while the truncation has dropped i_mmap_lock", () => {
    let broke = false;
    let linked: number | undefined;
    const run = new Run(s, revision, {
      preemptive: true,
      trace: false,
      onPoint: (_step, thread, p) => {
        if (thread === "t" && p.label === "unmap_mapping_range:lock_break") broke = true;
        // The fork's points while the truncation waits: what its child's vma holds so far.
        if (broke && thread === "p") linked = run.kernel.state.mms.B?.vmas[0]?.truncateCount;
      },
    });
    run.complete((enabled) => {
      const fork = enabled.find((x) => x.name === "p");
      return broke && fork ? fork : enabled.find((x) => x.name === "t") ?? enabled[0];
    });
    assert.deepEqual(presentPtes(run), []);
    // The child's vma was linked with the parent's restart address: 8 pages in.
    assert.equal(linked, 0x208000);
    const count = run.kernel.state.files.data.truncateCount;
    assert.deepEqual(run.kernel.state.mms.B.vmas.map((v) => v.truncateCount), [count]);
  });
  await t.step("400 random schedules", () => {
    const next = lcg(7);
    for (let n = 0; n < 400; n++) {
      const run = new Run(s, revision, { preemptive: true, trace: false });
      run.complete((enabled) => enabled[next() % enabled.length]);
      assert.deepEqual(presentPtes(run), [], `schedule ${n}`);
    }
  });
});
