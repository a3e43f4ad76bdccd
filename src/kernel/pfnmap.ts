/**
 * `remap_pfn_range()` and `apply_to_page_range()` as in 2.6.24 mm/memory.c.
 *
 * @module
 */
import { PAGE_SIZE, PMD_SIZE } from "../model/types.ts";
import { findVma, vpn } from "../model/state.ts";
import { hook, type Kernel, lock } from "./context.ts";
import { defPath, go, ret } from "./steps.ts";
import { allocTables, mapPfn, ptlName } from "./pgtable.ts";
import { vmaAt } from "./fault.ts";
import { tlbFinish, tlbGather, zapOne } from "./unmap.ts";

/** The start of the PMD-sized chunk after the one of `addr`. */
function nextChunk(addr: number): number {
  return (Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE;
}

/** The end of a `size`-byte range at `addr`, rounded up to whole pages. */
function pfnRangeEnd(addr: number, size: number): number {
  return addr + Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * `remap_pfn_range()`: maps raw PFNs into a VM_PFNMAP vma, allocating page
 * tables per PMD-sized chunk; breaks out with -ENOMEM when one cannot be
 * allocated. Returns 0 or a negative errno.
 */
export const remapPfnRange = defPath<
  { mm: string; addr: number; pfn: number; size: number },
  {
    /** The start of the vma that maps `addr`. */
    vma?: number;
    /** The chunk being mapped. */
    chunk?: number;
    err?: number;
  },
  Kernel
>("remap_pfn_range", {
  entry(k, f) {
    const { addr, size } = f.v;
    const mm = k.state.mms[f.v.mm];
    const end = pfnRangeEnd(addr, size);
    const vma = findVma(mm, addr);
    if (!vma || end > vma.end) return ret(-22);
    vma.kind = "pfnmap"; // vma->vm_flags |= VM_IO | VM_RESERVED | VM_PFNMAP
    f.v.vma = vma.start;
    f.v.err = 0;
    f.v.chunk = addr;
    const requested: [number, number] = [addr, end];
    return hook("remap_pfn_range", "before_loop", { mm: mm.id, ranges: { requested } }, "chunk");
  },
  chunk(k, f) {
    const P = "remap_pfn_range";
    const { addr, size } = f.v;
    const mm = k.state.mms[f.v.mm];
    const end = pfnRangeEnd(addr, size);
    const chunk = f.v.chunk!;
    if (chunk < end) {
      if (allocTables(k, mm, chunk, P)) return lock(ptlName(mm.id, chunk), "spin", "chunk.locked");
      f.v.err = -12;
    }
    const requested: [number, number] = [addr, end];
    return hook(P, "after_loop", { mm: mm.id, ranges: { requested } }, "done");
  },
  "chunk.locked"(k, f) {
    const { addr, pfn, size } = f.v;
    const chunk = f.v.chunk!;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma!);
    const stop = Math.min(pfnRangeEnd(addr, size), nextChunk(chunk));
    for (let a = chunk; a < stop; a += PAGE_SIZE) {
      // BUG_ON(!pte_none(*pte)) in remap_pte_range: the range must be empty.
      if (!mm.ptes[vpn(a)]) mapPfn(mm, a, pfn + (a - addr) / PAGE_SIZE, vma.write);
    }
    k.unlock(f.th, ptlName(mm.id, chunk));
    f.v.chunk = nextChunk(chunk);
    return go("chunk");
  },
  done: (_k, f) => ret(f.v.err),
});

/**
 * `apply_to_page_range()` with a callback that clears each pte (as a
 * hypervisor unmapping a grant would): allocates page tables as it goes and
 * breaks out with -ENOMEM. Returns 0 or a negative errno.
 */
export const applyToPageRange = defPath<
  { mm: string; addr: number; size: number },
  {
    /** The chunk being cleared. */
    chunk?: number;
    err?: number;
  },
  Kernel
>("apply_to_page_range", {
  entry(k, f) {
    const { addr, size } = f.v;
    f.v.err = 0;
    tlbGather(k, f.th, f.v.mm);
    f.v.chunk = addr;
    const requested: [number, number] = [addr, addr + size];
    return hook(
      "apply_to_page_range",
      "before_loop",
      { mm: f.v.mm, ranges: { requested } },
      "chunk",
    );
  },
  chunk(k, f) {
    const P = "apply_to_page_range";
    const { addr, size } = f.v;
    const mm = k.state.mms[f.v.mm];
    const chunk = f.v.chunk!;
    if (chunk < addr + size) {
      if (allocTables(k, mm, chunk, P)) return lock(ptlName(mm.id, chunk), "spin", "chunk.locked");
      f.v.err = -12;
    }
    tlbFinish(k, f.th, true);
    const requested: [number, number] = [addr, addr + size];
    return hook(P, "after_loop", { mm: mm.id, ranges: { requested } }, "done");
  },
  "chunk.locked"(k, f) {
    const { addr, size } = f.v;
    const chunk = f.v.chunk!;
    const mm = k.state.mms[f.v.mm];
    const stop = Math.min(addr + size, nextChunk(chunk));
    for (let a = chunk; a < stop; a += PAGE_SIZE) zapOne(k, mm, a, f.th);
    k.unlock(f.th, ptlName(mm.id, chunk));
    f.v.chunk = nextChunk(chunk);
    return go("chunk");
  },
  done: (_k, f) => ret(f.v.err),
});
