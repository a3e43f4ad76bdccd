/**
 * Reclaim and writeback of one page as in 2.6.24 mm/vmscan.c
 * `shrink_page_list` and mm/rmap.c: `page_referenced_one`,
 * `try_to_unmap_one`, `try_to_unmap_cluster` and `page_mkclean_one`,
 * each walking the reverse map under the anon_vma lock or i_mmap_lock
 * (spinlocks up to 2.6.27, read-held rwsems in 4.x: the revision's
 * `kernel.rmap_lock`). The 4.x walks also reach the hook points after
 * `pte_unmap_unlock` where v4.9 calls `mmu_notifier_invalidate_page()`.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import {
  findVma,
  getPage,
  hasPteTable,
  pageCount,
  type PresentPte,
  pteHolder,
  putPage,
  setPte,
  SWAP_CACHE,
  swapCacheSlot,
  updatePage,
  updatePte,
  vpn,
} from "../model/state.ts";
import { hook, type Kernel, lock } from "./context.ts";
import { call, defPath, go, point, ret } from "./steps.ts";
import {
  anonVmaLock,
  clearFlush,
  deleteFromSwapCache,
  immapName,
  pageLockName,
  pageRemoveRmap,
  ptlName,
  rmapReadKind,
} from "./pgtable.ts";
import { linearIndex } from "./fault.ts";
import { addTo } from "../model/_count.ts";

/** Pages a nonlinear vma is unmapped by at a time (`CLUSTER_SIZE`). */
const CLUSTER_PAGES = 32;

/**
 * One mapping of a page found by the reverse-map walk, by value: the mm by
 * id, and a copy of the vma as the walk found it. The walk's users read
 * `locked` and `shared` from it, which no vma ever changes, so the copy says
 * what the vma says; `try_to_unmap_cluster` looks the vma up again for its
 * end (see {@link vmaNow}).
 */
interface RmapHit {
  mm: string;
  vma: Vma;
  addr: number;
}

/** The reverse-map walk: every pte mapping `pfn` (linear vmas) and the nonlinear vmas of its file. */
function rmapWalk(k: Kernel, pfn: number): { linear: RmapHit[]; nonlinear: RmapHit[] } {
  const linear: RmapHit[] = [];
  const nonlinear: RmapHit[] = [];
  const page = k.state.pages[pfn];
  for (const mm of Object.values(k.state.mms)) {
    for (const vma of mm.vmas) {
      if (vma.nonlinear) {
        if (page.owner.kind === "file" && vma.file === page.owner.file) {
          nonlinear.push({ mm: mm.id, vma: { ...vma }, addr: vma.start });
        }
        continue;
      }
      for (const key in mm.ptes) {
        const addr = Number(key) * PAGE_SIZE;
        if (addr < vma.start || addr >= vma.end) continue;
        const pte = mm.ptes[Number(key)];
        if (pte.t === "present" && pte.pfn === pfn && !pte.special) {
          linear.push({ mm: mm.id, vma: { ...vma }, addr });
        }
      }
    }
  }
  return { linear, nonlinear };
}

/**
 * The vma a path copied in an earlier step, as it is now: the vma of `mm`
 * that starts where the copy starts (a vma keeps its start for life), or the
 * copy itself when that vma has left `mm.vmas` since (the walk's result is
 * used as it was found, a vma detached meanwhile included).
 */
function vmaNow(mm: Mm | undefined, copy: Vma): Vma {
  return mm?.vmas.find((v) => v.start === copy.start) ?? copy;
}

/**
 * The lock that protects the reverse map of a page: its mapping's
 * `i_mmap_lock`, or its anon_vma's lock (`page_lock_anon_vma()`, v2.6.24
 * mm/rmap.c:159-172), which one anon_vma's pages share; a page of the
 * 2.5.42 tree, which has no anon_vma, by its pfn.
 */
function rmapLock(k: Kernel, pfn: number): string {
  const o = k.state.pages[pfn].owner;
  if (o.kind === "file") return immapName(o.file);
  return anonVmaLock(o.kind === "anon" && o.anonVma ? o.anonVma : String(pfn));
}

/**
 * `page_check_address()`'s look before it takes the pte lock, for its callers
 * that pass no `sync` (page_referenced_one(), try_to_unmap_one()): no page
 * table, or no present pte, and it returns NULL without the lock ("Make a
 * quick check before getting the lock", v2.6.24 mm/rmap.c:237-254, v2.6.27
 * 242-259; v4.9 745-749, and page_check_address_transhuge() 851, which
 * page_referenced_one() calls there). Under the lock it looks again, and at
 * the pfn. `page_mkclean_one()` passes `sync` 1 in v2.6.27 and v4.9 and
 * always takes the lock, as the model does in every revision (v2.6.24 looks
 * first there too).
 */
function presentBeforeLock(k: Kernel, hit: RmapHit): boolean {
  const mm = k.state.mms[hit.mm];
  if (!mm || !hasPteTable(mm, hit.addr)) return false;
  return mm.ptes[vpn(hit.addr)]?.t === "present";
}

/** `page_referenced()`: the number of referencing ptes (and notifier answers), clearing young bits. */
export const pageReferenced = defPath<
  { pfn: number },
  {
    referenced: number;
    lock: string;
    // hits: the linear mappings the walk found; i: the one being visited
    hits: RmapHit[];
    i: number;
    // young: what the last hook point answered
    young?: boolean;
  },
  Kernel
>("page_referenced", {
  entry(k, f) {
    const page = k.state.pages[f.v.pfn];
    f.v.referenced = page.referenced ? 1 : 0; // TestClearPageReferenced()
    updatePage(k.state, f.v.pfn, { referenced: false });
    f.v.lock = rmapLock(k, f.v.pfn);
    return lock(f.v.lock, rmapReadKind(k), "locked");
  },
  locked(k, f) {
    f.v.hits = rmapWalk(k, f.v.pfn).linear;
    f.v.i = 0;
    return go("hit");
  },
  hit(k, f) {
    const hit = f.v.hits[f.v.i];
    if (!hit) {
      k.unlock(f.th, f.v.lock);
      return ret(f.v.referenced);
    }
    if (hit.vma.locked && hit.vma.shared && k.state.pages[f.v.pfn].owner.kind === "file") {
      // page_referenced_file(): 'if ((vma->vm_flags & (VM_LOCKED|VM_MAYSHARE)) ==
      // (VM_LOCKED|VM_MAYSHARE)) { referenced++; break; }' before page_referenced_one() (v2.6.24
      // mm/rmap.c:368-372, v2.6.27 393-397; every shared mapping of the model is VM_MAYSHARE).
      f.v.referenced++;
      f.v.i = f.v.hits.length;
      return go("hit");
    }
    if (!presentBeforeLock(k, hit)) {
      f.v.i++;
      return go("hit");
    }
    return lock(ptlName(hit.mm, hit.addr), "spin", "pte");
  },
  pte(k, f) {
    const hit = f.v.hits[f.v.i];
    const pte = k.state.mms[hit.mm].ptes[vpn(hit.addr)];
    if (!pte || pte.t !== "present" || pte.pfn !== f.v.pfn) {
      // page_check_address() found no pte mapping the page (a racing unmap cleared it): 'goto
      // out', with nothing asked of anyone (v2.6.24 mm/rmap.c:283-285, v2.6.27 288-290).
      k.unlock(f.th, ptlName(hit.mm, hit.addr));
      f.v.i++;
      return go("hit");
    }
    if (hit.vma.locked && k.variants.referenced_locked === "referenced") {
      // 'if (vma->vm_flags & VM_LOCKED) { referenced++; *mapcount = 1; /* break early from loop */
      // }': the young bit untouched and nothing asked of anyone, then 'pte_unmap_unlock()' and
      // the walk's 'if (!mapcount) break;' (v2.6.27 mm/rmap.c:292-296, 304-305, 332-333).
      f.v.referenced++;
      k.unlock(f.th, ptlName(hit.mm, hit.addr));
      f.v.i = f.v.hits.length;
      return go("hit");
    }
    const young = pte.young; // ptep_clear_flush_young()
    updatePte(k.state.mms[hit.mm], vpn(hit.addr), { young: false });
    if (young) addTo(k.state.counters, "tlbFlushPage", 1);
    if (young) f.v.referenced++;
    return hook(
      "page_referenced_one",
      "young",
      {
        mm: hit.mm,
        address: hit.addr,
        guards: { pte_old: !young, not_vm_locked: !hit.vma.locked },
      },
      "young",
      "young",
    );
  },
  young(k, f) {
    const hit = f.v.hits[f.v.i];
    if (f.v.young) f.v.referenced++;
    k.unlock(f.th, ptlName(hit.mm, hit.addr));
    const after = { mm: hit.mm, address: hit.addr, guards: { not_vm_locked: !hit.vma.locked } };
    return hook("page_referenced_one", "after_unlock", after, "after_unlock", "young");
  },
  after_unlock(_k, f) {
    if (f.v.young) f.v.referenced++;
    delete f.v.young;
    f.v.i++;
    return go("hit");
  },
});

/** What `try_to_unmap()` returns. */
export type UnmapResult = "SWAP_SUCCESS" | "SWAP_AGAIN" | "SWAP_FAIL";

/**
 * `try_to_unmap_one()`: unmaps one linear mapping of the page. `migration`
 * is try_to_unmap()'s argument: set, the VM_LOCKED and young test is skipped
 * ('if (!migration && ((vma->vm_flags & VM_LOCKED) || ...))', v2.6.24
 * mm/rmap.c:679 and v2.6.27 mm/rmap.c:720; v4.9 skips it by the
 * TTU_IGNORE_MLOCK and TTU_IGNORE_ACCESS flags migration passes). Reclaim,
 * the only caller in the model, passes 0.
 */
const tryToUnmapOne = defPath<
  { hit: RmapHit; pfn: number; migration: boolean },
  {
    // young: the young bit ptep_clear_flush_young() found; notified: the hook point's answer
    young: boolean;
    notified: boolean;
    // pte: a copy of the pte as it was cleared (out of the page table, nothing else sees it)
    pte: PresentPte;
    // r: what it returns, kept over the hook point after the unlock
    r: UnmapResult;
  },
  Kernel
>("try_to_unmap_one", {
  entry(k, f) {
    if (!presentBeforeLock(k, f.v.hit)) return ret("SWAP_AGAIN");
    return lock(ptlName(f.v.hit.mm, f.v.hit.addr), "spin", "locked");
  },
  locked(k, f) {
    const { hit, pfn, migration } = f.v;
    const mm = k.state.mms[hit.mm];
    const pte = mm.ptes[vpn(hit.addr)];
    if (!pte || pte.t !== "present" || pte.pfn !== pfn) {
      // page_check_address() found no pte mapping the page: 'goto out', no out_unmap.
      k.unlock(f.th, ptlName(hit.mm, hit.addr));
      return ret("SWAP_AGAIN");
    }
    const tested = !migration && !hit.vma.locked;
    let young = false;
    if (tested) {
      young = pte.young;
      updatePte(mm, vpn(hit.addr), { young: false });
      if (young) addTo(k.state.counters, "tlbFlushPage", 1);
    }
    f.v.young = young;
    return hook(
      "try_to_unmap_one",
      "young",
      {
        mm: hit.mm,
        address: hit.addr,
        guards: {
          not_vm_locked: !hit.vma.locked,
          not_vm_locked_and_pte_old: !hit.vma.locked && !young,
          not_vm_locked_and_pte_young: !hit.vma.locked && young,
          not_migration_and_not_vm_locked: tested,
          not_migration_and_not_vm_locked_and_pte_old: tested && !young,
          not_migration_and_not_vm_locked_and_pte_young: tested && young,
        },
      },
      "young",
      "notified",
    );
  },
  young(k, f) {
    const { hit, young, notified, migration } = f.v;
    if (!migration && (hit.vma.locked || young || notified)) {
      k.unlock(f.th, ptlName(hit.mm, hit.addr));
      f.v.r = "SWAP_FAIL";
      return go("out_unmap");
    }
    const mm = k.state.mms[hit.mm];
    // The pte lock is held since `locked`: the pte there is still the one found there.
    f.v.pte = { ...clearFlush(k, mm, hit.addr) as PresentPte };
    return hook(
      "try_to_unmap_one",
      "after_clear",
      { mm: hit.mm, address: hit.addr },
      "after_clear",
    );
  },
  after_clear(k, f) {
    const { hit, pfn, pte } = f.v;
    const mm = k.state.mms[hit.mm];
    const page = k.state.pages[pfn];
    if (page.owner.kind === "anon") {
      const slot = addToSwap(k, pfn);
      setPte(mm, vpn(hit.addr), { t: "swap", slot });
      k.state.swap[slot].from++;
    }
    // No ZERO_PAGE test, as before (reclaim unmaps a page only while it has a mapcount, which
    // the ZERO_PAGE never gets). No young bit to move: a young pte failed the unmap above.
    pageRemoveRmap(k.state, mm, page, { dirty: pte.dirty });
    putPage(k.state, pfn, pteHolder(mm.id, hit.addr));
    k.unlock(f.th, ptlName(hit.mm, hit.addr));
    f.v.r = "SWAP_AGAIN";
    return go("out_unmap");
  },
  // out_unmap: pte_unmap_unlock() has run (above); v4.9 mm/rmap.c:1583-1586 then calls
  // 'if (ret != SWAP_FAIL && ret != SWAP_MLOCK && !(flags & TTU_MUNLOCK))
  // mmu_notifier_invalidate_page(mm, address)'.
  out_unmap(_k, f) {
    const { hit } = f.v;
    const scope = {
      mm: hit.mm,
      address: hit.addr,
      guards: { unmapped: f.v.r !== "SWAP_FAIL" },
    };
    return hook("try_to_unmap_one", "after_unlock", scope, "out");
  },
  out: (_k, f) => ret(f.v.r),
});

/**
 * The swap slot of an anonymous page in the swap cache, where reclaim put
 * it before unmapping it; for a page not in it, `add_to_swap()`: a new slot
 * whose swap cache takes a reference to the page, which is dirtied
 * (`add_to_swap()` and `__add_to_swap_cache()`, v2.6.24
 * mm/swap_state.c:149-192, 86: 'SetPageDirty(page);' at 178). The slot's
 * `from` counts the swap ptes that refer to it, none yet.
 */
function addToSwap(k: Kernel, pfn: number): number {
  const cached = swapCacheSlot(k.state, pfn);
  if (cached !== undefined) return cached;
  const slot = k.state.nextSwap++;
  k.state.swap[slot] = { data: k.state.pages[pfn].data, from: 0, page: pfn };
  getPage(k.state, pfn, SWAP_CACHE);
  updatePage(k.state, pfn, { dirty: true });
  return slot;
}

/**
 * `try_to_unmap_cluster()`: in a nonlinear vma, unmaps the ptes of one
 * CLUSTER_SIZE-aligned cluster that map file pages, leaving file ptes where
 * the offset is not linear. Returns how many it unmapped (what it takes off
 * the caller's `*mapcount`).
 *
 * It takes the page table's pte lock once, if the table is there, and reads
 * every pte of the cluster under it (v2.6.24 mm/rmap.c:801
 * 'pte = pte_offset_map_lock(mm, pmd, address, &ptl);', then 806-808 'for
 * (; address < end; ...) { if (!pte_present(*pte)) continue;', and
 * 'pte_unmap_unlock(pte - 1, ptl)' at 832; v2.6.27 842, 847-849, 873). The
 * lock is the only scheduling point: the walk under it is one step, but for
 * the hook points where v2.6.27 calls ptep_clear_flush_young_notify() and
 * ptep_clear_flush_notify() (lines 853 and 858), still under the lock.
 */
const tryToUnmapCluster = defPath<
  { hit: RmapHit; cursor: number },
  {
    end: number;
    addr: number;
    ptl: string;
    // unmapped: ptes cleared so far; young, notified: the pte at addr's young bit and the
    // hook point's answer
    unmapped: number;
    // pte: a copy of the pte as it was cleared (out of the page table, nothing else sees it)
    pte?: PresentPte;
    young?: boolean;
    notified?: boolean;
  },
  Kernel
>("try_to_unmap_cluster", {
  entry(k, f) {
    const mm = k.state.mms[f.v.hit.mm];
    const vma = vmaNow(mm, f.v.hit.vma);
    const cluster = CLUSTER_PAGES * PAGE_SIZE;
    // 'address = (vma->vm_start + cursor) & CLUSTER_MASK; end = address + CLUSTER_SIZE;',
    // both then clamped to the vma (v2.6.24 mm/rmap.c:782-787, v2.6.27 823-828).
    const address = Math.floor((vma.start + f.v.cursor) / cluster) * cluster;
    f.v.addr = Math.max(address, vma.start);
    f.v.end = Math.min(address + cluster, vma.end);
    f.v.unmapped = 0;
    // No page table: 'if (!pmd_present(*pmd)) return;' (798; v2.6.27 839), without the lock.
    if (!mm || !hasPteTable(mm, f.v.addr)) return ret(0);
    f.v.ptl = ptlName(mm.id, f.v.addr);
    return lock(f.v.ptl, "spin", "loop");
  },
  loop(k, f) {
    const mm = k.state.mms[f.v.hit.mm];
    for (; f.v.addr < f.v.end; f.v.addr += PAGE_SIZE) {
      const pte = mm.ptes[vpn(f.v.addr)];
      if (!pte || pte.t !== "present" || pte.special) continue;
      // ptep_clear_flush_young()
      f.v.young = pte.young;
      updatePte(mm, vpn(f.v.addr), { young: false });
      const scope = { mm: mm.id, address: f.v.addr, guards: { pte_old: !f.v.young } };
      return hook("try_to_unmap_cluster", "young", scope, "young", "notified");
    }
    k.unlock(f.th, f.v.ptl);
    return ret(f.v.unmapped);
  },
  young(k, f) {
    const { addr, young, notified } = f.v;
    if (young || notified) return go("next");
    const mm = k.state.mms[f.v.hit.mm];
    // The pte lock is held: the pte is the one the loop read.
    f.v.pte = { ...mm.ptes[vpn(addr)] as PresentPte };
    setPte(mm, vpn(addr), undefined);
    addTo(k.state.counters, "tlbFlushPage", 1);
    return hook("try_to_unmap_cluster", "after_clear", { mm: mm.id, address: addr }, "after_clear");
  },
  after_clear(k, f) {
    const { addr } = f.v;
    const pte = f.v.pte!;
    const mm = k.state.mms[f.v.hit.mm];
    const page = k.state.pages[pte.pfn];
    // If nonlinear, store the file page offset in the pte. (The copy of the vma gives its
    // start and pgoff, which no vma changes.)
    if (page.owner.kind === "file" && page.owner.index !== linearIndex(f.v.hit.vma, addr)) {
      setPte(mm, vpn(addr), { t: "file", pgoff: page.owner.index });
    }
    // `try_to_unmap_cluster()` counts every page it unmaps as file rss (`dec_mm_counter(mm,
    // file_rss)`), whatever its kind. No ZERO_PAGE test, as before. No young bit to move: a
    // young pte was skipped above.
    pageRemoveRmap(k.state, mm, page, { dirty: pte.dirty, rss: "file" });
    putPage(k.state, pte.pfn, pteHolder(mm.id, addr));
    f.v.unmapped++;
    return go("next");
  },
  next(_k, f) {
    delete f.v.pte;
    delete f.v.young;
    delete f.v.notified;
    f.v.addr += PAGE_SIZE;
    return go("loop");
  },
});

/** A nonlinear vma the walk found, as it is now (its cursor is on it). */
function nlVma(k: Kernel, hit: RmapHit): Vma {
  return vmaNow(k.state.mms[hit.mm], hit.vma);
}

/** 'if ((vma->vm_flags & VM_LOCKED) && !migration) continue;' (v2.6.24 mm/rmap.c:888, 922). */
function nlSkipped(vma: Vma, migration: boolean | undefined): boolean {
  return vma.locked && !migration;
}

/** `vm_private_data` of a nonlinear vma as `try_to_unmap_file()` sets it (0, NULL, is absent). */
function setNlCursor(vma: Vma, cursor: number): void {
  if (cursor) vma.nlCursor = cursor;
  else delete vma.nlCursor;
}

/**
 * `try_to_unmap(page, migration)`: unmaps every mapping of the page
 * (reclaim passes migration 0). The linear mappings go one by one until one
 * fails or the page is mapped no more (v2.6.24 mm/rmap.c try_to_unmap_anon()
 * 847, try_to_unmap_file() 879 'if (ret == SWAP_FAIL || !page_mapped(page))';
 * v2.6.27 888, 921). Then, for a file page, the nonlinear vmas of its file
 * that are not VM_LOCKED have their clusters aged and unmapped round-robin,
 * from each vma's cursor (`vm_private_data`), until as many ptes as the
 * page has mappings are gone (883-945; v2.6.27 925-987): none if every
 * such vma is VM_LOCKED (SWAP_FAIL, 898-901; v2.6.27 940-943) or the page
 * is mapped no more (910-912; v2.6.27 952-954).
 */
export const tryToUnmap = defPath<
  { pfn: number; migration?: boolean },
  {
    lock: string;
    r: UnmapResult;
    // the mappings the walk found; i: the next one
    linear: RmapHit[];
    nonlinear: RmapHit[];
    i: number;
    // try_to_unmap_file()'s max_nl_cursor, max_nl_size and mapcount; n: what the last
    // try_to_unmap_cluster() unmapped
    maxCursor: number;
    maxSize: number;
    mapcount: number;
    n: number;
  },
  Kernel
>("try_to_unmap", {
  entry(k, f) {
    f.v.lock = rmapLock(k, f.v.pfn);
    return lock(f.v.lock, rmapReadKind(k), "locked");
  },
  locked(k, f) {
    f.v.r = "SWAP_AGAIN";
    const walk = rmapWalk(k, f.v.pfn);
    f.v.linear = walk.linear;
    f.v.nonlinear = walk.nonlinear;
    f.v.i = 0;
    return go("linear");
  },
  linear(_k, f) {
    const hit = f.v.linear[f.v.i++];
    if (!hit) return go("nonlinear");
    const migration = f.v.migration ?? false;
    return call(tryToUnmapOne, { hit, pfn: f.v.pfn, migration }, "unmapped_one", "r");
  },
  unmapped_one(k, f) {
    if (f.v.r === "SWAP_FAIL" || k.state.pages[f.v.pfn].mapcount === 0) return go("unlock");
    return go("linear");
  },
  nonlinear(k, f) {
    // 'if (list_empty(&mapping->i_mmap_nonlinear)) goto out;' (an anonymous page has none).
    if (f.v.nonlinear.length === 0) return go("unlock");
    f.v.maxCursor = 0;
    f.v.maxSize = 0;
    for (const hit of f.v.nonlinear) {
      const vma = nlVma(k, hit);
      if (nlSkipped(vma, f.v.migration)) continue;
      f.v.maxCursor = Math.max(f.v.maxCursor, vma.nlCursor ?? 0);
      f.v.maxSize = Math.max(f.v.maxSize, vma.end - vma.start);
    }
    // 'if (max_nl_size == 0) { /* any nonlinears locked or reserved */ ret = SWAP_FAIL;'
    if (f.v.maxSize === 0) {
      f.v.r = "SWAP_FAIL";
      return go("unlock");
    }
    f.v.mapcount = k.state.pages[f.v.pfn].mapcount;
    if (f.v.mapcount === 0) return go("unlock");
    const cluster = CLUSTER_PAGES * PAGE_SIZE;
    f.v.maxSize = Math.ceil(f.v.maxSize / cluster) * cluster;
    if (f.v.maxCursor === 0) f.v.maxCursor = cluster;
    f.v.i = 0;
    return go("nl_scan");
  },
  // The 'do { list_for_each_entry(vma, ...) { ... while (cursor < max_nl_cursor && cursor <
  // vma->vm_end - vma->vm_start) {' loop, i the vma it is at.
  nl_scan(k, f) {
    const cluster = CLUSTER_PAGES * PAGE_SIZE;
    for (;;) {
      for (; f.v.i < f.v.nonlinear.length; f.v.i++) {
        const hit = f.v.nonlinear[f.v.i];
        const vma = nlVma(k, hit);
        if (nlSkipped(vma, f.v.migration)) continue;
        const cursor = vma.nlCursor ?? 0;
        if (cursor < f.v.maxCursor && cursor < vma.end - vma.start) {
          return call(tryToUnmapCluster, { hit, cursor }, "nl_cluster", "n");
        }
        setNlCursor(vma, f.v.maxCursor);
      }
      f.v.i = 0;
      f.v.maxCursor += cluster;
      if (f.v.maxCursor > f.v.maxSize) break;
    }
    // 'Don't loop forever': every nonlinear vma's cursor back to NULL, locked ones too.
    for (const hit of f.v.nonlinear) setNlCursor(nlVma(k, hit), 0);
    return go("unlock");
  },
  nl_cluster(k, f) {
    const vma = nlVma(k, f.v.nonlinear[f.v.i]);
    setNlCursor(vma, (vma.nlCursor ?? 0) + CLUSTER_PAGES * PAGE_SIZE);
    f.v.mapcount -= f.v.n;
    // 'if ((int)mapcount <= 0) goto out;', the cursor left where the scan stopped.
    if (f.v.mapcount <= 0) return go("unlock");
    return go("nl_scan");
  },
  unlock(k, f) {
    const { pfn } = f.v;
    k.unlock(f.th, f.v.lock);
    const ext = { mm: "", pfn, guards: { page_external_rmap: k.state.pages[pfn].externalRmap } };
    return hook("try_to_unmap", "after_walk", ext, "after_walk");
  },
  after_walk(k, f) {
    if (k.state.pages[f.v.pfn].mapcount === 0) f.v.r = "SWAP_SUCCESS";
    return ret(f.v.r);
  },
});

/** `page_mkclean()`: write-protects and cleans every shared mapping of a file page. Returns whether any pte was dirty. */
export const pageMkclean = defPath<
  { pfn: number },
  {
    lock: string;
    // r: whether a pte was dirty
    r: boolean;
    // hits: the linear mappings the walk found; i: the one being visited
    hits: RmapHit[];
    i: number;
    // pte: a copy of the pte as it was cleared (out of the page table, nothing else sees it)
    pte?: PresentPte;
    // cleaned: whether the mapping being visited had its pte cleaned
    cleaned?: boolean;
  },
  Kernel
>("page_mkclean", {
  entry(k, f) {
    f.v.lock = rmapLock(k, f.v.pfn);
    return lock(f.v.lock, rmapReadKind(k), "locked");
  },
  locked(k, f) {
    f.v.r = false;
    f.v.hits = rmapWalk(k, f.v.pfn).linear;
    f.v.i = 0;
    return go("hit");
  },
  hit(k, f) {
    while (f.v.i < f.v.hits.length && !f.v.hits[f.v.i].vma.shared) f.v.i++;
    const hit = f.v.hits[f.v.i];
    if (!hit) {
      const { pfn } = f.v;
      k.unlock(f.th, f.v.lock);
      const ext = { mm: "", pfn, guards: { page_external_rmap: k.state.pages[pfn].externalRmap } };
      return hook("page_mkclean", "after_walk", ext, "after_walk");
    }
    return lock(ptlName(hit.mm, hit.addr), "spin", "pte");
  },
  pte(k, f) {
    const hit = f.v.hits[f.v.i];
    const mm = k.state.mms[hit.mm];
    const pte = mm.ptes[vpn(hit.addr)];
    f.v.cleaned = false;
    // page_check_address(): a pte that maps this page (v2.6.24 mm/rmap.c:258, 428-430), then
    // 'if (pte_dirty(*pte) || pte_write(*pte))'.
    if (pte && pte.t === "present" && pte.pfn === f.v.pfn && (pte.dirty || pte.write)) {
      f.v.pte = { ...pte };
      clearFlush(k, mm, hit.addr);
      return hook(
        "page_mkclean_one",
        "after_clear",
        { mm: hit.mm, address: hit.addr },
        "after_clear",
      );
    }
    return go("unlock");
  },
  after_clear(k, f) {
    const hit = f.v.hits[f.v.i];
    const pte = f.v.pte!;
    if (pte.dirty) f.v.r = true;
    setPte(k.state.mms[hit.mm], vpn(hit.addr), { ...pte, write: false, dirty: false });
    delete f.v.pte;
    f.v.cleaned = true;
    return go("unlock");
  },
  unlock(k, f) {
    const hit = f.v.hits[f.v.i++];
    k.unlock(f.th, ptlName(hit.mm, hit.addr));
    // v4.9 mm/rmap.c:1040-1043: 'pte_unmap_unlock(pte, ptl); if (ret) {
    // mmu_notifier_invalidate_page(mm, address); ...'
    const scope = { mm: hit.mm, address: hit.addr, guards: { cleaned: f.v.cleaned === true } };
    return hook("page_mkclean_one", "after_unlock", scope, "next");
  },
  next(_k, f) {
    delete f.v.cleaned;
    return go("hit");
  },
  after_walk(_k, f) {
    return ret(f.v.r);
  },
});

/**
 * What reclaim did with the page: "activated" (referenced, or
 * `try_to_unmap()` returned SWAP_FAIL), "kept-mapped" (SWAP_AGAIN),
 * "kept-busy" (someone else holds a reference: `pageout()`'s
 * `is_page_cache_freeable()` or `remove_mapping()`), "kept-dirty"
 * (dirtied again after `->writepage()`), "kept-locked" (the page lock was
 * taken when reclaim tried it, first or after `->writepage()`), or "freed".
 */
export type ReclaimResult =
  | "activated"
  | "kept-mapped"
  | "kept-busy"
  | "kept-dirty"
  | "kept-locked"
  | "freed";

/**
 * `shrink_page_list()` for one page (v2.6.24 mm/vmscan.c:441-602; v2.6.27
 * 476-644): keep it if its lock is taken (the page lock is tried, not
 * waited for: 'if (TestSetPageLocked(page)) goto keep;', v2.6.24 line 464;
 * v2.6.27 499 `trylock_page()`), or if referenced; otherwise unmap it. A
 * dirty page is written out by `pageout()` (line 538; an anonymous page
 * always is: `add_to_swap()` dirties it, mm/swap_state.c:178), which
 * keeps a page someone else holds a reference to
 * (`is_page_cache_freeable()`, line 316), cleans it with
 * `clear_page_dirty_for_io()` and calls `->writepage()`, which unlocks it.
 * The model's write is synchronous, the "synchronous write - probably a
 * ramdisk" case (lines 543-553): reclaim tries the page lock again and
 * keeps the page if it is taken; meanwhile the page is in the swap cache
 * (or the page cache), unlocked, where a fault finds it. Then
 * `remove_mapping()` (line 588) frees it if nobody else holds a reference
 * (exactly the cache's and the isolation's).
 */
export const shrinkPage = defPath<
  { pfn: number },
  { referenced: number; unmapped: UnmapResult; result: ReclaimResult },
  Kernel
>("shrink_page_list", {
  entry(k, f) {
    getPage(k.state, f.v.pfn, "reclaim"); // isolate_lru_page()
    const pageLock = pageLockName(f.v.pfn);
    if (!k.canTake(pageLock, "sleeping", f.th)) {
      // keep: back on the LRU, unlocked and unreclaimed.
      putPage(k.state, f.v.pfn, "reclaim");
      return ret("kept-locked");
    }
    k.acquire(f.th, pageLock, "sleeping");
    return go("locked");
  },
  locked(k, f) {
    updatePage(k.state, f.v.pfn, { locked: true });
    return call(pageReferenced, { pfn: f.v.pfn }, "referenced", "referenced");
  },
  referenced(_k, _f) {
    return point("shrink_page_list:after_referenced", "after_referenced");
  },
  after_referenced(k, f) {
    if (f.v.referenced > 0) {
      f.v.result = "activated";
      return go("keep");
    }
    // 'if (PageAnon(page) && !PageSwapCache(page)) if (!add_to_swap(page, GFP_ATOMIC)) goto
    // activate_locked;' before try_to_unmap() (v2.6.24 mm/vmscan.c:507-509, v2.6.27 542-544):
    // a page try_to_unmap() then keeps stays in the swap cache, its slot allocated.
    if (k.state.pages[f.v.pfn].owner.kind === "anon") addToSwap(k, f.v.pfn);
    if (k.state.pages[f.v.pfn].mapcount > 0) {
      return call(tryToUnmap, { pfn: f.v.pfn }, "unmapped", "unmapped");
    }
    f.v.unmapped = "SWAP_SUCCESS";
    return go("unmapped");
  },
  unmapped(k, f) {
    const { unmapped, pfn } = f.v;
    if (unmapped !== "SWAP_SUCCESS") {
      f.v.result = unmapped === "SWAP_FAIL" ? "activated" : "kept-mapped";
      return go("keep");
    }
    const page = k.state.pages[pfn];
    if (!page.dirty && page.owner.kind !== "anon") return go("remove_mapping");
    // pageout(): is_page_cache_freeable(), or PAGE_KEEP.
    if (!freeable(k, pfn)) {
      f.v.result = "kept-busy";
      return go("keep");
    }
    // clear_page_dirty_for_io() (v2.6.24 mm/vmscan.c:337).
    if (page.dirty && accountsDirty(k, pfn)) return call(pageMkclean, { pfn }, "pageout");
    return go("pageout");
  },
  pageout(k, f) {
    const { pfn } = f.v;
    const page = updatePage(k.state, pfn, { dirty: false, locked: false });
    // ->writepage(): swap_writepage() writes the slot, and the page is unlocked.
    const slot = swapCacheSlot(k.state, pfn);
    if (slot !== undefined) k.state.swap[slot].data = page.data;
    k.unlock(f.th, pageLockName(pfn));
    return point("shrink_page_list:after_pageout", "relock");
  },
  relock(k, f) {
    const { pfn } = f.v;
    // 'case PAGE_SUCCESS: if (PageWriteback(page) || PageDirty(page)) goto keep;' (v2.6.24
    // mm/vmscan.c:543-545, v2.6.27 578-580, v4.9 1146-1150): written out synchronously, the
    // page is dirty again only if someone dirtied it meanwhile (a zapped dirty pte, or a page
    // 4.x's free_swap_and_cache() took out of the swap cache), and its data is not on disk.
    if (k.state.pages[pfn].dirty) {
      putPage(k.state, pfn, "reclaim");
      return ret("kept-dirty");
    }
    // 'if (TestSetPageLocked(page)) goto keep;': kept, and not unlocked again.
    if (!k.canTake(pageLockName(pfn), "sleeping", f.th)) {
      putPage(k.state, pfn, "reclaim");
      return ret("kept-locked");
    }
    k.acquire(f.th, pageLockName(pfn), "sleeping");
    updatePage(k.state, pfn, { locked: true });
    return go("remove_mapping");
  },
  remove_mapping(k, f) {
    const { pfn } = f.v;
    if (!freeable(k, pfn)) {
      f.v.result = "kept-busy";
      return go("keep");
    }
    const page = k.state.pages[pfn];
    // __remove_from_page_cache() of a page still in its file's cache (a truncated one is not).
    const o = page.owner;
    if (o.kind === "file" && k.state.files[o.file].cache[o.index] === pfn) {
      delete k.state.files[o.file].cache[o.index];
      putPage(k.state, pfn, `cache:${o.file}`);
    }
    // '__delete_from_swap_cache(page); ... swap_free(swap);' (v2.6.24 mm/vmscan.c:419-423,
    // v2.6.27 436-440).
    const slot = swapCacheSlot(k.state, pfn);
    if (slot !== undefined) deleteFromSwapCache(k.state, slot, pfn);
    f.v.result = "freed";
    return go("keep");
  },
  keep(k, f) {
    const { pfn } = f.v;
    updatePage(k.state, pfn, { locked: false });
    k.unlock(f.th, pageLockName(pfn));
    putPage(k.state, pfn, "reclaim");
    return ret(f.v.result);
  },
});

/**
 * Whether reclaim holds the only references to page `pfn` but its cache's:
 * `is_page_cache_freeable()` and `remove_mapping()`'s count of 2, the
 * isolation's and the page cache's or swap cache's.
 */
function freeable(k: Kernel, pfn: number): boolean {
  const page = k.state.pages[pfn];
  const cacheRef = page.owner.kind === "file" ? `cache:${page.owner.file}` : SWAP_CACHE;
  return pageCount(page) === 1 + (page.refs[cacheRef] ? 1 : 0);
}

/**
 * Whether page `pfn`'s mapping counts dirty pages (`mapping_cap_account_dirty()`):
 * a regular file's does; shmem and hugetlbfs set `BDI_CAP_NO_ACCT_DIRTY`
 * (v2.6.24 mm/shmem.c:192, fs/hugetlbfs/inode.c:48), and anonymous memory
 * has no mapping.
 */
function accountsDirty(k: Kernel, pfn: number): boolean {
  const o = k.state.pages[pfn].owner;
  return o.kind === "file" && k.state.files[o.file].kind === "regular";
}

/**
 * Writeback of a dirty file page: `clear_page_dirty_for_io()` (v2.6.24
 * mm/page-writeback.c:1111-1165; v2.6.27 1195-1249), under the page lock.
 * Where the mapping counts dirty pages it cleans and write-protects every
 * shared mapping through `page_mkclean()` (line 1144) before it clears the
 * page's dirty flag; otherwise it only clears that flag (line 1164). Returns
 * whether the page was dirty.
 */
export const writebackPage = defPath<{ pfn: number }, { mkclean: boolean }, Kernel>(
  "clear_page_dirty_for_io",
  {
    entry(_k, f) {
      return lock(pageLockName(f.v.pfn), "sleeping", "locked");
    },
    locked(k, f) {
      if (!accountsDirty(k, f.v.pfn)) {
        f.v.mkclean = false;
        return go("cleaned");
      }
      return call(pageMkclean, { pfn: f.v.pfn }, "cleaned", "mkclean");
    },
    cleaned(k, f) {
      const page = k.state.pages[f.v.pfn];
      const wasDirty = f.v.mkclean || page.dirty;
      updatePage(k.state, f.v.pfn, { dirty: false });
      k.unlock(f.th, pageLockName(f.v.pfn));
      return ret(wasDirty);
    },
  },
);

/** The pfn a process maps at `addr`, if any (to name a page to reclaim). */
export function pfnAt(mm: Mm, addr: number): number | undefined {
  const vma = findVma(mm, addr);
  if (!vma) return undefined;
  const pte = mm.ptes[vpn(addr)];
  return pte && pte.t === "present" && !pte.special ? pte.pfn : undefined;
}
