/**
 * `remap_pfn_range()` and `apply_to_page_range()` as in 2.6.24 mm/memory.c.
 *
 * @module
 */
import type { Mm } from "../model/types.ts";
import { PAGE_SIZE, PMD_SIZE } from "../model/types.ts";
import { findVma, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import { allocTables, mapPfn, ptlName } from "./pgtable.ts";
import { tlbFinish, tlbGather, zapOne } from "./unmap.ts";

/**
 * `remap_pfn_range()`: maps raw PFNs into a VM_PFNMAP vma, allocating page
 * tables per PMD-sized chunk; breaks out with -ENOMEM when one cannot be
 * allocated. Returns 0 or a negative errno.
 */
export function* remapPfnRange(
  k: Kernel,
  th: string,
  mm: Mm,
  addr: number,
  pfn: number,
  size: number,
): KGen<number> {
  const P = "remap_pfn_range";
  const end = addr + Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  const vma = findVma(mm, addr);
  if (!vma || end > vma.end) return -22;
  vma.kind = "pfnmap"; // vma->vm_flags |= VM_IO | VM_RESERVED | VM_PFNMAP
  const requested: [number, number] = [addr, end];
  yield* k.hook(th, P, "before_loop", { mm: mm.id, ranges: { requested } });
  let err = 0;
  for (let chunk = addr; chunk < end; chunk = (Math.floor(chunk / PMD_SIZE) + 1) * PMD_SIZE) {
    if (!allocTables(k, mm, chunk, P)) {
      err = -12;
      break;
    }
    const stop = Math.min(end, (Math.floor(chunk / PMD_SIZE) + 1) * PMD_SIZE);
    yield* k.lock(th, ptlName(mm.id, chunk), "spin");
    for (let a = chunk; a < stop; a += PAGE_SIZE) {
      // BUG_ON(!pte_none(*pte)) in remap_pte_range: the range must be empty.
      if (!mm.ptes[vpn(a)]) mapPfn(mm, a, pfn + (a - addr) / PAGE_SIZE, vma.write);
    }
    k.unlock(th, ptlName(mm.id, chunk));
  }
  yield* k.hook(th, P, "after_loop", { mm: mm.id, ranges: { requested } });
  return err;
}

/**
 * `apply_to_page_range()` with a callback that clears each pte (as a
 * hypervisor unmapping a grant would): allocates page tables as it goes and
 * breaks out with -ENOMEM. Returns 0 or a negative errno.
 */
export function* applyToPageRange(
  k: Kernel,
  th: string,
  mm: Mm,
  addr: number,
  size: number,
): KGen<number> {
  const P = "apply_to_page_range";
  const end = addr + size;
  const requested: [number, number] = [addr, end];
  yield* k.hook(th, P, "before_loop", { mm: mm.id, ranges: { requested } });
  let err = 0;
  const tlb = tlbGather(mm.id);
  for (let chunk = addr; chunk < end; chunk = (Math.floor(chunk / PMD_SIZE) + 1) * PMD_SIZE) {
    if (!allocTables(k, mm, chunk, P)) {
      err = -12;
      break;
    }
    const stop = Math.min(end, (Math.floor(chunk / PMD_SIZE) + 1) * PMD_SIZE);
    yield* k.lock(th, ptlName(mm.id, chunk), "spin");
    for (let a = chunk; a < stop; a += PAGE_SIZE) zapOne(k, mm, a, tlb);
    k.unlock(th, ptlName(mm.id, chunk));
  }
  tlbFinish(k, tlb);
  yield* k.hook(th, P, "after_loop", { mm: mm.id, ranges: { requested } });
  return err;
}
