/**
 * The F8 cover letter's quantitative claims, measured on the model. Two
 * scenario families are generated here and run on a 2.5.42 revision:
 *
 * - the database use case: a large shmem file (16 times the window, as the
 *   cover letter's 16 GB file and 1 GB window) viewed through a window that
 *   is remapped cache element by cache element, each element read once
 *   after it is mapped, either with `mmap(MAP_FIXED)` per element or with
 *   `remap_file_pages()`;
 * - the sparse-file case (the 64-bit page-table claim): a few pages of a
 *   large file, either read through one linear mapping of the whole file
 *   or remapped into a window of just those pages.
 *
 * The table counts what each way costs (kernel entries, page faults, vmas,
 * TLB flushes by kind, page-table pages), and each claim is checked against
 * it: reproduced, or the numbers where the model disagrees.
 *
 * @module
 */
import { PAGE_SIZE } from "../model/types.ts";
import { parseScenario, type Scenario } from "../run/scenario.ts";
import type { Revision } from "../run/revision.ts";
import { outcomeCounters } from "../run/outcome.ts";
import { Run } from "../run/runner.ts";
export { COST_COLUMNS, costCells, renderCostTable } from "./_cost_text.ts";

/** How the window is remapped. */
export type CostWay = "mmap-fixed" | "remap_file_pages";

/** One measured configuration. */
export interface CostRow {
  /** The use case: the database window, or a sparse file. */
  family: "database" | "sparse";
  /** Window size in pages (database), or pages read (sparse). */
  window: number;
  /** Cache element size in pages (database), or the stride between pages read (sparse). */
  element: number;
  /** How the window is (re)mapped. */
  way: CostWay;
  /** Elements remapped (database) or pages mapped (sparse). */
  remaps: number;
  /** System calls made. */
  syscalls: number;
  /** Page faults taken (`handle_mm_fault()` calls). */
  faults: number;
  /** Kernel entries: system calls plus page faults. */
  entries: number;
  /** Vmas at the end. */
  vmas: number;
  /** Single-page TLB invalidations (`flush_tlb_page`, INVLPG on x86). */
  tlbFlushPage: number;
  /** mmu_gather flushes (`tlb_finish_mmu`; `flush_tlb_mm`, a whole-TLB flush, on x86). */
  tlbFlushGather: number;
  /** Page-table pages at the end (x86-64 geometry: 512 entries per page). */
  pageTablePages: number;
  /** Whether the run reported a violation (it should not). */
  verdict: "pass" | "fail";
}

/** A cover-letter claim and what the model says about it. */
export interface CostClaim {
  /** The claim, quoted from the F8 cover letter (or the thread). */
  claim: string;
  /** "reproduced" when every measured row goes the claimed way, else "disagrees". */
  verdict: "reproduced" | "disagrees";
  /** The numbers behind the verdict. */
  evidence: string;
}

/** The cost table and the claims checked against it. */
export interface CostTable {
  /** The revision the families ran on. */
  revision: string;
  /** Every measured configuration. */
  rows: CostRow[];
  /** The claims, in the cover letter's order. */
  claims: CostClaim[];
}

/** Window and element sizes (pages) of the database family. */
export const DB_SIZES: readonly [number, number][] = [
  [64, 1],
  [64, 4],
  [64, 16],
  [256, 4],
  [256, 16],
];

/** Pages read, and the stride between them, in the sparse family. */
export const SPARSE_SIZES: readonly [number, number][] = [[8, 512], [16, 512]];

/** Where the window starts. */
const WINDOW = 0x40000000;

/** Ingo Molnar's line between a loop of INVLPG and a CR3 flush on x86 (pages). */
const INVLPG_LINE = 8;

/** A deterministic permutation of `0..n-1`: a Fisher-Yates shuffle driven by a 32-bit LCG. */
function permutation(n: number): number[] {
  const out = [...Array(n).keys()];
  let x = 7;
  for (let i = n - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = (x >>> 8) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** A shared `mmap` step of mm A: `pages` pages at `addr`, from file page `pgoff`. */
function mmapStep(addr: number, pages: number, prot: string, file: string, pgoff = 0): unknown {
  return {
    op: "mmap",
    mm: "A",
    addr: hex(addr),
    len: hex(pages * PAGE_SIZE),
    prot,
    share: "shared",
    file,
    pgoff,
  };
}

/**
 * The database scenario: a shmem file 16 times the window, the window
 * mapped once, then `2 * window / element` elements remapped in turn into
 * the window's slots (each element of the file at most once), each page of
 * an element read after it is mapped.
 *
 * @param way mmap(MAP_FIXED) per element, or remap_file_pages().
 * @param window Window size in pages.
 * @param element Element size in pages (divides the window).
 */
export function databaseScenario(way: CostWay, window: number, element: number): Scenario {
  const slots = window / element;
  const fileElements = 16 * slots;
  const remaps = 2 * slots;
  const order = permutation(fileElements).slice(0, remaps);
  const steps: unknown[] = [mmapStep(WINDOW, window, "rw", "db")];
  order.forEach((el, i) => {
    const addr = WINDOW + (i % slots) * element * PAGE_SIZE;
    const len = element * PAGE_SIZE;
    const pgoff = el * element;
    steps.push(
      way === "mmap-fixed"
        ? mmapStep(addr, element, "rw", "db", pgoff)
        : { op: "sys_remap_file_pages", mm: "A", start: hex(addr), size: hex(len), prot: 3, pgoff },
    );
    for (let p = 0; p < element; p++) {
      steps.push({ op: "read", mm: "A", addr: hex(addr + p * PAGE_SIZE) });
    }
  });
  const id = `cost-db-${way}-w${window}-e${element}`;
  return parseScenario(
    {
      purpose:
        `database window of ${window} pages remapped in elements of ${element} pages (${way})`,
      exercises: way === "mmap-fixed" ? ["do_mmap_pgoff"] : ["sys_remap_file_pages"],
      cite:
        "001_457e2f9cac6e9ce2.txt: F8 cover letter, 'map a big /dev/shm/ shared memory file (eg. 16 GB large) into a smaller window (eg. 1GB large) and heavily remap that window'",
      kernel: "2.5.42",
      files: [{ name: "db", pages: fileElements * element, kind: "shmem", cached: "all" }],
      steps,
    },
    `<generated ${id}>`,
    id,
  );
}

/**
 * The sparse-file scenario: `pages` pages of a file, `stride` pages apart,
 * read through one linear mapping of the whole file, or remapped one by one
 * into a window of `pages` pages.
 *
 * @param way One linear mmap of the file, or remap_file_pages() into a window.
 * @param pages Pages read.
 * @param stride Distance between them in the file, in pages.
 */
export function sparseScenario(way: CostWay, pages: number, stride: number): Scenario {
  const filePages = pages * stride;
  // One linear mapping of the whole file, or a window of just the pages read.
  const mapped = way === "mmap-fixed" ? filePages : pages;
  const steps: unknown[] = [mmapStep(WINDOW, mapped, "r", "big")];
  if (way === "mmap-fixed") {
    for (let i = 0; i < pages; i++) {
      steps.push({ op: "read", mm: "A", addr: hex(WINDOW + i * stride * PAGE_SIZE) });
    }
  } else {
    for (let i = 0; i < pages; i++) {
      const start = hex(WINDOW + i * PAGE_SIZE);
      steps.push({
        op: "sys_remap_file_pages",
        mm: "A",
        start,
        size: "0x1000",
        prot: 1,
        pgoff: i * stride,
      });
      steps.push({ op: "read", mm: "A", addr: start });
    }
  }
  const id = `cost-sparse-${way}-p${pages}-s${stride}`;
  return parseScenario(
    {
      purpose: `${pages} pages, ${stride} pages apart, of a large file (${way})`,
      exercises: way === "mmap-fixed" ? ["do_mmap_pgoff"] : ["sys_remap_file_pages"],
      cite:
        "001_457e2f9cac6e9ce2.txt: F8 cover letter, 'even on 64-bit systems, when mapping really large (terabyte size) and really sparse files, sparse mappings can be a disadvantage - in the worst-case there can be as much as 1 more pagetable page allocated for every file page that is mapped in'",
      kernel: "2.5.42",
      files: [{ name: "big", pages: filePages, kind: "regular", cached: "none" }],
      steps,
    },
    `<generated ${id}>`,
    id,
  );
}

function measure(
  family: CostRow["family"],
  s: Scenario,
  rev: Revision,
  way: CostWay,
  window: number,
  element: number,
  remaps: number,
): CostRow {
  // Only the counters and the verdict count: no outcome is built (its views and digest would
  // resolve every page of the big mappings once more).
  const run = new Run(s, rev, { trace: false });
  run.complete();
  const c = outcomeCounters(run.kernel.state, run.callouts);
  return {
    family,
    window,
    element,
    way,
    remaps,
    syscalls: c.syscalls,
    faults: c.faults,
    entries: c.syscalls + c.faults,
    vmas: c.vmas,
    tlbFlushPage: c.tlbFlushPage,
    tlbFlushGather: c.tlbFlushRange + c.tlbFlushMm,
    pageTablePages: c.pageTablePages,
    verdict: run.violations.length ? "fail" : "pass",
  };
}

/**
 * Runs both families on a 2.5.42 revision and checks the cover letter's
 * claims against the counts.
 *
 * @param rev A revision with `base` 2.5.42 (the F8 patch is the one the claims are about).
 * @returns The table and the claims.
 * @throws {RangeError} When the revision is not a 2.5.42 revision.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { costTable } from "./costs.ts";
 * const f8 = loadRevisionDir("patches").find((r) => r.id === "nl-2.5.42-f8")!;
 * for (const c of costTable(f8).claims) console.log(c.verdict, c.claim);
 * ```
 */
export function costTable(rev: Revision): CostTable {
  if (rev.base !== "2.5.42") {
    throw new RangeError(
      `Revision "${rev.id}" applies to ${rev.base}, the cost families to 2.5.42`,
    );
  }
  const rows: CostRow[] = [];
  for (const [w, e] of DB_SIZES) {
    for (const way of ["mmap-fixed", "remap_file_pages"] as const) {
      rows.push(measure("database", databaseScenario(way, w, e), rev, way, w, e, (2 * w) / e));
    }
  }
  for (const [p, stride] of SPARSE_SIZES) {
    for (const way of ["mmap-fixed", "remap_file_pages"] as const) {
      rows.push(measure("sparse", sparseScenario(way, p, stride), rev, way, p, stride, p));
    }
  }
  return { revision: rev.id, rows, claims: claims(rows) };
}

function pairs(rows: CostRow[], family: CostRow["family"]): [CostRow, CostRow][] {
  const out: [CostRow, CostRow][] = [];
  for (const a of rows.filter((r) => r.family === family && r.way === "mmap-fixed")) {
    const b = rows.find((r) =>
      r.family === family && r.way === "remap_file_pages" && r.window === a.window &&
      r.element === a.element
    )!;
    out.push([a, b]);
  }
  return out;
}

function claim(
  text: string,
  ps: [CostRow, CostRow][],
  holds: (a: CostRow, b: CostRow) => boolean,
  show: (a: CostRow, b: CostRow) => string,
): CostClaim {
  const bad = ps.filter(([a, b]) => !holds(a, b));
  const shown = (bad.length ? bad : ps).map(([a, b]) =>
    `${a.family} ${a.window}/${a.element}: ${show(a, b)}`
  );
  return {
    claim: text,
    verdict: bad.length ? "disagrees" : "reproduced",
    evidence: shown.join("; "),
  };
}

function claims(rows: CostRow[]): CostClaim[] {
  const db = pairs(rows, "database");
  const sparse = pairs(rows, "sparse");
  const per = (n: number, r: CostRow) => (n / r.remaps).toFixed(n % r.remaps ? 2 : 0);
  return [
    claim(
      "there's only one vma allocated for an eg. 1 GB window",
      db,
      (a, b) => b.vmas === 1 && a.vmas > b.vmas,
      (a, b) => `mmap ${a.vmas} vmas, remap_file_pages ${b.vmas}`,
    ),
    claim(
      "remapping a eg. 16K cache element causes a kernel entry, an unmapping, a TLB flush and a vma-install, plus 4 subsequent pagefaults. With remap_file_pages() it's a single kernel entry per cache element - no followup pagefaults",
      db,
      (a, b) =>
        b.faults === 0 && a.faults === a.remaps * a.element &&
        b.entries === b.remaps + 1 && a.entries > b.entries,
      (a, b) =>
        `kernel entries per element ${per(a.entries - 1, a)} vs ${per(b.entries - 1, b)}, ` +
        `faults ${a.faults} vs ${b.faults}`,
    ),
    claim(
      "the MAP_FIXED overmapping of larger than 4K cache units causes a TLB flush ... remap_file_pages() uses the one-page invalidation instruction, which does not destroy the TLB",
      db,
      (a, b) => a.tlbFlushGather >= a.remaps && b.tlbFlushGather === 0 && b.tlbFlushPage > 0,
      (a, b) =>
        `whole-TLB flushes ${a.tlbFlushGather} vs ${b.tlbFlushGather}, ` +
        `single-page invalidations ${a.tlbFlushPage} vs ${b.tlbFlushPage}`,
    ),
    claim(
      `David S. Miller: 'If someone does a remap of 1GB of address space, I sure want the option of doing a full MM flush'; Ingo Molnar puts the INVLPG/CR3 line at 'roughly 8 pages': remap_file_pages() stays under it per element`,
      db,
      (_a, b) => b.tlbFlushPage / b.remaps <= INVLPG_LINE,
      (_a, b) =>
        `remap_file_pages issues ${per(b.tlbFlushPage, b)} single-page invalidations per element`,
    ),
    claim(
      "in the worst-case there can be as much as 1 more pagetable page allocated for every file page that is mapped in",
      sparse,
      (a, b) => a.pageTablePages > b.pageTablePages && a.pageTablePages >= a.remaps,
      (a, b) =>
        `${a.remaps} pages: page-table pages ${a.pageTablePages} (linear mmap) vs ${b.pageTablePages} (remap_file_pages)`,
    ),
  ];
}
