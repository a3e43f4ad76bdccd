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
import { getPage, pteHolder, putPage, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import { immapName, pageTableLockName, ptesIn, ptlName } from "./pgtable.ts";

/** The mmu_gather: pages whose last pte reference is dropped at `tlb_finish_mmu`. */
export interface Gather {
  mm: string;
  pages: number[];
  fullmm: boolean;
}

/** `tlb_gather_mmu()`. */
export function tlbGather(mm: string, fullmm = false): Gather {
  return { mm, pages: [], fullmm };
}

/** `tlb_finish_mmu()`: flushes the TLB, then frees the gathered pages. */
export function tlbFinish(k: Kernel, tlb: Gather): void {
  if (tlb.fullmm) k.state.counters.tlbFlushMm++;
  else k.state.counters.tlbFlushRange++;
  for (const pfn of tlb.pages) putPage(k.state, pfn, `mmu_gather:${tlb.mm}`);
  tlb.pages = [];
}

/**
 * `zap_pte_range` for one pte: clears it, moves dirty/young to the page,
 * removes the rmap and hands the pte's reference to the mmu_gather.
 * Returns whether a present pte was zapped.
 */
export function zapOne(k: Kernel, mm: Mm, addr: number, tlb: Gather): boolean {
  const key = vpn(addr);
  const pte = mm.ptes[key];
  if (!pte) return false;
  delete mm.ptes[key];
  if (pte.t === "swap") {
    const s = k.state.swap[pte.slot];
    if (s && --s.from <= 0) delete k.state.swap[pte.slot];
    return false;
  }
  if (pte.t !== "present" || pte.special) return pte.t === "present";
  const page = k.state.pages[pte.pfn];
  if (page.owner.kind !== "zero") {
    if (pte.dirty) page.dirty = true;
    if (pte.young) page.referenced = true;
    page.mapcount--;
    if (page.owner.kind === "anon") mm.rss.anon--;
    else mm.rss.file--;
  }
  // tlb_remove_page(): the reference moves to the gather until the TLB is flushed.
  getPage(k.state, pte.pfn, `mmu_gather:${mm.id}`);
  putPage(k.state, pte.pfn, pteHolder(mm.id, addr));
  tlb.pages.push(pte.pfn);
  return true;
}

/** Options of {@link unmapVmas}. */
export interface ZapDetails {
  /** The i_mmap_lock the caller holds (truncate), or undefined. */
  iMmapLock?: string;
  /** Whether `spin_needbreak(i_mmap_lock)` is true after the first block (another CPU waits). */
  contended?: boolean;
}

/**
 * `unmap_vmas()`: unmaps `[start, end)` in every vma it touches. With
 * `details.iMmapLock` held and contended, it stops after one ZAP_BLOCK_SIZE
 * of work and returns the restart address. Returns where it stopped.
 */
export function* unmapVmas(
  k: Kernel,
  th: string,
  mm: Mm,
  tlb: Gather,
  start: number,
  end: number,
  details: ZapDetails = {},
): KGen<number> {
  const P = "unmap_vmas";
  const requested: [number, number] = [start, end];
  yield* k.hook(th, P, "entry", { mm: mm.id, ranges: { requested } });
  let pos = start;
  let work = ZAP_BLOCK_PAGES;
  let stopped = false;
  for (const vma of [...mm.vmas]) {
    if (vma.end <= start || vma.start >= end || stopped) continue;
    const s = Math.max(start, vma.start);
    const e = Math.min(end, vma.end);
    if (vma.kind === "hugetlb") {
      yield* unmapHugepageRange(k, th, mm, vma, s, e);
      pos = e;
      continue;
    }
    pos = s;
    for (const addr of ptesIn(mm, s, e)) {
      const ptl = ptlName(mm.id, addr);
      yield* k.lock(th, ptl, "spin");
      if (zapOne(k, mm, addr, tlb)) work--;
      k.unlock(th, ptl);
      pos = addr + PAGE_SIZE;
      if (work <= 0 && details.iMmapLock && details.contended) {
        // need_resched() || spin_needbreak(i_mmap_lock) with i_mmap_lock: goto out.
        tlbFinish(k, tlb);
        stopped = true;
        break;
      }
    }
    if (!stopped) pos = e;
  }
  yield* k.hook(th, P, "exit", { mm: mm.id, ranges: { requested } });
  return stopped ? pos : end;
}

/**
 * `zap_page_range()`: used by madvise(MADV_DONTNEED) without details and by
 * `unmap_mapping_range_vma` with `details->i_mmap_lock` held. Returns the
 * address `unmap_vmas` stopped at.
 */
export function* zapPageRange(
  k: Kernel,
  th: string,
  mm: Mm,
  start: number,
  size: number,
  details?: ZapDetails,
): KGen<number> {
  const P = "zap_page_range";
  const requested: [number, number] = [start, start + size];
  const exprs = { details_i_mmap_lock: details?.iMmapLock ? 1 as const : 0 as const };
  const tlb = tlbGather(mm.id);
  yield* k.hook(th, P, "before_unmap_vmas", { mm: mm.id, ranges: { requested }, exprs });
  const end = yield* unmapVmas(k, th, mm, tlb, start, start + size, details);
  tlbFinish(k, tlb);
  yield* k.hook(th, P, "after_tlb_finish", {
    mm: mm.id,
    ranges: { requested, unmapped: [start, end] },
    exprs,
  });
  return end;
}

/**
 * `unmap_mapping_range()` as truncate uses it: under the file's i_mmap_lock,
 * `unmap_mapping_range_vma` for every vma mapping the range; when the lock
 * is contended it drops it and restarts from the recorded restart address.
 */
export function* unmapMappingRange(
  k: Kernel,
  th: string,
  file: string,
  firstIndex: number,
  contended: boolean,
): KGen {
  const lock = immapName(file);
  yield* k.lock(th, lock, "spin");
  let contend = contended;
  for (const mm of Object.values(k.state.mms)) {
    for (const vma of mm.vmas) {
      if (vma.file !== file || vma.nonlinear) continue;
      const vEnd = vma.start + (vma.end - vma.start);
      let s = Math.max(vma.start, vma.start + (firstIndex - vma.pgoff) * PAGE_SIZE);
      while (s < vEnd) {
        const restart: number = yield* zapPageRange(k, th, mm, s, vEnd - s, {
          iMmapLock: lock,
          contended: contend,
        });
        if (restart >= vEnd) break;
        // Note restart_addr; drop i_mmap_lock, cond_resched(), retake it, restart.
        contend = false;
        k.unlock(th, lock);
        yield { thread: th, label: "unmap_mapping_range:lock_break" };
        yield* k.lock(th, lock, "spin");
        s = restart;
      }
    }
  }
  k.unlock(th, lock);
}

/** `unmap_region()`: munmap's teardown of `[start, end)`. */
export function* unmapRegion(k: Kernel, th: string, mm: Mm, start: number, end: number): KGen {
  const P = "unmap_region";
  const region: [number, number] = [start, end];
  const tlb = tlbGather(mm.id);
  yield* k.hook(th, P, "before_unmap_vmas", { mm: mm.id, ranges: { region } });
  yield* unmapVmas(k, th, mm, tlb, start, end);
  freePgtables(k, mm, start, end);
  tlbFinish(k, tlb);
  yield* k.hook(th, P, "after_tlb_finish", { mm: mm.id, ranges: { region } });
}

/** `free_pgtables()`: frees page-table pages no vma needs any more. */
export function freePgtables(k: Kernel, mm: Mm, _start: number, _end: number): void {
  for (const level of ["pte", "pmd", "pud"] as const) {
    const span = level === "pte" ? 0x200000 : level === "pmd" ? 0x40000000 : 0x8000000000;
    for (const key of Object.keys(mm.tables[level])) {
      const i = Number(key);
      const lo = i * span;
      const hi = lo + span;
      if (!mm.vmas.some((v) => v.start < hi && v.end > lo)) {
        delete mm.tables[level][i];
        k.state.counters.tablesFreed++;
      }
    }
  }
}

/**
 * `unmap_hugepage_range()` / `__unmap_hugepage_range()`: with the file's
 * i_mmap_lock held, clears the huge ptes under page_table_lock, flushes the
 * TLB range, then drops the page references.
 */
export function* unmapHugepageRange(
  k: Kernel,
  th: string,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
): KGen {
  const P = "__unmap_hugepage_range";
  const lock = immapName(vma.file!);
  const outer = k.holds(th, lock);
  if (!outer) yield* k.lock(th, lock, "spin");
  const requested: [number, number] = [start, end];
  yield* k.hook(th, P, "before_lock", { mm: mm.id, ranges: { requested } });
  yield* k.lock(th, pageTableLockName(mm.id), "spin");
  const pages: { pfn: number; addr: number }[] = [];
  for (let a = start - (start % HPAGE_SIZE); a < end; a += HPAGE_SIZE) {
    const pte = mm.ptes[vpn(a)];
    if (!pte || pte.t !== "present") continue;
    delete mm.ptes[vpn(a)];
    const page = k.state.pages[pte.pfn];
    if (pte.dirty) page.dirty = true;
    page.mapcount--;
    mm.rss.file--;
    pages.push({ pfn: pte.pfn, addr: a });
  }
  k.unlock(th, pageTableLockName(mm.id));
  k.state.counters.tlbFlushRange++;
  yield* k.hook(th, P, "after_flush", { mm: mm.id, ranges: { requested } });
  for (const p of pages) putPage(k.state, p.pfn, pteHolder(mm.id, p.addr));
  if (!outer) k.unlock(th, lock);
}

/**
 * `exit_mmap()`: the mm's last user has gone; unmaps everything with a
 * full-mm gather, frees the page tables and the vmas.
 */
export function* exitMmap(k: Kernel, th: string, mm: Mm): KGen {
  const P = "exit_mmap";
  yield* k.hook(th, P, "entry", { mm: mm.id });
  const tlb = tlbGather(mm.id, true);
  const all: [number, number] = [0, 2 ** 47];
  yield* unmapVmas(k, th, mm, tlb, all[0], all[1]);
  mm.vmas = [];
  freePgtables(k, mm, all[0], all[1]);
  tlbFinish(k, tlb);
  yield* k.hook(th, P, "after_tlb_finish", { mm: mm.id, ranges: { all } });
  mm.exited = true;
}

/**
 * `hugetlb_vmtruncate()`: under the file's i_mmap_lock, `__unmap_hugepage_range`
 * for every vma mapping the file from huge page `firstIndex` on.
 */
export function* hugetlbVmtruncate(k: Kernel, th: string, file: string, firstIndex: number): KGen {
  const lock = immapName(file);
  yield* k.lock(th, lock, "spin");
  for (const id of Object.keys(k.state.mms).sort()) {
    const mm = k.state.mms[id];
    for (const vma of mm.vmas) {
      if (vma.file !== file) continue;
      const start = Math.max(vma.start, vma.start + (firstIndex - vma.pgoff) * HPAGE_SIZE);
      if (start < vma.end) yield* unmapHugepageRange(k, th, mm, vma, start, vma.end);
    }
  }
  k.unlock(th, lock);
}
