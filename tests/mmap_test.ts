/**
 * `mmap` with MAP_LOCKED on the 2.6 tree populates the new vma as v2.6.24's
 * `mmap_region()` does (mm/mmap.c:1197-1200): `make_pages_present()`, under
 * the mmap_sem `sys_mmap2()` holds for write, faulting each page in for
 * write where the mapping is writable (mm/memory.c:2604-2621), and nothing
 * on a mapping that is neither readable nor writable (`get_user_pages()`
 * refuses it, lines 987-988 and 1035-1037).
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadRevisionDir, parseScenario, Run } from "../mod.ts";

const revision = loadRevisionDir("patches").find((r) => r.id === "mainline-2.6.27")!;

/** A locked private mapping of four pages of file "data", with `prot`, then `after`. */
function lockedMapping(prot: string, after: Record<string, unknown>[] = []) {
  return parseScenario(
    {
      purpose: "a MAP_LOCKED private file mapping",
      exercises: [],
      cite: "v2.6.24 mm/mmap.c mmap_region()",
      files: [{ name: "data", pages: 4, kind: "regular" }],
      steps: [
        {
          op: "mmap",
          mm: "A",
          addr: "0x200000",
          len: "0x4000",
          prot,
          share: "private",
          file: "data",
          locked: true,
        },
        ...after,
      ],
    },
    "mmap_test",
    `locked-${prot}`,
  );
}

/** The present ptes of mm A, each as `<address> <owner kind> <w or r>`. */
function ptes(run: Run): string[] {
  return Object.entries(run.kernel.state.mms.A.ptes).flatMap(([v, p]) =>
    p.t === "present"
      ? [
        `0x${(Number(v) * 0x1000).toString(16)} ${run.kernel.state.pages[p.pfn].owner.kind} ${
          p.write ? "w" : "r"
        }`,
      ]
      : []
  );
}

Deno.test("MAP_LOCKED faults every page of a writable private mapping in for write", () => {
  const run = new Run(lockedMapping("rw"), revision, { trace: false });
  run.complete();
  // Write faults break COW at once: each page is an anonymous copy, mapped writable.
  assert.deepEqual(ptes(run), [
    "0x200000 anon w",
    "0x201000 anon w",
    "0x202000 anon w",
    "0x203000 anon w",
  ]);
  assert.equal(run.kernel.state.counters.faults, 4);
});

Deno.test("MAP_LOCKED faults the pages of a read-only mapping in for read, and none of PROT_NONE", () => {
  const ro = new Run(lockedMapping("r"), revision, { trace: false });
  ro.complete();
  assert.deepEqual(ptes(ro), [
    "0x200000 file r",
    "0x201000 file r",
    "0x202000 file r",
    "0x203000 file r",
  ]);
  const none = new Run(lockedMapping("none"), revision, { trace: false });
  none.complete();
  assert.deepEqual(ptes(none), []);
  assert.equal(none.kernel.state.counters.faults, 0);
});

Deno.test("an mprotect racing a MAP_LOCKED mmap finds the range unmapped or its pages in", () => {
  // The mprotect takes mmap_sem for write: it runs before the mmap (and finds nothing to change)
  // or after it, when make_pages_present() has faulted the pages in for write.
  const s = parseScenario(
    {
      purpose: "mprotect racing a MAP_LOCKED mmap",
      exercises: [],
      cite: "v2.6.24 arch/x86/kernel/sys_i386_32.c:57-59, mm/mmap.c:1197-1200",
      // A private file mapping: a write fault maps an anonymous copy, a read fault the file page.
      files: [{ name: "data", pages: 2, kind: "regular" }],
      steps: [
        {
          op: "race",
          threads: {
            t0: [{
              op: "mmap",
              mm: "A",
              addr: "0x200000",
              len: "0x2000",
              prot: "rw",
              share: "private",
              file: "data",
              locked: true,
            }],
            t1: [{
              op: "mprotect",
              mm: "A",
              addr: "0x200000",
              len: "0x2000",
              prot: "none",
              outside: true,
            }],
          },
        },
      ],
    },
    "mmap_test",
    "locked-race",
  );
  const endings = new Set<string>();
  // Every schedule: the race has few choice points, each tried in turn.
  const visit = (prefix: string[]) => {
    const run = new Run(s, revision, { preemptive: true, trace: false });
    let i = 0;
    for (let names = run.next(); names; names = run.next()) {
      if (i === prefix.length) {
        for (const name of names) visit([...prefix, name]);
        return;
      }
      run.pick(prefix[i++]);
    }
    endings.add(ptes(run).join("; "));
  };
  visit([]);
  // The mprotect first (its range not mapped yet): the pages in, writable. After: in, read-only.
  assert.deepEqual([...endings].sort(), [
    "0x200000 anon r; 0x201000 anon r",
    "0x200000 anon w; 0x201000 anon w",
  ]);
});
