/**
 * mremap as in 2.6.24 mm/mremap.c: `move_vma`, `move_page_tables` and
 * `move_ptes`, including the move back when a page table cannot be allocated.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PAGE_SIZE, PMD_SIZE } from "../model/types.ts";
import { findVma, pteHolder, sortVmas, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import { allocTables, immapName, mmapSemName, ptesIn, ptlName } from "./pgtable.ts";
import { doMunmap } from "./mmap.ts";

/** `move_ptes()`: moves the ptes of one extent under both PTE locks (and i_mmap_lock for a file). */
function* movePtes(
  k: Kernel,
  th: string,
  mm: Mm,
  vma: Vma,
  oldAddr: number,
  oldEnd: number,
  newAddr: number,
): KGen {
  const P = "move_ptes";
  const extent: [number, number] = [oldAddr, oldEnd];
  yield* k.hook(th, P, "before_lock", { mm: mm.id, ranges: { extent } });
  const imm = vma.file ? immapName(vma.file) : null;
  if (imm) yield* k.lock(th, imm, "spin");
  const oldPtl = ptlName(mm.id, oldAddr);
  const newPtl = ptlName(mm.id, newAddr);
  yield* k.lock(th, oldPtl, "spin");
  if (newPtl !== oldPtl) yield* k.lock(th, newPtl, "spin");
  for (const a of ptesIn(mm, oldAddr, oldEnd)) {
    const pte = mm.ptes[vpn(a)]!;
    delete mm.ptes[vpn(a)]; // ptep_clear_flush()
    k.state.counters.tlbFlushPage++;
    yield* k.hook(th, P, "pte.after_clear", { mm: mm.id, address: a });
    const to = newAddr + (a - oldAddr);
    mm.ptes[vpn(to)] = pte; // set_pte_at(mm, new_addr, ...)
    if (pte.t === "present" && !pte.special) {
      const page = k.state.pages[pte.pfn];
      const from = pteHolder(mm.id, a);
      const n = page.refs[from];
      if (n) {
        delete page.refs[from];
        page.refs[pteHolder(mm.id, to)] = (page.refs[pteHolder(mm.id, to)] ?? 0) + n;
      }
    }
  }
  if (newPtl !== oldPtl) k.unlock(th, newPtl);
  k.unlock(th, oldPtl);
  if (imm) k.unlock(th, imm);
  yield* k.hook(th, P, "after_unlock", { mm: mm.id, ranges: { extent } });
}

/**
 * `move_page_tables()`: moves `len` bytes of ptes; stops early when a new
 * page table cannot be allocated. Returns how much was moved.
 */
export function* movePageTables(
  k: Kernel,
  th: string,
  mm: Mm,
  vma: Vma,
  oldAddr: number,
  newAddr: number,
  len: number,
): KGen<number> {
  const P = "move_page_tables";
  const oldStart = oldAddr;
  const oldEnd = oldAddr + len;
  yield* k.hook(th, P, "entry", { mm: mm.id, ranges: { old: [oldStart, oldEnd] } });
  let old = oldAddr;
  let dst = newAddr;
  while (old < oldEnd) {
    let next = (Math.floor(old / PMD_SIZE) + 1) * PMD_SIZE;
    if (next > oldEnd) next = oldEnd;
    let extent = next - old;
    const newNext = (Math.floor(dst / PMD_SIZE) + 1) * PMD_SIZE;
    if (extent > newNext - dst) extent = newNext - dst;
    if (ptesIn(mm, old, old + extent).length > 0) {
      // alloc_new_pmd(): pud, pmd and pte table at the destination.
      if (!allocTables(k, mm, dst, P)) break;
      yield* movePtes(k, th, mm, vma, old, old + extent, dst);
    }
    old += extent;
    dst += extent;
  }
  yield* k.hook(th, P, "exit", {
    mm: mm.id,
    ranges: { old: [oldStart, oldEnd], moved: [oldStart, old] },
  });
  return len + old - oldEnd;
}

/**
 * `sys_mremap()` with MREMAP_MAYMOVE|MREMAP_FIXED through `move_vma()`:
 * returns the new address, or a negative errno.
 */
export function* mremapMove(
  k: Kernel,
  th: string,
  mm: Mm,
  oldAddr: number,
  oldLen: number,
  newAddr: number,
): KGen<number> {
  const vma = findVma(mm, oldAddr);
  if (!vma || oldAddr + oldLen > vma.end) return -14; // -EFAULT
  if (newAddr % PAGE_SIZE || oldAddr % PAGE_SIZE) return -22;
  yield* k.lock(th, mmapSemName(mm.id), "rwsem-write");
  // MREMAP_FIXED: do_munmap(mm, new_addr, new_len) first.
  yield* doMunmap(k, th, mm, newAddr, oldLen);
  // copy_vma(): the new vma (vma_merge is not modelled).
  const newVma: Vma = {
    ...vma,
    start: newAddr,
    end: newAddr + oldLen,
    pgoff: vma.pgoff + (oldAddr - vma.start) / PAGE_SIZE,
  };
  mm.vmas.push(newVma);
  sortVmas(mm);
  let result = newAddr;
  let unmapAddr = oldAddr;
  const moved = yield* movePageTables(k, th, mm, vma, oldAddr, newAddr, oldLen);
  yield { thread: th, label: "move_vma:moved" };
  if (moved < oldLen) {
    // On error, move entries back from new area to old, then unmap the new area.
    yield* movePageTables(k, th, mm, newVma, newAddr, oldAddr, moved);
    unmapAddr = newAddr;
    result = -12;
  }
  yield* doMunmap(k, th, mm, unmapAddr, oldLen);
  k.unlock(th, mmapSemName(mm.id));
  return result;
}
