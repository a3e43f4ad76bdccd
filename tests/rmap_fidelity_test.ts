/**
 * The reverse-map walks of reclaim and writeback against the kernel's
 * source: `try_to_unmap_cluster()` reads a cluster's ptes under one pte
 * lock (v2.6.24 mm/rmap.c:801-807). Each race test drives one schedule: a
 * thread runs to a named scheduling point, another runs to its end, then
 * the first goes on; the test asserts on the state the kernel leaves.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Decider, loadRevisionDir, parseScenario, Run } from "../mod.ts";

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
        {
          op: "mmap",
          mm: "A",
          addr: "0x200000",
          len: "0x4000",
          prot: "rw",
          share: "shared",
          file: "data",
        },
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
  await t.step("MADV_DONTNEED zaps the pte first: the cluster finds none", () => {
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
    assert.equal(state.mms.A.ptes[0x200], undefined);
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
