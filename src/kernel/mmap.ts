/**
 * Address-space changes as in 2.6.24 mm/mmap.c and mm/mprotect.c:
 * `do_mmap_pgoff` (simplified: no merging), `do_munmap` with vma splitting
 * and `unmap_region`, and `mprotect_fixup` with `change_protection`.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { sortVmas, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import { ptesIn, ptlName } from "./pgtable.ts";
import { unmapRegion } from "./unmap.ts";

/** Splits vmas so that `addr` is a vma boundary (`split_vma`). */
function splitAt(mm: Mm, addr: number): void {
  const i = mm.vmas.findIndex((v) => v.start < addr && addr < v.end);
  if (i < 0) return;
  const v = mm.vmas[i];
  const tail: Vma = { ...v, start: addr, pgoff: v.pgoff + (addr - v.start) / PAGE_SIZE };
  mm.vmas.splice(i + 1, 0, tail);
  v.end = addr;
}

/**
 * `do_munmap()`: splits the vmas at the range's edges, detaches them and
 * calls `unmap_region`. The caller holds mmap_sem for write. Returns 0.
 */
export function* doMunmap(k: Kernel, th: string, mm: Mm, start: number, len: number): KGen<number> {
  const end = start + len;
  if (!mm.vmas.some((v) => v.start < end && v.end > start)) return 0;
  splitAt(mm, start);
  splitAt(mm, end);
  yield* unmapRegion(k, th, mm, start, end);
  mm.vmas = mm.vmas.filter((v) => v.end <= start || v.start >= end);
  return 0;
}

/** Inserts a new vma, unmapping what it replaces (MAP_FIXED). The caller holds mmap_sem for write. */
export function* doMmap(k: Kernel, th: string, mm: Mm, vma: Vma): KGen<number> {
  yield* doMunmap(k, th, mm, vma.start, vma.end - vma.start);
  mm.vmas.push(vma);
  sortVmas(mm);
  return vma.start;
}

/**
 * `mprotect_fixup()` and `change_protection()`: sets the vma's write
 * permission and rewrites the present ptes of the range, then flushes the
 * TLB range. The caller holds mmap_sem for write. Returns 0 or -ENOMEM.
 */
export function* mprotectFixup(
  k: Kernel,
  th: string,
  mm: Mm,
  start: number,
  end: number,
  write: boolean,
): KGen<number> {
  splitAt(mm, start);
  splitAt(mm, end);
  for (const v of mm.vmas) {
    if (v.start >= start && v.end <= end) {
      v.write = write;
      if (write) v.mayWrite = true;
    }
  }
  const P = "change_protection";
  const requested: [number, number] = [start, end];
  yield* k.hook(th, P, "before", { mm: mm.id, ranges: { requested } });
  for (const a of ptesIn(mm, start, end)) {
    const ptl = ptlName(mm.id, a);
    yield* k.lock(th, ptl, "spin");
    const pte = mm.ptes[vpn(a)];
    // pte_modify(): only a write-enabled shared or already-dirty pte keeps write; a private
    // mapping regains write through do_wp_page.
    if (pte && pte.t === "present") pte.write = write && (pte.write || pte.dirty);
    k.unlock(th, ptl);
  }
  k.state.counters.tlbFlushRange++;
  yield* k.hook(th, P, "after", { mm: mm.id, ranges: { requested } });
  return 0;
}
