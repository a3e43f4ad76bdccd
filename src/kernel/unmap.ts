/**
 * Unmapping as in 2.6.24: `unmap_vmas` (with the lock-break exit when
 * `i_mmap_lock` is contended), `zap_page_range`, `unmap_mapping_range`
 * (truncate), `unmap_region` (munmap), `__unmap_hugepage_range` and
 * `exit_mmap`, with the mmu_gather that defers page frees to `tlb_finish_mmu`.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { HPAGE_SIZE, PAGE_SIZE, ZAP_BLOCK_PAGES } from "../model/types.ts";
import {
  getPage,
  hasPteTable,
  pteHolder,
  putPage,
  setPte,
  swapCacheSlot,
  vpn,
} from "../model/state.ts";
import { hook, type Kernel, lock } from "./context.ts";
import { call, defPath, go, point, ret } from "./steps.ts";
import {
  anonVmaLock,
  freeFromSwapCache,
  freeSwapAndCache,
  immapName,
  linearIndex,
  pageLocked,
  pageRemoveRmap,
  pageTableLockName,
  pmdAddrEnd,
  ptesIn,
  ptlName,
  rmapWriteKind,
  swapCacheFreeable,
} from "./pgtable.ts";
import { addTo } from "../model/_count.ts";

/** `tlb_gather_mmu()`: thread `th` starts gathering the pages it unmaps from `mm`. */
export function tlbGather(k: Kernel, th: string, mm: string, fullmm = false): void {
  k.gathers[th] = { mm, pages: [], fullmm };
}

/**
 * `tlb_finish_mmu()`: flushes the TLB, then frees the pages thread `th`
 * gathered, each through `free_swap_cache()` first
 * (`free_pages_and_swap_cache()`). `done` ends the gather (its path is
 * through with it); otherwise it goes on empty (`unmap_vmas()` finishes it
 * on a lock break, and its caller again after).
 */
export function tlbFinish(k: Kernel, th: string, done: boolean): void {
  const tlb = k.gathers[th];
  if (tlb.fullmm) addTo(k.state.counters, "tlbFlushMm", 1);
  else addTo(k.state.counters, "tlbFlushRange", 1);
  for (const pfn of tlb.pages) {
    freeSwapCache(k, pfn);
    putPage(k.state, pfn, `mmu_gather:${tlb.mm}`);
  }
  if (done) delete k.gathers[th];
  else tlb.pages = [];
}

/**
 * `free_swap_cache()` of a page a gather holds: when its lock is free
 * ('if (PageSwapCache(page) && !TestSetPageLocked(page))') and no swap pte
 * refers to its slot, it is taken out of the swap cache: the slot is
 * freed, the page dirtied and the cache's reference dropped. Under
 * `kernel.swap_cache` "remove-exclusive" (2.6.24 to 2.6.27),
 * `remove_exclusive_swap_page()` does so only if the gather's and the
 * cache's are its only references ('page_count(page) != 2',
 * 'p->swap_map[swp_offset(entry)] == 1'; v2.6.24 mm/swap_state.c:256-262
 * and mm/swapfile.c:345-385, v2.6.27 mm/swap_state.c:202-208 and
 * mm/swapfile.c:347-387); under "try-to-free" (4.x), `try_to_free_swap()`
 * of a page no pte maps, whatever else holds it ('if (PageSwapCache(page)
 * && !page_mapped(page) && trylock_page(page))', v4.9
 * mm/swap_state.c:242-248; 'if (page_swapcount(page)) return 0;',
 * mm/swapfile.c:958-990). A page reclaim has locked stays in the cache for
 * reclaim to free.
 */
function freeSwapCache(k: Kernel, pfn: number): void {
  const slot = swapCacheSlot(k.state, pfn);
  if (slot === undefined || pageLocked(k, pfn) || k.state.swap[slot].from !== 0) return;
  // The gather holds one reference.
  if (swapCacheFreeable(k, pfn, 1)) freeFromSwapCache(k, slot, pfn);
}

/**
 * `zap_pte_range` for one pte: clears it, moves dirty/young to the page,
 * removes the rmap and hands the pte's reference to the mmu_gather.
 * Returns whether a present pte was zapped (or, for a nonlinear vma, looked
 * at and left).
 *
 * With `details` (truncation), as v2.6.24 mm/memory.c:644-689 does: a page
 * of a nonlinear vma whose file index is before the truncation point stays
 * mapped, and a cleared pte whose page was not at its linear index becomes
 * a file pte of that index; a pte that is not present (a swap or file
 * entry) is left.
 */
export function zapOne(
  k: Kernel,
  mm: Mm,
  addr: number,
  th: string,
  details?: ZapDetails,
): boolean {
  const key = vpn(addr);
  const pte = mm.ptes[key];
  if (!pte) return false;
  if (details && pte.t !== "present") return false;
  const nl = details?.nonlinear;
  const owner = pte.t === "present" && !pte.special ? k.state.pages[pte.pfn].owner : undefined;
  const index = owner?.kind === "file" ? owner.index : undefined;
  // 'if (details->check_mapping && details->check_mapping != page->mapping) continue;'
  // (v2.6.24 mm/memory.c:650-652, v2.6.27 733-735): a private COW copy, or the ZERO_PAGE, stays.
  if (
    details?.checkMapping !== undefined && owner &&
    (owner.kind !== "file" || owner.file !== details.checkMapping)
  ) return true;
  if (nl && index !== undefined && (index < nl.firstIndex || index > (nl.lastIndex ?? Infinity))) {
    return true;
  }
  setPte(mm, key, undefined);
  if (nl && index !== undefined && linearIndex(nl.vma, addr) !== index) {
    // set_pte_at(mm, addr, pte, pgoff_to_pte(page->index)) (mm/memory.c:667-670).
    setPte(mm, key, { t: "file", pgoff: index });
  }
  if (pte.t === "swap") {
    // free_swap_and_cache(pte_to_swp_entry(ptent)) (v2.6.24 mm/memory.c:692).
    freeSwapAndCache(k, pte.slot);
    return false;
  }
  if (pte.t !== "present" || pte.special) return pte.t === "present";
  const page = k.state.pages[pte.pfn];
  // 'if (PageAnon(page)) anon_rss--; else { if (pte_dirty(ptent)) set_page_dirty(page); if
  // (pte_young(ptent)) SetPageReferenced(page); file_rss--; }' (v2.6.24 mm/memory.c:672-680,
  // v2.6.27 755-763): the dirty and young bits go to a file page only.
  if (page.owner.kind === "anon") pageRemoveRmap(k.state, mm, page);
  else if (page.owner.kind !== "zero") {
    pageRemoveRmap(k.state, mm, page, { dirty: pte.dirty, young: pte.young });
  }
  // tlb_remove_page(): the reference moves to the gather until the TLB is flushed.
  getPage(k.state, pte.pfn, `mmu_gather:${mm.id}`);
  putPage(k.state, pte.pfn, pteHolder(mm.id, addr));
  k.gathers[th].pages.push(pte.pfn);
  return true;
}

/**
 * The vma a path copied in an earlier step, as it is now: the vma of `mm`
 * that starts where the copy starts (a vma keeps its start for life), or the
 * copy itself when that vma has left `mm.vmas` since (the walks here go on
 * over a vma list they took before, so a vma detached meanwhile is still
 * visited, with the fields it had).
 */
function vmaNow(mm: Mm | undefined, copy: Vma): Vma {
  return mm?.vmas.find((v) => v.start === copy.start) ?? copy;
}

/** Options of {@link unmapVmas}. */
export interface ZapDetails {
  /** The i_mmap_lock the caller holds (truncate), or undefined. */
  iMmapLock?: string;
  /** Whether `spin_needbreak(i_mmap_lock)` is true after the first block (another CPU waits). */
  contended?: boolean;
  /**
   * `details->nonlinear_vma`: the nonlinear vma being truncated, and the
   * first and last file index truncated (`details->first_index`,
   * `details->last_index`; absent: ULONG_MAX, truncation to the end of the
   * file).
   */
  nonlinear?: { vma: Vma; firstIndex: number; lastIndex?: number };
  /**
   * `details->check_mapping`: the file whose pages alone are zapped
   * (`unmap_mapping_range(..., even_cows = 0)`); absent when every page is.
   */
  checkMapping?: string;
}

/**
 * `unmap_vmas()`: unmaps `[start, end)` in every vma it touches, as v2.6.24
 * mm/memory.c does (`unmap_vmas()` 808-870, `zap_pte_range()` 618-701;
 * v2.6.27 891 and 701). Each page table in the range is zapped under its pte
 * lock, taken once (`pte_offset_map_lock()`, 629): the ptes are read under
 * it, so a pte a fault maps before the lock is taken is zapped, and none is
 * mapped while it is held. A table not allocated is skipped without the lock
 * (`pmd_none_or_clear_bad()`, 714). Every pte that is not none costs a page
 * of the ZAP_BLOCK_SIZE budget (633-638; a none pte costs a byte, which the
 * model leaves out), and a huge page a page (839-843); when a block is spent, the lock is dropped (694-698),
 * the gathered pages are freed and the TLB flushed (`tlb_finish_mmu()`,
 * 853), and with `details.iMmapLock` held and contended the walk stops and
 * returns the restart address (855-860); otherwise it goes on with a new
 * block (864-866). Returns where it stopped.
 *
 * The pages zapped here go to the thread's mmu_gather, which the caller
 * took (`struct mmu_gather **tlbp`; {@link Kernel.gathers}).
 */
export const unmapVmas = defPath<
  { mm: string; start: number; end: number; details?: ZapDetails },
  {
    // requested: the range both hook points pass (one array, as the code passes one)
    requested: [number, number];
    // vmas: copies of mm.vmas as the loop found them (see vmaNow); i: the next one
    vmas: Vma[];
    i: number;
    // work: pages left in the ZAP_BLOCK_SIZE budget
    work: number;
    // addr: the next address to zap in the vma being zapped; vend: where its range ends
    addr?: number;
    vend?: number;
    // stop: the restart address, once the lock break stopped the loop
    stop?: number;
  },
  Kernel
>("unmap_vmas", {
  entry(_k, f) {
    f.v.requested = [f.v.start, f.v.end];
    return hook(
      "unmap_vmas",
      "entry",
      { mm: f.v.mm, ranges: { requested: f.v.requested } },
      "loop",
    );
  },
  loop(k, f) {
    f.v.work = ZAP_BLOCK_PAGES;
    f.v.vmas = k.state.mms[f.v.mm].vmas.map((v) => ({ ...v }));
    f.v.i = 0;
    return go("vma");
  },
  vma(k, f) {
    const mm = k.state.mms[f.v.mm];
    const { start, end } = f.v;
    while (f.v.i < f.v.vmas.length) {
      const vma = vmaNow(mm, f.v.vmas[f.v.i++]);
      if (vma.end <= start || vma.start >= end) continue;
      const s = Math.max(start, vma.start);
      const e = Math.min(end, vma.end);
      if (vma.kind === "hugetlb") {
        const args = { mm: f.v.mm, vma: vma.start, start: s, end: e, file: vma.file };
        // zap_work -= (end - start) / (HPAGE_SIZE / PAGE_SIZE): a page of the budget a huge page.
        f.v.addr = f.v.vend = e;
        f.v.work -= (e - s) / HPAGE_SIZE;
        return call(unmapHugepageRange, args, "blocked");
      }
      f.v.addr = s;
      f.v.vend = e;
      return go("table");
    }
    return go("out");
  },
  table(k, f) {
    const addr = f.v.addr!;
    if (addr >= f.v.vend!) {
      delete f.v.addr;
      delete f.v.vend;
      return go("vma");
    }
    if (!hasPteTable(k.state.mms[f.v.mm], addr)) {
      // pmd_none_or_clear_bad(pmd): no page table here, nothing to lock.
      f.v.addr = pmdAddrEnd(addr, f.v.vend!);
      return go("table");
    }
    // pte_offset_map_lock(mm, pmd, addr, &ptl).
    return lock(ptlName(f.v.mm, addr), "spin", "zap");
  },
  zap(k, f) {
    const mm = k.state.mms[f.v.mm];
    const from = f.v.addr!;
    const to = pmdAddrEnd(from, f.v.vend!);
    // The ptes as they are under the lock: do { ptent = *pte; ... } while (... *zap_work > 0).
    let next = to;
    const budget = k.variants.zap_break === "zap-block";
    for (const addr of ptesIn(mm, from, to)) {
      zapOne(k, mm, addr, f.th, f.v.details);
      if (budget && --f.v.work <= 0) {
        next = addr + PAGE_SIZE;
        break;
      }
    }
    f.v.addr = next;
    k.unlock(f.th, ptlName(mm.id, from));
    return go("blocked");
  },
  // if (zap_work > 0) go on (or break to the next vma); otherwise the block is spent.
  blocked(k, f) {
    // 4.x has no budget (kernel.zap_break "none"): the vma is zapped whole.
    if (f.v.work > 0 || k.variants.zap_break === "none") return go("table");
    // tlb_finish_mmu(*tlbp, tlb_start, start).
    tlbFinish(k, f.th, false);
    const details = f.v.details ?? {};
    if (details.iMmapLock && details.contended) {
      // need_resched() || spin_needbreak(i_mmap_lock) with i_mmap_lock: goto out.
      f.v.stop = f.v.addr;
      return go("out");
    }
    // *tlbp = tlb_gather_mmu(vma->vm_mm, fullmm); zap_work = ZAP_BLOCK_SIZE.
    f.v.work = ZAP_BLOCK_PAGES;
    return go("table");
  },
  out(_k, f) {
    const scope = { mm: f.v.mm, ranges: { requested: f.v.requested } };
    return hook("unmap_vmas", "exit", scope, "exit");
  },
  exit(_k, f) {
    return ret(f.v.stop ?? f.v.end);
  },
});

/**
 * `zap_page_range()`: used by madvise(MADV_DONTNEED) ({@link madviseDontneed},
 * with details for a nonlinear vma) and by `unmap_mapping_range_vma` with
 * `details->i_mmap_lock` held. Returns the
 * address `unmap_vmas` stopped at.
 */
export const zapPageRange = defPath<
  { mm: string; start: number; len: number; details?: ZapDetails },
  {
    // requested, exprs: what both hook points pass (one object each, as the code passes one)
    requested: [number, number];
    exprs: { details_i_mmap_lock: 0 | 1 };
    end: number;
  },
  Kernel
>("zap_page_range", {
  entry(k, f) {
    const { mm, start, len } = f.v;
    f.v.requested = [start, start + len];
    f.v.exprs = { details_i_mmap_lock: f.v.details?.iMmapLock ? 1 : 0 };
    tlbGather(k, f.th, mm);
    const scope = { mm, ranges: { requested: f.v.requested }, exprs: f.v.exprs };
    return hook("zap_page_range", "before_unmap_vmas", scope, "unmap_vmas");
  },
  unmap_vmas(_k, f) {
    const { mm, start, len, details } = f.v;
    return call(
      unmapVmas,
      { mm, start, end: start + len, details },
      "after_unmap_vmas",
      "end",
    );
  },
  after_unmap_vmas(k, f) {
    tlbFinish(k, f.th, true);
    return hook("zap_page_range", "after_tlb_finish", {
      mm: f.v.mm,
      ranges: { requested: f.v.requested, unmapped: [f.v.start, f.v.end] },
      exprs: f.v.exprs,
    }, "after_tlb_finish");
  },
  after_tlb_finish(_k, f) {
    return ret(f.v.end);
  },
});

/**
 * `sys_madvise(start, len, MADV_DONTNEED)` (v2.6.24 and v2.6.27
 * mm/madvise.c:284-358), its caller holding mmap_sem for read: for each vma
 * of the range in turn, `madvise_dontneed()` (lines 150-167) refuses an
 * mlocked, hugetlb or VM_PFNMAP vma with -EINVAL, which ends the call (the
 * vmas before it stay zapped), and otherwise zaps the vma's part of the
 * range with its own `zap_page_range()`: for a nonlinear vma with details
 * (`.nonlinear_vma = vma, .last_index = ULONG_MAX`, lines 157-163), so its
 * file ptes stay and a page not at its linear index leaves a file pte, as
 * {@link zapOne} does. A hole in the range gives -ENOMEM once the rest is
 * done (lines 326-336). Returns 0 or the negative errno.
 */
export const madviseDontneed = defPath<
  { mm: string; start: number; len: number },
  // at: the next address of the range; unmapped: a hole was met (-ENOMEM at the end)
  { at: number; unmapped: boolean },
  Kernel
>("madvise_dontneed", {
  entry(_k, f) {
    f.v.at = f.v.start;
    f.v.unmapped = false;
    return go("vma");
  },
  vma(k, f) {
    const end = f.v.start + f.v.len;
    const vma = k.state.mms[f.v.mm].vmas.find((v) => v.end > f.v.at);
    if (!vma) return ret(-12); // -ENOMEM
    if (f.v.at < vma.start) {
      f.v.unmapped = true;
      f.v.at = vma.start;
      if (f.v.at >= end) return ret(-12);
    }
    if (vma.locked || vma.kind === "hugetlb" || vma.kind === "pfnmap") return ret(-22); // -EINVAL
    const to = Math.min(end, vma.end);
    const start = f.v.at;
    f.v.at = to;
    // A copy: the frame must not share the mm's vma, which a copy of the run would freeze.
    const details: ZapDetails | undefined = vma.nonlinear
      ? { nonlinear: { vma: { ...vma }, firstIndex: 0 } }
      : undefined;
    return call(zapPageRange, { mm: f.v.mm, start, len: to - start, details }, "zapped");
  },
  zapped(_k, f) {
    if (f.v.at >= f.v.start + f.v.len) return ret(f.v.unmapped ? -12 : 0);
    return go("vma");
  },
});

/** `is_restart_addr()` (v2.6.24 mm/memory.c:1731): a page-aligned `vm_truncate_count` is a restart address. */
function isRestartAddr(count: number): boolean {
  return count % PAGE_SIZE === 0;
}

/**
 * `unmap_mapping_range()` as truncate uses it (v2.6.24 mm/memory.c:1861-1897;
 * v2.6.27 2122-2158): under the file's i_mmap_lock it bumps
 * `mapping->truncate_count`, then calls `unmap_mapping_range_vma()` for
 * every linear vma mapping the range (`unmap_mapping_range_tree()`, lines
 * 1792-1822), then for every nonlinear vma of the file, the whole vma, with
 * each page's index checked (`unmap_mapping_range_list()`, lines 1824-1845).
 *
 * Each walk skips the vmas whose `vm_truncate_count` is this call's count
 * (done). `unmap_mapping_range_vma()` (lines 1744-1790) starts a vma at the
 * restart address noted in its count, if any; when the vma is done it notes
 * the count, otherwise the address `zap_page_range()` stopped at; and when
 * the lock is contended it drops it, reschedules, retakes it and the walk
 * starts again from the first vma. A vma linked while the lock was dropped
 * is visited then: a child's at fork, which `dup_mmap()` links under the
 * lock with its parent's `vm_truncate_count` (kernel/fork.c:274-279), is
 * skipped when its parent was done, started at its parent's restart
 * address, or visited whole, as its parent would be.
 *
 * Where the model differs: it visits the vmas mm by mm, each mm's in
 * address order, where the kernel walks the mapping's prio tree
 * (`vma_prio_tree_foreach()`, line 1800); a contended lock is dropped once
 * (`spin_needbreak()` is true until the first break, then false); and the
 * wrap of `truncate_count` to 0, which resets every vma's count
 * (`reset_vma_truncate_counts()`, lines 1733-1742), is never reached.
 */
export const unmapMappingRange = defPath<
  {
    file: string;
    firstIndex: number;
    contended: boolean;
    /** `details.last_index`: the last file page unmapped; absent, to the end of the file. */
    lastIndex?: number;
    /** `even_cows`: whether private COW copies are unmapped too; absent, they are (truncate's 1). */
    evenCows?: boolean;
  },
  {
    contend: boolean;
    // tc: details->truncate_count, this call's mapping->truncate_count
    tc: number;
    // list: the walk is over the nonlinear vmas (i_mmap_nonlinear), after the linear ones
    list: boolean;
    // the vma being unmapped: its mm and vm_start (the mm's own record is looked up at each step)
    mm: string;
    at: number;
    // the vma's range still to zap, and where zap_page_range stopped
    s: number;
    vEnd: number;
    restart: number;
  },
  Kernel
>("unmap_mapping_range", {
  entry(k, f) {
    return lock(immapName(f.v.file), rmapWriteKind(k), "locked");
  },
  locked(k, f) {
    const file = k.state.files[f.v.file];
    // Protect against endless unmapping loops: never a restart address.
    let tc = (file.truncateCount ?? 0) + 1;
    if (isRestartAddr(tc)) tc++;
    file.truncateCount = f.v.tc = tc;
    // 4.x never breaks the lock (kernel.zap_break "none").
    f.v.contend = f.v.contended && k.variants.zap_break === "zap-block";
    f.v.list = false;
    return go("walk");
  },
  walk(k, f) {
    const { file, firstIndex, tc } = f.v;
    const lastIndex = f.v.lastIndex ?? Infinity;
    // restart: vma_prio_tree_foreach() (or list_for_each_entry()) from the first vma.
    for (const mm of Object.values(k.state.mms)) {
      for (const vma of mm.vmas) {
        if (vma.file !== file || vma.nonlinear !== f.v.list) continue;
        // Skip quickly over those we have already dealt with.
        if ((vma.truncateCount ?? 0) === tc) continue;
        // vma_prio_tree_foreach(vma, &iter, root, details->first_index, details->last_index)
        // finds only the linear vmas whose pages [vba, vea] meet the range (line 1800;
        // v2.6.27 2061).
        const vea = vma.pgoff + (vma.end - vma.start) / PAGE_SIZE - 1;
        if (!f.v.list && (vea < firstIndex || vma.pgoff > lastIndex)) continue;
        f.v.mm = mm.id;
        f.v.at = vma.start;
        // zea = min(details->last_index, vea) (lines 1812-1814; v2.6.27 2073-2075).
        f.v.vEnd = f.v.list
          ? vma.end
          : vma.start + (Math.min(lastIndex, vea) - vma.pgoff + 1) * PAGE_SIZE;
        // A nonlinear vma has no correspondence between address and file offset: all of it.
        f.v.s = f.v.list
          ? vma.start
          : Math.max(vma.start, vma.start + (firstIndex - vma.pgoff) * PAGE_SIZE);
        return go("again");
      }
    }
    if (!f.v.list) {
      f.v.list = true;
      return go("walk");
    }
    k.unlock(f.th, immapName(file));
    return ret();
  },
  again(k, f) {
    const vma = vmaAtStart(k, f.v.mm, f.v.at);
    if (!vma) return go("walk");
    const restart = vma.truncateCount ?? 0;
    if (isRestartAddr(restart) && f.v.s < restart) {
      f.v.s = restart;
      if (f.v.s >= f.v.vEnd) {
        // Top of vma has been split off since last time.
        vma.truncateCount = f.v.tc;
        return go("walk");
      }
    }
    const details: ZapDetails = { iMmapLock: immapName(f.v.file), contended: f.v.contend };
    // details.check_mapping = even_cows ? NULL : mapping (line 1876; v2.6.27 2137).
    if (f.v.evenCows === false) details.checkMapping = f.v.file;
    // A copy: the frame must not share the mm's vma, which a copy of the run would freeze.
    if (f.v.list) {
      details.nonlinear = { vma: { ...vma }, firstIndex: f.v.firstIndex };
      if (f.v.lastIndex !== undefined) details.nonlinear.lastIndex = f.v.lastIndex;
    }
    return call(
      zapPageRange,
      { mm: f.v.mm, start: f.v.s, len: f.v.vEnd - f.v.s, details },
      "zapped",
      "restart",
    );
  },
  zapped(k, f) {
    const vma = vmaAtStart(k, f.v.mm, f.v.at);
    const needBreak = f.v.contend;
    if (!vma) {
      // Gone meanwhile: nothing of it is left. (munmap and exit take a file vma out under
      // i_mmap_lock, in free_pgtables(), and the lock is still held here.)
      if (!needBreak) return go("walk");
    } else if (f.v.restart >= f.v.vEnd) {
      // We have now completed this vma: mark it so.
      vma.truncateCount = f.v.tc;
      if (!needBreak) return go("walk");
    } else {
      // Note restart_addr in vma's truncate_count field.
      vma.truncateCount = f.v.restart;
      if (!needBreak) return go("again");
    }
    // spin_unlock(i_mmap_lock); cond_resched(); spin_lock(i_mmap_lock); return -EINTR.
    f.v.contend = false;
    k.unlock(f.th, immapName(f.v.file));
    return point("unmap_mapping_range:lock_break", "lock_break");
  },
  lock_break(k, f) {
    return lock(immapName(f.v.file), rmapWriteKind(k), "relocked");
  },
  // -EINTR: goto restart.
  relocked: () => go("walk"),
});

/** The vma of mm `mm` (gone when a failed fork's child was freed) that starts at `start`. */
function vmaAtStart(k: Kernel, mm: string, start: number): Vma | undefined {
  return k.state.mms[mm]?.vmas.find((v) => v.start === start);
}

/**
 * `unmap_region()`: munmap's teardown of `[start, end)` (v2.6.24
 * mm/mmap.c:1734-1750; v2.6.27 1763-1779): `unmap_vmas()`, then
 * {@link freePgtables}, then `tlb_finish_mmu()`.
 */
export const unmapRegion = defPath<
  { mm: string; start: number; end: number },
  // region: the range both hook points pass (one array, as the code passes one)
  { region: [number, number] },
  Kernel
>("unmap_region", {
  entry(k, f) {
    f.v.region = [f.v.start, f.v.end];
    tlbGather(k, f.th, f.v.mm);
    const scope = { mm: f.v.mm, ranges: { region: f.v.region } };
    return hook("unmap_region", "before_unmap_vmas", scope, "unmap_vmas");
  },
  unmap_vmas(_k, f) {
    const { mm, start, end } = f.v;
    return call(unmapVmas, { mm, start, end }, "after_unmap_vmas");
  },
  after_unmap_vmas(_k, f) {
    const { mm, start, end } = f.v;
    return call(freePgtables, { mm, start, end }, "freed");
  },
  freed(k, f) {
    tlbFinish(k, f.th, true);
    const scope = { mm: f.v.mm, ranges: { region: f.v.region } };
    return hook("unmap_region", "after_tlb_finish", scope, "after_tlb_finish");
  },
  after_tlb_finish() {
    return ret();
  },
});

/**
 * `free_pgtables()` over the vmas of `[start, end)` of mm `mm` (v2.6.24
 * mm/memory.c:264-296; v2.6.27 277-309), which munmap has detached from the
 * mm's list and exit takes whole. For each vma, in address order, it first
 * hides the vma "from rmap and vmtruncate before freeing pgtables" (lines
 * 272-275): `anon_vma_unlink(vma); unlink_file_vma(vma);`, and
 * `unlink_file_vma()` takes the file's `i_mmap_lock` to take the vma out of
 * the mapping's prio tree (v2.6.24 mm/mmap.c:207-217; v2.6.27 215-225), so
 * it waits for a truncation or a reverse-map walk that holds the lock. Then
 * `free_pgd_range()` frees the page-table pages of the range that lie
 * between the vma before it and the vma after (its `floor` and `ceiling`):
 * in the model, every table overlapping the range that no vma left overlaps.
 *
 * The model's one vma list, `mm.vmas`, stands for both the mm's list and
 * the prio trees and anon_vma lists the reverse map and truncation walk:
 * the vma leaves it here, where it leaves the prio tree (mmap_sem, which
 * munmap holds for write, keeps the mm's own readers out until then).
 * `anon_vma_unlink()` takes `anon_vma->lock` first (v2.6.24 mm/rmap.c:122-135):
 * a vma with an anon_vma and no file leaves the list under that lock, one
 * with both under `i_mmap_lock` after it (its ptes are gone by then, so an
 * anonymous reverse-map walk that still meets it finds nothing), one with
 * neither at once. The 2.5.42 tree's
 * `do_munmap()` reaches this path too; there the vma leaves the file's
 * `i_mmap` list only after `unmap_region()` (`unmap_vma_list()`), which no
 * scenario of that tree races with.
 */
export const freePgtables = defPath<
  { mm: string; start: number; end: number },
  // at: the start of the next vma to hide (a vma keeps its start for life)
  { at: number },
  Kernel
>("free_pgtables", {
  entry(_k, f) {
    f.v.at = f.v.start;
    return go("next");
  },
  next(k, f) {
    const mm = k.state.mms[f.v.mm];
    const vma = mm.vmas.find((v) => v.start >= f.v.at && v.start < f.v.end);
    if (!vma) {
      freeTables(k, mm, f.v.start, f.v.end);
      return ret();
    }
    f.v.at = vma.start;
    // anon_vma_unlink(): 'spin_lock(&anon_vma->lock);'.
    if (vma.anonVma) return lock(anonVmaLock(vma.anonVma), rmapWriteKind(k), "anon_vma_unlink");
    return go("unlink_file_vma");
  },
  anon_vma_unlink(k, f) {
    const mm = k.state.mms[f.v.mm];
    const vma = mm.vmas.find((v) => v.start === f.v.at)!;
    // The model's one list: a vma without a file leaves it here, under the anon_vma's lock.
    if (vma.file === undefined) detach(mm, vma, f.v);
    k.unlock(f.th, anonVmaLock(vma.anonVma as string));
    return go(vma.file === undefined ? "next" : "unlink_file_vma");
  },
  unlink_file_vma(k, f) {
    const vma = k.state.mms[f.v.mm].vmas.find((v) => v.start === f.v.at)!;
    // unlink_file_vma(): spin_lock(&mapping->i_mmap_lock).
    if (vma.file !== undefined) return lock(immapName(vma.file), rmapWriteKind(k), "unlink");
    return go("unlink");
  },
  unlink(k, f) {
    const mm = k.state.mms[f.v.mm];
    const vma = mm.vmas.find((v) => v.start === f.v.at)!;
    detach(mm, vma, f.v);
    if (vma.file !== undefined) k.unlock(f.th, immapName(vma.file));
    return go("next");
  },
});

/** Takes `vma` out of `mm`'s list, and moves a {@link freePgtables} walk's place past it. */
function detach(mm: Mm, vma: Vma, v: { at: number }): void {
  mm.vmas = mm.vmas.filter((x) => x !== vma);
  v.at = vma.end;
}

/**
 * `free_pgd_range()` as {@link freePgtables} calls it: frees every page-table
 * page overlapping `[start, end)` that no vma of `mm` overlaps.
 */
function freeTables(k: Kernel, mm: Mm, start: number, end: number): void {
  for (const level of ["pte", "pmd", "pud"] as const) {
    const span = level === "pte" ? 0x200000 : level === "pmd" ? 0x40000000 : 0x8000000000;
    for (const key of Object.keys(mm.tables[level])) {
      const i = Number(key);
      const lo = i * span;
      const hi = lo + span;
      if (hi <= start || lo >= end) continue;
      if (!mm.vmas.some((v) => v.start < hi && v.end > lo)) {
        delete mm.tables[level][i];
        addTo(k.state.counters, "tablesFreed", 1);
      }
    }
  }
}

/**
 * `unmap_hugepage_range()` / `__unmap_hugepage_range()`: with the file's
 * i_mmap_lock held, clears the huge ptes under page_table_lock, flushes the
 * TLB range, then drops the page references.
 *
 * `file` is the vma's file; a caller passes it when the vma it walks may have
 * left `mm.vmas` since its walk found it (otherwise it is the file of the vma
 * of `mm` that starts at `vma`).
 */
export const unmapHugepageRange = defPath<
  { mm: string; vma: number; start: number; end: number; file?: string },
  {
    lock: string;
    outer: boolean;
    // requested: the range both hook points pass (one array, as the code passes one)
    requested: [number, number];
    pages: { pfn: number; addr: number }[];
  },
  Kernel
>("__unmap_hugepage_range", {
  entry(k, f) {
    const file = f.v.file ?? k.state.mms[f.v.mm].vmas.find((v) => v.start === f.v.vma)!.file;
    f.v.lock = immapName(file!);
    f.v.outer = k.holds(f.th, f.v.lock);
    // spin_lock(&vma->vm_file->f_mapping->i_mmap_lock) (v2.6.27 mm/hugetlb.c:1739),
    // i_mmap_lock_write() (v4.9 mm/memory.c:1339): kernel.rmap_lock.
    if (!f.v.outer) return lock(f.v.lock, rmapWriteKind(k), "i_mmap_locked");
    return go("i_mmap_locked");
  },
  i_mmap_locked(_k, f) {
    f.v.requested = [f.v.start, f.v.end];
    const scope = { mm: f.v.mm, ranges: { requested: f.v.requested } };
    return hook("__unmap_hugepage_range", "before_lock", scope, "before_lock");
  },
  before_lock(_k, f) {
    return lock(pageTableLockName(f.v.mm), "spin", "locked");
  },
  locked(k, f) {
    const mm = k.state.mms[f.v.mm];
    const { start, end } = f.v;
    const pages: { pfn: number; addr: number }[] = [];
    for (let a = start - (start % HPAGE_SIZE); a < end; a += HPAGE_SIZE) {
      const pte = mm.ptes[vpn(a)];
      if (!pte || pte.t !== "present") continue;
      setPte(mm, vpn(a), undefined);
      // `__unmap_hugepage_range()` moves only the dirty bit and counts every page it unmaps
      // as file rss, whatever its kind. No ZERO_PAGE test, as before.
      pageRemoveRmap(k.state, mm, k.state.pages[pte.pfn], { dirty: pte.dirty, rss: "file" });
      pages.push({ pfn: pte.pfn, addr: a });
    }
    f.v.pages = pages;
    k.unlock(f.th, pageTableLockName(mm.id));
    addTo(k.state.counters, "tlbFlushRange", 1);
    const scope = { mm: f.v.mm, ranges: { requested: f.v.requested } };
    return hook("__unmap_hugepage_range", "after_flush", scope, "after_flush");
  },
  after_flush(k, f) {
    for (const p of f.v.pages) putPage(k.state, p.pfn, pteHolder(f.v.mm, p.addr));
    if (!f.v.outer) k.unlock(f.th, f.v.lock);
    return ret();
  },
});

/**
 * `exit_mmap()`: the mm's last user has gone; unmaps everything with a
 * full-mm gather, frees the page tables and the vmas ({@link freePgtables}
 * over the whole mm, v2.6.24 mm/mmap.c:2044, v2.6.27 2078).
 */
export const exitMmap = defPath<
  { mm: string },
  // all: the range unmap_vmas and the after_tlb_finish hook are given
  { all: [number, number] },
  Kernel
>("exit_mmap", {
  entry(_k, f) {
    return hook("exit_mmap", "entry", { mm: f.v.mm }, "unmap_vmas");
  },
  unmap_vmas(k, f) {
    tlbGather(k, f.th, f.v.mm, true);
    f.v.all = [0, 2 ** 47];
    const { mm, all } = f.v;
    return call(unmapVmas, { mm, start: all[0], end: all[1] }, "after_unmap_vmas");
  },
  after_unmap_vmas(_k, f) {
    const { mm, all } = f.v;
    return call(freePgtables, { mm, start: all[0], end: all[1] }, "freed");
  },
  freed(k, f) {
    tlbFinish(k, f.th, true);
    return hook(
      "exit_mmap",
      "after_tlb_finish",
      { mm: f.v.mm, ranges: { all: f.v.all } },
      "after_tlb_finish",
    );
  },
  after_tlb_finish(k, f) {
    k.state.mms[f.v.mm].exited = true;
    return ret();
  },
});

/**
 * `hugetlb_vmtruncate()`: under the file's i_mmap_lock, `__unmap_hugepage_range`
 * for every vma mapping the file from huge page `firstIndex` on
 * (`hugetlb_vmtruncate_list()`, v2.6.24 fs/hugetlbfs/inode.c:424-446; there
 * is no lock break). The kernel visits the vmas in the order of the
 * mapping's prio tree (line 429), the model mm by mm, in sorted order, and
 * each mm's in address order.
 */
export const hugetlbVmtruncate = defPath<
  { file: string; firstIndex: number },
  {
    // mms: the mms the loop visits (ids, sorted); mi: the next one
    mms: string[];
    mi: number;
    // vmas: copies of the current mm's vma list as the loop found it (see vmaNow); vi: the next one
    vmas: Vma[];
    vi: number;
  },
  Kernel
>("hugetlb_vmtruncate", {
  entry(k, f) {
    return lock(immapName(f.v.file), rmapWriteKind(k), "locked");
  },
  locked(k, f) {
    f.v.mms = Object.keys(k.state.mms).sort();
    f.v.mi = 0;
    return go("mm");
  },
  mm(k, f) {
    if (f.v.mi >= f.v.mms.length) {
      k.unlock(f.th, immapName(f.v.file));
      return ret();
    }
    f.v.vmas = k.state.mms[f.v.mms[f.v.mi]].vmas.map((v) => ({ ...v }));
    f.v.vi = 0;
    return go("vma");
  },
  vma(k, f) {
    const { file, firstIndex } = f.v;
    const id = f.v.mms[f.v.mi];
    const mm = k.state.mms[id];
    while (f.v.vi < f.v.vmas.length) {
      const vma = vmaNow(mm, f.v.vmas[f.v.vi++]);
      if (vma.file !== file) continue;
      const start = Math.max(vma.start, vma.start + (firstIndex - vma.pgoff) * HPAGE_SIZE);
      if (start < vma.end) {
        return call(
          unmapHugepageRange,
          { mm: id, vma: vma.start, start, end: vma.end, file },
          "vma",
        );
      }
    }
    f.v.mi++;
    return go("mm");
  },
});
