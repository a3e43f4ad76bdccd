/**
 * The 2.5.42 nonlinear-mapping paths of Ingo Molnar's patch (seed
 * `001_457e2f9cac6e9ce2.txt`): `sys_remap_file_pages()` with its argument
 * handling, the `->populate` operations of the generic page cache
 * (`filemap_populate`, `filemap_getpage`) and of shmem (`shmem_populate`,
 * `shmem_getpage` with `nonblock`), `install_page` and `zap_pte`,
 * `do_mmap_pgoff` with MAP_POPULATE, MAP_NONBLOCK and MAP_LOCKED, page
 * eviction through the pte-chain rmap (`try_to_unmap`), and the i386 fault
 * path that refills a pte (`filemap_nopage`, `shmem_nopage`) with the
 * signal a user sees.
 *
 * Syscall arguments are i386 `unsigned long`s: every sum and alignment is
 * computed modulo 2^32, as the patch's code computes it. What differs between
 * F8, F9, G1 and the patches posted on G1 comes from the revision's
 * {@link NonlinearConfig}; the code here is the same for all of them.
 *
 * @module
 */
import type { FileObj, Mm, MmState, Vma } from "../../model/types.ts";
import { PAGE_SIZE } from "../../model/types.ts";
import {
  allocPage,
  getPage,
  putPage,
  sortVmas,
  updatePage,
  updatePte,
  vpn,
} from "../../model/state.ts";
import { Kernel, KernelBug, lock } from "../context.ts";
import { call, defPath, go, type PathRef, ret, runToEnd } from "../steps.ts";
import { allocTables, mapPage, mmapSemName, pageTableLockName, zapPte } from "../pgtable.ts";
import { doMunmap } from "../mmap.ts";
import type { NonlinearConfig, ReadResult } from "./types.ts";
import { addTo } from "../../model/_count.ts";

/** i386 `MAP_LOCKED` (include/asm-i386/mman.h). */
export const MAP_LOCKED = 0x2000;
/** i386 `MAP_POPULATE`, added by F8 (include/asm-i386/mman.h hunk). */
export const MAP_POPULATE = 0x8000;
/** i386 `MAP_NONBLOCK`, added by F8 (include/asm-i386/mman.h hunk). */
export const MAP_NONBLOCK = 0x10000;
/** `PROT_WRITE`. */
export const PROT_WRITE = 2;

/** The 2.5.42 functions this module models, as a scenario's `exercises` may name them. */
export const NONLINEAR_PATHS: readonly string[] = [
  "sys_remap_file_pages",
  "filemap_populate",
  "filemap_getpage",
  "page_cache_read",
  "shmem_populate",
  "shmem_getpage",
  "install_page",
  "zap_pte",
  "do_mmap_pgoff",
  "make_pages_present",
  "try_to_unmap",
  "handle_mm_fault",
  "filemap_nopage",
  "shmem_nopage",
  "do_page_fault",
];

/** i386's `PTE_FILE_MAX_BITS` without PAE (v2.6.24 include/asm-x86/pgtable-2level.h:71). */
export const PTE_FILE_MAX_BITS = 29;

/** Loop iterations a populate may take before the harness stops it (no input of the model needs more). */
export const POPULATE_BOUND = 1 << 16;

/** An `unsigned long` on i386. */
function u32(x: number): number {
  return x >>> 0;
}

/** `PAGE_ALIGN(x)`: rounds up to a page, modulo 2^32. */
export function pageAlign(x: number): number {
  return (u32(x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) >>> 0;
}

/** `x & PAGE_MASK`: rounds down to a page. */
export function pageMask(x: number): number {
  return (x & ~(PAGE_SIZE - 1)) >>> 0;
}

/**
 * The expressions a revision may use to compute "the file offset the vma
 * maps at `start`", exactly as written in the patch, with the value i386
 * computes for each (C precedence: `+` binds tighter than `>>`; a shift
 * count is taken modulo 32 by the `shr` instruction, as by JavaScript's `>>>`).
 */
export const OFFSET_EXPRS: Record<string, (start: number, vma: Vma) => number> = {
  "(start - vma->vm_start) >> PAGE_CACHE_SHIFT + vma->vm_pgoff": (start, vma) =>
    u32(start - vma.start) >>> (12 + vma.pgoff),
  "((start - vma->vm_start) >> PAGE_CACHE_SHIFT) + vma->vm_pgoff": (start, vma) =>
    u32((u32(start - vma.start) >>> 12) + vma.pgoff),
};

function cfg(k: Kernel): NonlinearConfig {
  if (!k.nonlinear) throw new Error("the 2.5.42 paths need a revision with a nonlinear config");
  return k.nonlinear;
}

/** `find_vma()`: the first vma that ends above `addr` (it may start above it too). */
export function findVma25(mm: Mm, addr: number): Vma | undefined {
  return mm.vmas.find((v) => v.end > addr);
}

/**
 * The vma of `mm` that starts at `start`: a path keeps a vma by its start
 * and finds it again in each step. Throws when it is gone (see the callers:
 * nothing the 2.5.42 model runs concurrently detaches it).
 */
function liveVma(mm: Mm, start: number): Vma {
  const vma = mm.vmas.find((v) => v.start === start);
  if (!vma) {
    throw new KernelBug(
      "vma",
      `the vma at 0x${start.toString(16)} of mm ${mm.id} went while a path used it`,
    );
  }
  return vma;
}

/** Whether the vma's `vm_ops` has `->populate`: generic file and shmem mappings (F8). */
function hasPopulate(vma: Vma): boolean {
  return vma.kind === "file" && vma.file !== undefined;
}

/** Whether the vma's `vm_page_prot` is PAGE_NONE. */
function pageProtNone(vma: Vma): boolean {
  return vma.pageProtNone === true || (!vma.read && !vma.write);
}

/**
 * `install_page()` (F8 mm/fremap.c): maps `pfn` at `addr` with
 * `protection_map[prot]`, made writable and dirty for PROT_WRITE, after
 * `zap_pte()` of what was there; the caller's page reference becomes the
 * pte's. Returns 0, or -ENOMEM when a page-table page cannot be allocated.
 */
export const installPage: PathRef<
  { mm: string; addr: number; pfn: number; prot: number; holder: string }
> = defPath<
  { mm: string; addr: number; pfn: number; prot: number; holder: string },
  Record<never, never>,
  Kernel
>("install_page@2.5.42", {
  entry(k, f) {
    k.enter("install_page");
    return lock(pageTableLockName(f.v.mm), "spin", "locked");
  },
  locked(k, f) {
    const { addr, pfn, prot, holder } = f.v;
    const mm = k.state.mms[f.v.mm];
    const ptl = pageTableLockName(mm.id);
    if (!allocTables(k, mm, addr, "install_page")) {
      k.unlock(f.th, ptl); // err_unlock: the caller's reference stays with the caller
      return ret(-12);
    }
    k.enter("zap_pte");
    zapPte(k, mm, addr);
    const write = (prot & PROT_WRITE) !== 0;
    mapPage(k.state, mm, addr, pfn, { write, dirty: write });
    const pte = mm.ptes[vpn(addr)];
    if (pte.t === "present" && (prot & 7) === 0) updatePte(mm, vpn(addr), { protNone: true });
    putPage(k.state, pfn, holder);
    addTo(k.state.counters, "tlbFlushPage", 1); // flush_tlb_page(vma, addr)
    k.unlock(f.th, ptl);
    return ret(0);
  },
});

/** Reads a page into the page cache (`page_cache_read()`, a shmem swap-in). Null on -ENOMEM. */
function readIn(k: Kernel, f: FileObj, index: number, path: string): number | null {
  if (f.kind !== "shmem") k.enter("page_cache_read");
  if (!k.alloc("page", path)) return null;
  const page = allocPage(k.state, { kind: "file", file: f.name, index }, `cache:${f.name}`);
  f.cache[index] = page.pfn;
  // A regular file's page is read from disk (zeroes past EOF), a swapped shmem page from
  // swap; a shmem hole gets a new page without I/O.
  if (f.kind !== "shmem" || f.backed?.[index]) addTo(k.state.counters, "pageReads", 1);
  if (f.backed) delete f.backed[index];
  return page.pfn;
}

/**
 * `filemap_getpage()` (F8 mm/filemap.c): `find_get_page()`; when absent,
 * NULL for nonblock, otherwise `page_cache_read()` and retry. The page is
 * returned with a reference held by `holder`; NULL on allocation failure.
 */
export function filemapGetpage(
  k: Kernel,
  f: FileObj,
  pgoff: number,
  nonblock: boolean,
  holder: string,
): number | null {
  k.enter("filemap_getpage");
  let pfn: number | null = f.cache[pgoff] ?? null;
  if (pfn === null) {
    if (nonblock) return null;
    pfn = readIn(k, f, pgoff, "page_cache_read");
    if (pfn === null) return null;
  }
  getPage(k.state, pfn, holder);
  updatePage(k.state, pfn, { referenced: true }); // mark_page_accessed()
  return pfn;
}

/**
 * `shmem_getpage(inode, idx, &page, nonblock)` (F8 mm/shmem.c): a page in
 * memory is returned; with nonblock nothing else is (0 and no page);
 * otherwise a swapped page is read back or a hole gets a new page.
 */
export function shmemGetpage(
  k: Kernel,
  f: FileObj,
  idx: number,
  nonblock: boolean,
  holder: string,
): { err: number; pfn: number | null } {
  let pfn: number | null = f.cache[idx] ?? null;
  if (pfn === null) {
    k.enter("shmem_getpage");
    if (nonblock) return { err: 0, pfn: null };
    pfn = readIn(k, f, idx, "shmem_getpage");
    if (pfn === null) return { err: -12, pfn: null };
  }
  getPage(k.state, pfn, holder);
  return { err: 0, pfn };
}

/** Zaps the pte at `addr` if its page table exists (W. L. Irwin's nonblocking-miss hunk against G1). */
const zapIfMapped = defPath<{ mm: string; addr: number }, Record<never, never>, Kernel>(
  "zap_pte@2.5.42",
  {
    entry(k, f) {
      k.enter("zap_pte");
      return lock(pageTableLockName(f.v.mm), "spin", "locked");
    },
    locked(k, f) {
      const mm = k.state.mms[f.v.mm];
      zapPte(k, mm, f.v.addr); // zap_pte(): no TLB flush of its own
      k.unlock(f.th, pageTableLockName(mm.id));
      return ret();
    },
  },
);

/**
 * What one backing store's `->populate` does per page, around the loop both
 * share (plain data: the loop's steps dispatch on `name`).
 */
interface PopulateOps {
  /** The function's name, for the run's paths; selects the per-page operations. */
  name: "filemap_populate" | "shmem_populate";
  /** The vma's file, by name. */
  file: string;
  /** MAP_NONBLOCK: do not read a page that is not in memory. */
  nonblock: boolean;
  /** What `filemap_populate()` does when no page came back (shmem: skip it). */
  noPage: NonlinearConfig["filemapPopulate"]["noPage"] | "skip";
  /** What happens to the page reference when `install_page()` fails. */
  installError: "return" | "release-page";
}

/** The end-of-file check at the top of each iteration: 0, or the errno it returns. */
function populateEof(k: Kernel, ops: PopulateOps, pgoff: number, len: number): number {
  const f = k.state.files[ops.file];
  if (ops.name === "shmem_populate") {
    // ((loff_t) pgoff << PAGE_CACHE_SHIFT) >= inode->i_size: 64-bit, no wrap
    return pgoff >= f.size ? -14 : 0;
  }
  // size = (inode->i_size + PAGE_CACHE_SIZE - 1) >> PAGE_CACHE_SHIFT, in unsigned long
  return u32(pgoff + (len >>> 12)) > f.size ? -22 : 0;
}

/** Gets the page at `pgoff` with a reference for `holder`: an errno, or the page (null: none). */
function populateGet(
  k: Kernel,
  ops: PopulateOps,
  pgoff: number,
  holder: string,
): { err: number; pfn: number | null } {
  const f = k.state.files[ops.file];
  if (ops.name === "shmem_populate") return shmemGetpage(k, f, pgoff, ops.nonblock, holder);
  return { err: 0, pfn: filemapGetpage(k, f, pgoff, ops.nonblock, holder) };
}

/**
 * The loop F8's `filemap_populate()` and `shmem_populate()` share: check,
 * get the page, install it, then `len -= PAGE_SIZE; addr += PAGE_SIZE;
 * pgoff++; if (len) goto repeat;`. Returns 0 or a negative errno.
 */
const populateLoop = defPath<
  { mm: string; ops: PopulateOps; addrIn: number; lenIn: number; prot: number; pgoffIn: number },
  { addr: number; len: number; pgoff: number; n: number; pfn?: number; e?: number },
  Kernel
>("populate@2.5.42", {
  entry(k, f) {
    k.enter(f.v.ops.name);
    [f.v.addr, f.v.len, f.v.pgoff] = [f.v.addrIn, f.v.lenIn, f.v.pgoffIn];
    f.v.n = 0;
    return go("repeat");
  },
  repeat(k, f) {
    const { ops, addr, len, pgoff } = f.v;
    const holder = `populate:${f.th}`;
    if (f.v.n >= POPULATE_BOUND) {
      const what = `${ops.name} loops past the harness bound`;
      k.emit({ type: "no-progress", step: k.step, thread: f.th, what });
      return ret(0);
    }
    const eof = populateEof(k, ops, pgoff, len);
    if (eof) return ret(eof);
    const { err, pfn } = populateGet(k, ops, pgoff, holder);
    if (err) return ret(err);
    if (pfn === null) {
      // shmem_populate(): 'if (page) {...}' - a page nonblock could not get is skipped
      if (ops.name === "shmem_populate") return go("next");
      if (ops.noPage === "return-enomem" || !ops.nonblock) return ret(-12);
      if (ops.noPage === "zap-pte-if-nonblock") {
        return call(zapIfMapped, { mm: f.v.mm, addr }, "next");
      }
      return go("next");
    }
    f.v.pfn = pfn;
    return call(
      installPage,
      { mm: f.v.mm, addr, pfn, prot: f.v.prot, holder },
      "installed",
      "e",
    );
  },
  installed(k, f) {
    const e = f.v.e!;
    if (e) {
      if (f.v.ops.installError === "release-page") putPage(k.state, f.v.pfn!, `populate:${f.th}`);
      return ret(e);
    }
    return go("next");
  },
  next(_k, f) {
    f.v.len = u32(f.v.len - PAGE_SIZE);
    f.v.addr = u32(f.v.addr + PAGE_SIZE);
    f.v.pgoff = u32(f.v.pgoff + 1);
    if (!f.v.len) return ret(0);
    f.v.n++;
    return go("repeat");
  },
});

/**
 * The vma's `->populate` per page: `filemap_populate()` for the generic
 * page cache, `shmem_populate()` for shmem, as the revision's config has them.
 */
function populateOps(k: Kernel, vma: Vma, nonblock: boolean): PopulateOps {
  const f = k.state.files[vma.file!];
  if (f.kind === "shmem") {
    return {
      name: "shmem_populate",
      file: vma.file!,
      nonblock,
      noPage: "skip",
      installError: cfg(k).shmemPopulate.installError,
    };
  }
  const c = cfg(k).filemapPopulate;
  return {
    name: "filemap_populate",
    file: vma.file!,
    nonblock,
    noPage: c.noPage,
    installError: c.installError,
  };
}

/** The arguments of {@link sysRemapFilePages25}: the mm, and the syscall's as the user passed them. */
export type RemapFilePages25 = {
  /** The calling process's mm. */
  mm: string;
  /** `start`. */
  startIn: number;
  /** `size`. */
  sizeIn: number;
  /** `prot`. */
  protIn: number;
  /** `pgoff`. */
  pgoffIn: number;
  /** `flags`. */
  flags: number;
};

/**
 * `sys_remap_file_pages(start, size, prot, pgoff, flags)` as the revision
 * computes it. Returns 0 or a negative errno.
 */
export const sysRemapFilePages25: PathRef<RemapFilePages25> = defPath<
  RemapFilePages25,
  { start: number; size: number; end: number; prot: number; pgoff: number; err: number },
  Kernel
>("sys_remap_file_pages@2.5.42", {
  entry(k, f) {
    const { startIn, sizeIn, protIn, pgoffIn } = f.v;
    k.enter("sys_remap_file_pages");
    const c = cfg(k);
    // unsigned long end = start + size; (F8 and 2.6.24 take it from the raw arguments)
    const rawEnd = u32(startIn + sizeIn);
    // 2.6.24: 'if (prot) return err;' before any sanitizing
    if (c.remapArgs.prot === "einval-if-nonzero" && u32(protIn) !== 0) return ret(-22);
    let start: number;
    let size: number;
    if (c.remapArgs.align === "page-align-up") {
      start = pageAlign(startIn);
      size = pageAlign(sizeIn);
    } else {
      start = pageMask(startIn);
      size = pageMask(sizeIn);
      // 2.6.24: "Does the address range wrap, or is the span zero-sized?"
      if (u32(start + size) <= start) return ret(-22);
    }
    // 2.6.24: "Can we represent this offset inside this architecture's pte's?" (the sum is an
    // unsigned long: it wraps, as the code's does)
    if (
      c.remapArgs.offsetLimit === "pte-file-max-bits" &&
      u32(u32(pgoffIn) + (size >>> 12)) >= 2 ** PTE_FILE_MAX_BITS
    ) {
      return ret(-22);
    }
    f.v.start = start;
    f.v.size = size;
    f.v.end = c.remapArgs.end === "before-align" ? rawEnd : u32(start + size);
    f.v.prot = u32(protIn) & 0xf; // F8: 'prot &= 0xf;' (2.6.24 gets here only with prot 0)
    f.v.pgoff = u32(pgoffIn);
    return lock(mmapSemName(f.v.mm), "rwsem-read", "locked");
  },
  locked(k, f) {
    const { start, size, end, prot, pgoff } = f.v;
    const c = cfg(k);
    const mm = k.state.mms[f.v.mm];
    f.v.err = -22;
    const vma = findVma25(mm, start);
    if (
      vma && vma.shared && hasPopulate(vma) && end > start && start >= vma.start &&
      end <= vma.end
    ) {
      const d = c.defaultProt;
      if (d.set !== "keep" && !pageProtNone(vma)) {
        const matches = d.set === "force-none-unless-offset-matches" &&
          OFFSET_EXPRS[d.offset!](start, vma) === pgoff;
        if (!matches) vma.pageProtNone = true; // vma->vm_page_prot = __S000
      }
      const ops = populateOps(k, vma, (f.v.flags & MAP_NONBLOCK) !== 0);
      return call(
        populateLoop,
        { mm: mm.id, ops, addrIn: start, lenIn: size, prot, pgoffIn: pgoff },
        "unlock",
        "err",
      );
    }
    return go("unlock");
  },
  unlock(k, f) {
    k.unlock(f.th, mmapSemName(f.v.mm));
    return ret(f.v.err);
  },
});

/** The arguments of {@link doMmap25}. */
export interface Mmap25 {
  /** The address (the model maps with MAP_FIXED). */
  addr: number;
  /** Length in bytes, page aligned. */
  len: number;
  /** PROT_* bits. */
  prot: number;
  /** MAP_SHARED or MAP_PRIVATE. */
  shared: boolean;
  /** MAP_LOCKED, MAP_POPULATE and MAP_NONBLOCK bits. */
  flags: number;
  /** The mapped file, absent for an anonymous mapping. */
  file?: string;
  /** File page offset of `addr`. */
  pgoff: number;
}

/**
 * `do_mmap_pgoff()` (2.5.42 with F8's MAP_POPULATE hunk): replaces what is
 * mapped at the range, inserts the vma (file mappings never merge in
 * 2.5.42), `make_pages_present()` for MAP_LOCKED, then for MAP_POPULATE
 * drops mmap_sem and calls `sys_remap_file_pages()`, ignoring its result.
 * Returns the address.
 */
export const doMmap25: PathRef<{ mm: string; a: Mmap25 }> = defPath<
  { mm: string; a: Mmap25 },
  // vma: the new vma, by value, until it is inserted; p: make_pages_present()'s address
  { vma?: Vma; p: number },
  Kernel
>("do_mmap_pgoff@2.5.42", {
  entry(k, f) {
    k.enter("do_mmap_pgoff");
    return lock(mmapSemName(f.v.mm), "rwsem-write", "locked");
  },
  locked(k, f) {
    const a = f.v.a;
    const file = a.file === undefined ? undefined : k.state.files[a.file];
    f.v.vma = {
      start: a.addr,
      end: a.addr + a.len,
      read: (a.prot & 7) !== 0,
      write: (a.prot & PROT_WRITE) !== 0,
      shared: a.shared,
      mayWrite: !a.shared || (a.prot & PROT_WRITE) !== 0,
      file: file?.name,
      pgoff: a.pgoff,
      kind: file ? "file" : "anon",
      nonlinear: false,
      locked: (a.flags & MAP_LOCKED) !== 0,
      anonVma: false,
    };
    return call(doMunmap, { mm: f.v.mm, start: f.v.vma.start, len: a.len }, "unmapped");
  },
  unmapped(k, f) {
    const mm = k.state.mms[f.v.mm];
    // The frame's vma becomes the world's: from here on it is found by its start.
    const vma = { ...f.v.vma! };
    delete f.v.vma;
    mm.vmas.push(vma);
    sortVmas(mm);
    if (vma.locked) {
      k.enter("make_pages_present");
      f.v.p = vma.start;
      return go("make_pages_present");
    }
    return go("populate");
  },
  make_pages_present(k, f) {
    // make_pages_present(): get_user_pages() with write = VM_WRITE
    const vma = liveVma(k.state.mms[f.v.mm], f.v.a.addr);
    if (f.v.p >= vma.end) return go("populate");
    const p = f.v.p;
    f.v.p += PAGE_SIZE;
    return call(
      handleMmFault25,
      { mm: f.v.mm, vma: vma.start, addrIn: p, write: vma.write },
      "make_pages_present",
    );
  },
  populate(k, f) {
    const a = f.v.a;
    if (!(a.flags & MAP_POPULATE)) return go("unlock");
    k.unlock(f.th, mmapSemName(f.v.mm));
    return call(
      sysRemapFilePages25,
      {
        mm: f.v.mm,
        startIn: a.addr,
        sizeIn: a.len,
        protIn: a.prot,
        pgoffIn: a.pgoff,
        flags: a.flags & MAP_NONBLOCK,
      },
      "populated",
    );
  },
  populated(_k, f) {
    return lock(mmapSemName(f.v.mm), "rwsem-write", "unlock");
  },
  unlock(k, f) {
    k.unlock(f.th, mmapSemName(f.v.mm));
    return ret(f.v.a.addr);
  },
});

/** `do_munmap()` under mmap_sem. Returns 0. */
export const doMunmap25: PathRef<{ mm: string; addr: number; len: number }> = defPath<
  { mm: string; addr: number; len: number },
  { r?: number },
  Kernel
>("do_munmap@2.5.42", {
  entry(_k, f) {
    return lock(mmapSemName(f.v.mm), "rwsem-write", "locked");
  },
  locked(_k, f) {
    return call(doMunmap, { mm: f.v.mm, start: f.v.addr, len: f.v.len }, "unlock", "r");
  },
  unlock(k, f) {
    k.unlock(f.th, mmapSemName(f.v.mm));
    return ret(f.v.r);
  },
});

/** What `->nopage` returned. */
type NopageResult = { pfn: number } | "SIGBUS" | "OOM";

/** `filemap_nopage()` / `shmem_nopage()` at the vma's linear offset for `addr`. */
function nopage(k: Kernel, vma: Vma, addr: number, holder: string): NopageResult {
  const f = k.state.files[vma.file!];
  k.enter(f.kind === "shmem" ? "shmem_nopage" : "filemap_nopage");
  const pgoff = u32((u32(addr - vma.start) >>> 12) + vma.pgoff);
  if (pgoff >= f.size) return "SIGBUS"; // NOPAGE_SIGBUS past the end of the file
  if (f.kind === "shmem") {
    const { err, pfn } = shmemGetpage(k, f, pgoff, false, holder);
    return err ? "OOM" : { pfn: pfn! };
  }
  const pfn = filemapGetpage(k, f, pgoff, false, holder);
  return pfn === null ? "OOM" : { pfn };
}

/**
 * `handle_mm_fault()` for a file-backed vma in 2.5.42: `do_no_page()` on an
 * empty pte (the page at the vma's linear offset, mapped with
 * `vm_page_prot`; a private write fault copies it), and on a present pte
 * only `pte_mkyoung()`. Returns "minor", "major", "SIGBUS" or "OOM".
 */
export const handleMmFault25: PathRef<{ mm: string; vma: number; addrIn: number; write: boolean }> =
  defPath<
    { mm: string; vma: number; addrIn: number; write: boolean },
    { addr: number; pfn?: number },
    Kernel
  >("handle_mm_fault@2.5.42", {
    entry(k, f) {
      k.enter("handle_mm_fault");
      addTo(k.state.counters, "faults", 1);
      f.v.addr = pageMask(f.v.addrIn);
      return lock(pageTableLockName(f.v.mm), "spin", "locked");
    },
    locked(k, f) {
      const addr = f.v.addr;
      const mm = k.state.mms[f.v.mm];
      const ptl = pageTableLockName(mm.id);
      if (!allocTables(k, mm, addr, "handle_mm_fault")) {
        k.unlock(f.th, ptl);
        return ret("OOM");
      }
      const pte = mm.ptes[vpn(addr)];
      if (pte) {
        // handle_pte_fault(): present, pte_mkyoung()
        if (pte.t === "present") updatePte(mm, vpn(addr), { young: true });
        k.unlock(f.th, ptl);
        return ret("minor");
      }
      k.unlock(f.th, ptl);
      const vma = liveVma(mm, f.v.vma);
      if (!vma.file) return ret("SIGBUS"); // the model maps no anonymous memory in 2.5.42 scenarios
      const holder = `nopage:${f.th}`;
      const r = nopage(k, vma, addr, holder);
      if (r === "SIGBUS" || r === "OOM") return ret(r);
      f.v.pfn = r.pfn;
      return lock(ptl, "spin", "relocked");
    },
    relocked(k, f) {
      const { addr, write } = f.v;
      const pfn = f.v.pfn!;
      const mm = k.state.mms[f.v.mm];
      const ptl = pageTableLockName(mm.id);
      const holder = `nopage:${f.th}`;
      if (mm.ptes[vpn(addr)]) {
        putPage(k.state, pfn, holder);
        k.unlock(f.th, ptl);
        return ret("minor");
      }
      const vma = liveVma(mm, f.v.vma);
      if (write && !vma.shared) {
        // a private write fault: copy into an anonymous page
        if (!k.alloc("page", "do_no_page")) {
          putPage(k.state, pfn, holder);
          k.unlock(f.th, ptl);
          return ret("OOM");
        }
        const copy = allocPage(k.state, { kind: "anon" }, holder);
        updatePage(k.state, copy.pfn, { data: k.state.pages[pfn].data });
        putPage(k.state, pfn, holder);
        mapPage(k.state, mm, addr, copy.pfn, { write: true, dirty: true });
        putPage(k.state, copy.pfn, holder);
      } else {
        const none = pageProtNone(vma);
        // mk_pte(page, vma->vm_page_prot); pte_mkwrite(pte_mkdirty()) for a write access
        const w = write || (vma.shared && vma.write && !none);
        mapPage(k.state, mm, addr, pfn, { write: w, dirty: write });
        const p = mm.ptes[vpn(addr)];
        if (none && p.t === "present") updatePte(mm, vpn(addr), { protNone: true });
        putPage(k.state, pfn, holder);
      }
      k.unlock(f.th, ptl);
      return ret("major");
    },
  });

/** User accesses a fault may take before the access counts as never completing. */
const READ_RETRIES = 3;

/**
 * A user read through `addr`, as the i386 page-fault handler (2.5.42
 * arch/i386/mm/fault.c) treats it: the hardware reads through a present,
 * non-PROT_NONE pte (even one outside any vma); otherwise it faults: no
 * vma, or one that does not allow reading, gives SIGSEGV; `handle_mm_fault`
 * gives SIGBUS past the end of the file and SIGKILL when out of memory; a
 * fault that leaves the pte unreadable is taken again, and an access still
 * faulting after {@link READ_RETRIES} faults is reported as a hang.
 */
export const userRead25: PathRef<{ mm: string; addrIn: number }> = defPath<
  { mm: string; addrIn: number },
  { addr: number; tries: number; vma?: number; r?: string },
  Kernel
>("do_page_fault@2.5.42", {
  entry(k, f) {
    k.enter("do_page_fault");
    f.v.addr = u32(f.v.addrIn);
    f.v.tries = 0;
    return go("retry");
  },
  retry(k, f) {
    const { addr, tries } = f.v;
    const mm = k.state.mms[f.v.mm];
    const pte = mm.ptes[vpn(addr)];
    if (pte?.t === "present" && !pte.protNone) {
      updatePte(mm, vpn(addr), { young: true });
      return ret({ page: pte.pfn });
    }
    if (tries === READ_RETRIES) return go("hang");
    const vma = findVma25(mm, addr);
    if (!vma || vma.start > addr) return ret({ signal: "SIGSEGV" }); // bad_area (no stack vma)
    if (!vma.read) return ret({ signal: "SIGSEGV" }); // case 0: read, not present: !(VM_READ|VM_EXEC)
    f.v.vma = vma.start;
    return lock(mmapSemName(mm.id), "rwsem-read", "locked");
  },
  locked(_k, f) {
    const args = { mm: f.v.mm, vma: f.v.vma!, addrIn: f.v.addr, write: false };
    return call(handleMmFault25, args, "faulted", "r");
  },
  faulted(k, f) {
    k.unlock(f.th, mmapSemName(f.v.mm));
    if (f.v.r === "SIGBUS") return ret({ signal: "SIGBUS" });
    if (f.v.r === "OOM") return ret({ signal: "SIGKILL" });
    f.v.tries++;
    return go("retry");
  },
  hang(k, f) {
    const addr = f.v.addr;
    const what = `a read at 0x${addr.toString(16)} faults again after ${READ_RETRIES} faults: ` +
      "the pte is PROT_NONE, the vma's vm_flags allow reading, and handle_mm_fault() finds the " +
      "pte present and only marks it young";
    k.emit({ type: "no-progress", step: k.step, thread: f.th, what });
    return ret({ hang: "PROT_NONE pte in a readable vma: the access faults for ever" });
  },
});

/**
 * Memory pressure evicts one page-cache page (2.5.42 `shrink_list` on a
 * cold page): `try_to_unmap()` walks the page's pte chain and clears each
 * pte (`flush_tlb_page`), failing on a VM_LOCKED vma (the page stays,
 * ptes already cleared stay clear); then a page with no other reference
 * leaves the page cache, written to disk or to swap (shmem).
 * Returns "evicted", "locked", "unmap-failed", "busy" or "not-cached".
 */
export function evictPage25(k: Kernel, file: string, index: number): string {
  k.enter("try_to_unmap");
  const f = k.state.files[file];
  const pfn = f.cache[index];
  if (pfn === undefined) return "not-cached";
  for (const id of Object.keys(k.state.mms).sort()) {
    const mm = k.state.mms[id];
    if (mm.exited) continue;
    const keys = Object.keys(mm.ptes).map(Number).sort((a, b) => a - b);
    for (const key of keys) {
      const pte = mm.ptes[key];
      if (pte.t !== "present" || pte.pfn !== pfn) continue;
      const addr = key * PAGE_SIZE;
      const vma = findVma25(mm, addr); // try_to_unmap_one(): find_vma(mm, address)
      if (!vma) return "unmap-failed"; // SWAP_FAIL: no vma at or above the pte
      if (vma.locked) return "locked"; // SWAP_FAIL: VM_LOCKED
      zapPte(k, mm, addr);
      addTo(k.state.counters, "tlbFlushPage", 1);
    }
  }
  const page = k.state.pages[pfn];
  if (Object.keys(page.refs).some((h) => h !== `cache:${file}`)) return "busy";
  delete f.cache[index];
  (f.backed ??= {})[index] = true;
  putPage(k.state, pfn, `cache:${file}`);
  return "evicted";
}

/**
 * What a read returned, as a user sees it: the file page (`file:index`),
 * `anon` for a private copy, the signal, or `hang`.
 */
export function describeRead(state: MmState, r: ReadResult): string {
  if ("signal" in r) return r.signal;
  if ("hang" in r) return "hang";
  const o = state.pages[r.page].owner;
  return o.kind === "file" || o.kind === "huge" ? `${o.file}:${o.index}` : o.kind;
}

/**
 * Returns a function telling what a user read at an address of an mm would
 * return, without changing the run's state: a readable pte is read
 * directly; otherwise the read runs on one copy of the state, shared by the
 * calls (a read maps only its own address and may bring its own file page
 * into the cache, which no other read's result depends on).
 */
export function addressResolver(k: Kernel): (mm: Mm, addr: number) => string {
  let copy: Kernel | undefined;
  return (mm, addr) => {
    const pte = mm.ptes[vpn(addr)];
    if (pte?.t === "present" && !pte.protNone) {
      return describeRead(k.state, { page: pte.pfn });
    }
    // A fresh Kernel holds no lock, is not preemptive and has no observer: the read never
    // stops, and nobody sees it.
    copy ??= new Kernel({
      state: structuredClone(k.state),
      paths: k.paths,
      sink: k.sink,
      variants: k.variants,
      nonlinear: k.nonlinear,
    });
    const r = runToEnd(copy, "view", userRead25, { mm: mm.id, addrIn: addr }) as ReadResult;
    return describeRead(copy.state, r);
  };
}
