/**
 * Reclaim and writeback of one page as in 2.6.24 mm/vmscan.c
 * `shrink_page_list` and mm/rmap.c: `page_referenced_one`,
 * `try_to_unmap_one`, `try_to_unmap_cluster` and `page_mkclean_one`,
 * each walking the reverse map under the anon_vma lock or i_mmap_lock.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { findVma, getPage, pageCount, pteHolder, putPage, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import { immapName, ptlName } from "./pgtable.ts";
import { linearIndex } from "./fault.ts";

/** Pages a nonlinear vma is unmapped by at a time (`CLUSTER_SIZE`). */
const CLUSTER_PAGES = 32;

/** One mapping of a page found by the reverse-map walk. */
interface RmapHit {
  mm: Mm;
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
          nonlinear.push({ mm, vma, addr: vma.start });
        }
        continue;
      }
      for (const key in mm.ptes) {
        const addr = Number(key) * PAGE_SIZE;
        if (addr < vma.start || addr >= vma.end) continue;
        const pte = mm.ptes[Number(key)];
        if (pte.t === "present" && pte.pfn === pfn && !pte.special) linear.push({ mm, vma, addr });
      }
    }
  }
  return { linear, nonlinear };
}

/** The lock that protects the reverse map of a page. */
function rmapLock(k: Kernel, pfn: number): string {
  const o = k.state.pages[pfn].owner;
  return o.kind === "file" ? immapName(o.file) : `anon_vma:${pfn}`;
}

/** `page_referenced()`: the number of referencing ptes (and notifier answers), clearing young bits. */
export function* pageReferenced(k: Kernel, th: string, pfn: number): KGen<number> {
  const P = "page_referenced_one";
  const page = k.state.pages[pfn];
  let referenced = page.referenced ? 1 : 0; // TestClearPageReferenced()
  page.referenced = false;
  const lock = rmapLock(k, pfn);
  yield* k.lock(th, lock, "spin");
  for (const hit of rmapWalk(k, pfn).linear) {
    const ptl = ptlName(hit.mm.id, hit.addr);
    yield* k.lock(th, ptl, "spin");
    const pte = hit.mm.ptes[vpn(hit.addr)];
    let young = false;
    if (pte && pte.t === "present") {
      young = pte.young; // ptep_clear_flush_young()
      pte.young = false;
      if (young) k.state.counters.tlbFlushPage++;
    }
    if (young) referenced++;
    if (
      yield* k.hook(th, P, "young", {
        mm: hit.mm.id,
        address: hit.addr,
        guards: { pte_old: !young, not_vm_locked: !hit.vma.locked },
      })
    ) {
      referenced++;
    }
    if (hit.vma.locked) referenced++;
    k.unlock(th, ptl);
    const after = { mm: hit.mm.id, address: hit.addr, guards: { not_vm_locked: !hit.vma.locked } };
    if (yield* k.hook(th, P, "after_unlock", after)) referenced++;
  }
  k.unlock(th, lock);
  return referenced;
}

/** What `try_to_unmap()` returns. */
export type UnmapResult = "SWAP_SUCCESS" | "SWAP_AGAIN" | "SWAP_FAIL";

/** `try_to_unmap_one()`: unmaps one linear mapping of the page. */
function* tryToUnmapOne(k: Kernel, th: string, hit: RmapHit, pfn: number): KGen<UnmapResult> {
  const P = "try_to_unmap_one";
  const { mm, vma, addr } = hit;
  const ptl = ptlName(mm.id, addr);
  yield* k.lock(th, ptl, "spin");
  const pte = mm.ptes[vpn(addr)];
  if (!pte || pte.t !== "present" || pte.pfn !== pfn) {
    k.unlock(th, ptl);
    return "SWAP_AGAIN";
  }
  let young = false;
  if (!vma.locked) {
    young = pte.young;
    pte.young = false;
    if (young) k.state.counters.tlbFlushPage++;
  }
  const notified = yield* k.hook(th, P, "young", {
    mm: mm.id,
    address: addr,
    guards: {
      not_vm_locked: !vma.locked,
      not_vm_locked_and_pte_old: !vma.locked && !young,
      not_vm_locked_and_pte_young: !vma.locked && young,
    },
  });
  if (vma.locked || young || notified) {
    k.unlock(th, ptl);
    return "SWAP_FAIL";
  }
  delete mm.ptes[vpn(addr)]; // ptep_clear_flush()
  k.state.counters.tlbFlushPage++;
  yield* k.hook(th, P, "after_clear", { mm: mm.id, address: addr });
  const page = k.state.pages[pfn];
  if (pte.dirty) page.dirty = true;
  if (page.owner.kind === "anon") {
    const slot = swapSlot(k, pfn);
    mm.ptes[vpn(addr)] = { t: "swap", slot };
    k.state.swap[slot].from++;
    mm.rss.anon--;
  } else {
    mm.rss.file--;
  }
  page.mapcount--;
  putPage(k.state, pfn, pteHolder(mm.id, addr));
  k.unlock(th, ptl);
  return "SWAP_AGAIN";
}

/** The swap slot of an anonymous page in the swap cache (`add_to_swap` on first use). */
function swapSlot(k: Kernel, pfn: number): number {
  for (const key in k.state.swap) {
    if (k.state.swap[Number(key)].page === pfn) return Number(key);
  }
  const slot = k.state.nextSwap++;
  k.state.swap[slot] = { data: k.state.pages[pfn].data, from: 0, page: pfn };
  return slot;
}

/**
 * `try_to_unmap_cluster()`: in a nonlinear vma, unmaps up to CLUSTER_SIZE
 * ptes that map file pages, leaving file ptes where the offset is not linear.
 */
function* tryToUnmapCluster(k: Kernel, th: string, hit: RmapHit): KGen {
  const P = "try_to_unmap_cluster";
  const { mm, vma } = hit;
  const end = Math.min(vma.end, vma.start + CLUSTER_PAGES * PAGE_SIZE);
  for (let addr = vma.start; addr < end; addr += PAGE_SIZE) {
    const pte = mm.ptes[vpn(addr)];
    if (!pte || pte.t !== "present" || pte.special) continue;
    const ptl = ptlName(mm.id, addr);
    yield* k.lock(th, ptl, "spin");
    const young = pte.young;
    pte.young = false;
    const notified = yield* k.hook(th, P, "young", {
      mm: mm.id,
      address: addr,
      guards: { pte_old: !young },
    });
    if (young || notified) {
      k.unlock(th, ptl);
      continue;
    }
    delete mm.ptes[vpn(addr)];
    k.state.counters.tlbFlushPage++;
    yield* k.hook(th, P, "after_clear", { mm: mm.id, address: addr });
    const page = k.state.pages[pte.pfn];
    // If nonlinear, store the file page offset in the pte.
    if (page.owner.kind === "file" && page.owner.index !== linearIndex(vma, addr)) {
      mm.ptes[vpn(addr)] = { t: "file", pgoff: page.owner.index };
    }
    if (pte.dirty) page.dirty = true;
    page.mapcount--;
    mm.rss.file--;
    putPage(k.state, pte.pfn, pteHolder(mm.id, addr));
    k.unlock(th, ptl);
  }
}

/** `try_to_unmap()`: unmaps every mapping of the page. */
export function* tryToUnmap(k: Kernel, th: string, pfn: number): KGen<UnmapResult> {
  const lock = rmapLock(k, pfn);
  yield* k.lock(th, lock, "spin");
  let ret: UnmapResult = "SWAP_AGAIN";
  const walk = rmapWalk(k, pfn);
  for (const hit of walk.linear) {
    ret = yield* tryToUnmapOne(k, th, hit, pfn);
    if (ret === "SWAP_FAIL") break;
  }
  if (ret !== "SWAP_FAIL") {
    for (const hit of walk.nonlinear) yield* tryToUnmapCluster(k, th, hit);
  }
  k.unlock(th, lock);
  const ext = { mm: "", pfn, guards: { page_external_rmap: k.state.pages[pfn].externalRmap } };
  yield* k.hook(th, "try_to_unmap", "after_walk", ext);
  if (k.state.pages[pfn].mapcount === 0) ret = "SWAP_SUCCESS";
  return ret;
}

/** `page_mkclean()`: write-protects and cleans every shared mapping of a file page. Returns whether any pte was dirty. */
export function* pageMkclean(k: Kernel, th: string, pfn: number): KGen<boolean> {
  const P = "page_mkclean_one";
  const lock = rmapLock(k, pfn);
  yield* k.lock(th, lock, "spin");
  let ret = false;
  for (const hit of rmapWalk(k, pfn).linear) {
    if (!hit.vma.shared) continue;
    const ptl = ptlName(hit.mm.id, hit.addr);
    yield* k.lock(th, ptl, "spin");
    const pte = hit.mm.ptes[vpn(hit.addr)];
    if (pte && pte.t === "present" && (pte.dirty || pte.write)) {
      delete hit.mm.ptes[vpn(hit.addr)]; // ptep_clear_flush()
      k.state.counters.tlbFlushPage++;
      yield* k.hook(th, P, "after_clear", { mm: hit.mm.id, address: hit.addr });
      if (pte.dirty) ret = true;
      hit.mm.ptes[vpn(hit.addr)] = { ...pte, write: false, dirty: false };
    }
    k.unlock(th, ptl);
  }
  k.unlock(th, lock);
  const ext = { mm: "", pfn, guards: { page_external_rmap: k.state.pages[pfn].externalRmap } };
  yield* k.hook(th, "page_mkclean", "after_walk", ext);
  return ret;
}

/** What reclaim did with the page. */
export type ReclaimResult = "activated" | "kept-mapped" | "kept-busy" | "freed";

/**
 * `shrink_page_list()` for one page: keep it if referenced, otherwise
 * unmap it, write it out if dirty, and free it if nobody else holds a
 * reference (`remove_mapping` wants exactly the cache and isolation refs).
 */
export function* shrinkPage(k: Kernel, th: string, pfn: number): KGen<ReclaimResult> {
  const page = k.state.pages[pfn];
  getPage(k.state, pfn, "reclaim"); // isolate_lru_page()
  const lockName = `page_lock:${pfn}`;
  yield* k.lock(th, lockName, "sleeping");
  page.locked = true;
  let result: ReclaimResult;
  const referenced = yield* pageReferenced(k, th, pfn);
  yield { thread: th, label: "shrink_page_list:after_referenced" };
  if (referenced > 0) {
    result = "activated";
  } else {
    const unmapped = page.mapcount > 0 ? yield* tryToUnmap(k, th, pfn) : "SWAP_SUCCESS";
    if (unmapped !== "SWAP_SUCCESS") {
      result = unmapped === "SWAP_FAIL" ? "activated" : "kept-mapped";
    } else {
      if (page.dirty && page.owner.kind === "file") yield* pageMkclean(k, th, pfn);
      page.dirty = false; // pageout()
      const cacheRef = page.owner.kind === "file" ? `cache:${page.owner.file}` : null;
      const expected = 1 + (cacheRef && page.refs[cacheRef] ? 1 : 0);
      if (pageCount(page) !== expected) {
        result = "kept-busy";
      } else {
        if (cacheRef && page.owner.kind === "file") {
          delete k.state.files[page.owner.file].cache[page.owner.index];
          putPage(k.state, pfn, cacheRef);
        }
        for (const key in k.state.swap) {
          const slot = k.state.swap[Number(key)];
          if (slot.page === pfn) {
            slot.data = page.data; // swap_writepage(), then __delete_from_swap_cache()
            delete slot.page;
          }
        }
        result = "freed";
      }
    }
  }
  page.locked = false;
  k.unlock(th, lockName);
  putPage(k.state, pfn, "reclaim");
  return result;
}

/**
 * Writeback of a dirty file page: `clear_page_dirty_for_io()` cleans and
 * write-protects every shared mapping through `page_mkclean()`. Returns
 * whether the page was dirty.
 */
export function* writebackPage(k: Kernel, th: string, pfn: number): KGen<boolean> {
  const page = k.state.pages[pfn];
  const lockName = `page_lock:${pfn}`;
  yield* k.lock(th, lockName, "sleeping");
  const wasDirty = (yield* pageMkclean(k, th, pfn)) || page.dirty;
  page.dirty = false;
  k.unlock(th, lockName);
  return wasDirty;
}

/** The pfn a process maps at `addr`, if any (to name a page to reclaim). */
export function pfnAt(mm: Mm, addr: number): number | undefined {
  const vma = findVma(mm, addr);
  if (!vma) return undefined;
  const pte = mm.ptes[vpn(addr)];
  return pte && pte.t === "present" && !pte.special ? pte.pfn : undefined;
}
