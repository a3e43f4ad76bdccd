/**
 * `free_pgtables()` as v2.6.24 runs it from munmap's `unmap_region()` and
 * from `exit_mmap()` (mm/memory.c:264-296): each vma of the range leaves the
 * reverse map and truncation's view first, a file vma under its mapping's
 * `i_mmap_lock` (`unlink_file_vma()`, mm/mmap.c:207-217), then the
 * page-table pages no vma left needs are freed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Decider, loadRevisionDir, parseScenario, Run } from "../mod.ts";
import { mmapStep, touchStep } from "./_fixtures.ts";

const mainline = loadRevisionDir("patches").find((r) => r.id === "mainline-2.6.27")!;

/** The page-table pages of mm A, as `<level>:<index>`, sorted. */
function tables(run: Run): string[] {
  const t = run.kernel.state.mms.A.tables;
  return (["pud", "pmd", "pte"] as const).flatMap((level) =>
    Object.keys(t[level]).map((i) => `${level}:${i}`)
  ).sort();
}

Deno.test("munmap frees the page tables that no vma left needs, as free_pgtables() does", async (t) => {
  // Two anonymous vmas in the first pte table (0x100000 and 0x102000) and one in the next
  // (0x200000, pte table 1), each touched, then munmaps one by one. No exit: the tables left
  // are munmap's doing.
  const mmap = (addr: string) => ({
    op: "mmap",
    mm: "A",
    addr,
    len: "0x1000",
    prot: "rw",
    share: "private",
  });
  const touch = (addr: string) => ({ op: "touch", mm: "A", addr, access: "write" });
  const munmap = (addr: string) => ({ op: "munmap", mm: "A", addr, len: "0x1000" });
  const upTo = (extra: Record<string, unknown>[]) => {
    const s = parseScenario(
      {
        purpose: "munmap frees the page tables of its range that no other vma needs",
        exercises: ["unmap_vmas"],
        cite: "v2.6.24 mm/mmap.c unmap_region(), lines 1747-1748; mm/memory.c free_pgtables()",
        steps: [
          mmap("0x100000"),
          mmap("0x102000"),
          mmap("0x200000"),
          touch("0x100000"),
          touch("0x102000"),
          touch("0x200000"),
          ...extra,
        ],
      },
      "free_pgtables_test",
      "munmap-tables",
    );
    const run = new Run(s, mainline, { trace: false });
    run.complete();
    return run;
  };
  await t.step("before any munmap: a pud, a pmd and two pte tables", () => {
    assert.deepEqual(tables(upTo([])), ["pmd:0", "pte:0", "pte:1", "pud:0"]);
  });
  await t.step("the vma at 0x100000 goes: its pte table stays, 0x102000 needs it", () => {
    const run = upTo([munmap("0x100000")]);
    assert.deepEqual(tables(run), ["pmd:0", "pte:0", "pte:1", "pud:0"]);
    assert.equal(run.kernel.state.counters.tablesFreed, 0);
  });
  await t.step("then 0x102000: the first pte table is freed, the rest stay", () => {
    const run = upTo([munmap("0x100000"), munmap("0x102000")]);
    assert.deepEqual(tables(run), ["pmd:0", "pte:1", "pud:0"]);
    assert.equal(run.kernel.state.counters.tablesFreed, 1);
  });
  await t.step("then 0x200000, the last vma: every table is freed", () => {
    const run = upTo([munmap("0x100000"), munmap("0x102000"), munmap("0x200000")]);
    assert.deepEqual(tables(run), []);
    assert.equal(run.kernel.state.counters.tablesFreed, 4);
    assert.deepEqual(run.kernel.state.mms.A.vmas, []);
  });
});

Deno.test("munmap waits for a truncation that holds i_mmap_lock before it unlinks a file vma", () => {
  // A shared file mapping, touched; truncation to 0 pages races its munmap. Truncation is held
  // at the pte lock of its zap, i_mmap_lock in hand, while the munmap runs as far as it can:
  // the munmap zaps the pte itself, then waits for i_mmap_lock in free_pgtables() with its vma
  // still where truncation finds it. Once truncation is done, the vma leaves and the tables
  // are freed.
  const s = parseScenario(
    {
      purpose: "munmap of a file vma racing a truncation of its file",
      exercises: ["unmap_vmas", "zap_page_range"],
      cite: "v2.6.24 mm/memory.c free_pgtables(), lines 272-275; mm/mmap.c unlink_file_vma()",
      files: [{ name: "data", pages: 2, kind: "shmem" }],
      steps: [
        mmapStep("0x200000", "0x2000", { file: "data" }),
        touchStep("0x200000", "write"),
        {
          op: "race",
          threads: {
            cpu0: [{ op: "truncate", file: "data", pages: 0 }],
            cpu1: [{ op: "munmap", mm: "A", addr: "0x200000", len: "0x2000" }],
          },
        },
      ],
    },
    "free_pgtables_test",
    "truncate-munmap",
  );
  const points: string[] = [];
  let vmasWhileWaiting = -1;
  const run: Run = new Run(s, mainline, {
    preemptive: true,
    trace: false,
    onPoint: (step, thread, p) => {
      if (step !== 2 || thread !== "cpu1") return;
      points.push(p.label);
      if (p.label === "wait i_mmap_lock:data") {
        vmasWhileWaiting = run.kernel.state.mms.A.vmas.length;
      }
    },
  });
  // Truncation runs until its zap reaches the pte lock, then the munmap runs while it can.
  let parked = false;
  const decide: Decider = (enabled) => {
    const trunc = enabled.find((t) => t.name === "cpu0");
    if (trunc && !parked) {
      if (trunc.last?.label === "lock ptl:A:1") parked = true;
      else return trunc;
    }
    return enabled.find((t) => t.name === "cpu1") ?? enabled[0];
  };
  run.complete(decide);
  assert.ok(parked, "truncation reached the pte lock of its zap");
  assert.ok(points.includes("lock i_mmap_lock:data"), points.join(", "));
  assert.ok(points.includes("wait i_mmap_lock:data"), points.join(", "));
  assert.equal(vmasWhileWaiting, 1);
  assert.deepEqual(run.kernel.state.mms.A.vmas, []);
  assert.deepEqual(tables(run), []);
  assert.deepEqual(run.outcome().kinds, []);
});
