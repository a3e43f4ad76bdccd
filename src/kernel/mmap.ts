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
import { hook, type Kernel, lock } from "./context.ts";
import { call, defPath, go, ret } from "./steps.ts";
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
export const doMunmap = defPath<
  { mm: string; start: number; len: number },
  Record<never, never>,
  Kernel
>("do_munmap", {
  entry(k, f) {
    const { start, len } = f.v;
    const mm = k.state.mms[f.v.mm];
    const end = start + len;
    if (!mm.vmas.some((v) => v.start < end && v.end > start)) return ret(0);
    splitAt(mm, start);
    splitAt(mm, end);
    return call(unmapRegion, { mm: mm.id, start, end }, "unmapped");
  },
  unmapped(k, f) {
    const { start, len } = f.v;
    const mm = k.state.mms[f.v.mm];
    const end = start + len;
    mm.vmas = mm.vmas.filter((v) => v.end <= start || v.start >= end);
    return ret(0);
  },
});

/**
 * Inserts a new vma, unmapping what it replaces (MAP_FIXED). The caller holds
 * mmap_sem for write. `vma` is the new vma by value, not yet in the mm.
 */
export const doMmap = defPath<{ mm: string; vma: Vma }, Record<never, never>, Kernel>("do_mmap", {
  entry(_k, f) {
    const { vma } = f.v;
    return call(doMunmap, { mm: f.v.mm, start: vma.start, len: vma.end - vma.start }, "unmapped");
  },
  unmapped(k, f) {
    const mm = k.state.mms[f.v.mm];
    // A copy goes into the mm: the frame's vma stays the frame's.
    mm.vmas.push({ ...f.v.vma });
    sortVmas(mm);
    return ret(f.v.vma.start);
  },
});

/**
 * `mprotect_fixup()` and `change_protection()`: sets the vma's write
 * permission and rewrites the present ptes of the range, then flushes the
 * TLB range. The caller holds mmap_sem for write. Returns 0 or -ENOMEM.
 */
export const mprotectFixup = defPath<
  { mm: string; start: number; end: number; write: boolean },
  {
    /** The addresses with a pte in the range, as found after the `before` hook. */
    addrs?: number[];
    /** Index in `addrs` of the pte being changed. */
    i?: number;
  },
  Kernel
>("mprotect_fixup", {
  entry(k, f) {
    const { start, end, write } = f.v;
    const mm = k.state.mms[f.v.mm];
    splitAt(mm, start);
    splitAt(mm, end);
    for (const v of mm.vmas) {
      if (v.start >= start && v.end <= end) {
        v.write = write;
        if (write) v.mayWrite = true;
      }
    }
    return hook(
      "change_protection",
      "before",
      { mm: mm.id, ranges: { requested: [start, end] } },
      "change",
    );
  },
  change(k, f) {
    f.v.addrs = ptesIn(k.state.mms[f.v.mm], f.v.start, f.v.end);
    f.v.i = 0;
    return go("pte");
  },
  pte(k, f) {
    const { start, end } = f.v;
    const addrs = f.v.addrs!;
    if (f.v.i! < addrs.length) return lock(ptlName(f.v.mm, addrs[f.v.i!]), "spin", "pte.locked");
    k.state.counters.tlbFlushRange++;
    return hook(
      "change_protection",
      "after",
      { mm: f.v.mm, ranges: { requested: [start, end] } },
      "done",
    );
  },
  "pte.locked"(k, f) {
    const { write } = f.v;
    const a = f.v.addrs![f.v.i!];
    const mm = k.state.mms[f.v.mm];
    const pte = mm.ptes[vpn(a)];
    // pte_modify(): only a write-enabled shared or already-dirty pte keeps write; a private
    // mapping regains write through do_wp_page.
    if (pte && pte.t === "present") pte.write = write && (pte.write || pte.dirty);
    k.unlock(f.th, ptlName(mm.id, a));
    f.v.i!++;
    return go("pte");
  },
  done: () => ret(0),
});
