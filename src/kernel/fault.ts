/**
 * Fault handling as in 2.6.24 mm/memory.c: `handle_mm_fault`, the anonymous,
 * file, nonlinear and swap faults, `do_wp_page` with all its exits,
 * `follow_page` and `get_user_pages`.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import {
  allocPage,
  findVma,
  getPage,
  hex,
  isCowMapping,
  pteHolder,
  putPage,
  setPte,
  SWAP_CACHE,
  updatePage,
  updatePte,
  vpn,
} from "../model/state.ts";
import { hook, type Kernel, KernelBug, lock } from "./context.ts";
import { call, defPath, go, point, ret } from "./steps.ts";
import { followHugetlbPage, hugetlbFault } from "./hugetlb.ts";
import { xipUnmap } from "./xip.ts";
import {
  allocTables,
  clearFlush,
  findOrReadPage,
  linearIndex,
  mapPage,
  newAnonPage,
  pageLockName,
  pageRemoveRmap,
  protWritableOnRead,
  pteAddr,
  ptlName,
  reuseSwapPage,
  swapFree,
  vmaAt,
  zeroPage,
} from "./pgtable.ts";
import { addTo } from "../model/_count.ts";

export { linearIndex, vmaAt } from "./pgtable.ts";

/** What a fault returns (the VM_FAULT_* bits, or the signal the arch handler sends). */
export type FaultResult =
  | "VM_FAULT_MINOR"
  | "VM_FAULT_WRITE"
  | "VM_FAULT_OOM"
  | "VM_FAULT_SIGBUS"
  | "SIGSEGV";

/** Whether a fault result means the access can be retried and will now succeed. */
export function faultOk(r: FaultResult): boolean {
  return r === "VM_FAULT_MINOR" || r === "VM_FAULT_WRITE";
}

/**
 * `handle_mm_fault()` and the arch fault handler's vma and permission checks.
 * With `force` (a `get_user_pages(..., force=1)` caller, which checked the
 * vma's `VM_MAY*` flags itself) the access check is skipped: handle_mm_fault
 * has none of its own, so a forced write fault on a read-only private
 * mapping breaks COW (v2.6.27 mm/memory.c get_user_pages(), line 1226).
 */
export const handleMmFault = defPath<
  { mm: string; addr: number; write: boolean; force?: boolean },
  { vma?: number; a?: number; r?: FaultResult },
  Kernel
>("handle_mm_fault", {
  entry(k, f) {
    const { addr, write } = f.v;
    const mm = k.state.mms[f.v.mm];
    addTo(k.state.counters, "faults", 1);
    const vma = findVma(mm, addr);
    if (!vma) return ret("SIGSEGV");
    if (!f.v.force && (write ? !vma.write : !vma.read)) return ret("SIGSEGV");
    if (vma.kind === "pfnmap") return ret("VM_FAULT_SIGBUS");
    const a = pteAddr(vma, addr);
    if (vma.kind === "hugetlb") {
      return call(hugetlbFault, { mm: mm.id, vma: vma.start, addr: a, write }, "done", "r");
    }
    if (!allocTables(k, mm, a, "handle_mm_fault")) return ret("VM_FAULT_OOM");
    f.v.vma = vma.start;
    f.v.a = a;
    return lock(ptlName(mm.id, a), "spin", "locked");
  },
  locked(k, f) {
    const { write } = f.v;
    const a = f.v.a!;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma!);
    const ptl = ptlName(mm.id, a);
    const pte = mm.ptes[vpn(a)];
    const args = { mm: mm.id, vma: vma.start, addr: a, write };
    if (!pte) {
      k.unlock(f.th, ptl);
      if (vma.kind === "anon") return call(doAnonymousPage, args, "done", "r");
      return call(doFileFault, { ...args, index: linearIndex(vma, a) }, "done", "r");
    }
    if (pte.t === "file") {
      k.unlock(f.th, ptl);
      return call(doFileFault, { ...args, index: pte.pgoff, origPgoff: pte.pgoff }, "done", "r");
    }
    if (pte.t === "swap") {
      k.unlock(f.th, ptl);
      return call(doSwapPage, { ...args, slot: pte.slot }, "done", "r");
    }
    if (write && !pte.write) {
      return call(doWpPage, { mm: mm.id, vma: vma.start, addr: a }, "done", "r");
    }
    updatePte(mm, vpn(a), write ? { young: true, dirty: true } : { young: true });
    k.unlock(f.th, ptl);
    return ret("VM_FAULT_MINOR");
  },
  done: (_k, f) => ret(f.v.r),
});

/**
 * `do_anonymous_page()`: a new anonymous page, made writable (when the vma
 * is) and dirty whatever the access, as 2.6.24 to 2.6.27 do; on a read with
 * the revision's `kernel.anonymous_read` "zero-page", the zero page
 * read-only, as 4.x does (see {@link KernelVariants}).
 */
const doAnonymousPage = defPath<
  { mm: string; vma: number; addr: number; write: boolean },
  { pfn?: number },
  Kernel
>("do_anonymous_page", {
  entry(k, f) {
    const P = "do_anonymous_page";
    const mm = k.state.mms[f.v.mm];
    if (mapsZeroPage(k, f.v.write)) {
      f.v.pfn = zeroPage(k.state);
      return lock(ptlName(mm.id, f.v.addr), "spin", "locked");
    }
    // v2.6.24 mm/memory.c:2163-2165: anon_vma_prepare(), alloc_zeroed_user_highpage_movable().
    const anonVma = anonVmaPrepare(k, mm, vmaAt(mm, f.v.vma), P);
    if (!anonVma) return ret("VM_FAULT_OOM");
    const pfn = newAnonPage(k, P, "fault", f.th, anonVma);
    if (pfn === null) return ret("VM_FAULT_OOM");
    f.v.pfn = pfn;
    return lock(ptlName(mm.id, f.v.addr), "spin", "locked");
  },
  locked(k, f) {
    const { addr } = f.v;
    const pfn = f.v.pfn!;
    const mm = k.state.mms[f.v.mm];
    if (mapsZeroPage(k, f.v.write)) {
      if (!mm.ptes[vpn(addr)]) mapPage(k.state, mm, addr, pfn, { write: false });
      k.unlock(f.th, ptlName(mm.id, addr));
      return ret("VM_FAULT_MINOR");
    }
    // maybe_mkwrite(pte_mkdirty(entry), vma): dirty, and writable when the vma is, on a read
    // fault too; a forced write fault on a read-only vma maps the new page read-only (v2.6.24
    // mm/memory.c:2170; v2.6.27 do_anonymous_page(), line 2379).
    const write = mm.vmas.find((v) => v.start === f.v.vma)?.write ?? true;
    if (!mm.ptes[vpn(addr)]) mapPage(k.state, mm, addr, pfn, { write, dirty: true });
    k.unlock(f.th, ptlName(mm.id, addr));
    putPage(k.state, pfn, "fault");
    return ret("VM_FAULT_MINOR");
  },
});

/** Whether `do_anonymous_page()` maps the zero page for this access (`kernel.anonymous_read`). */
function mapsZeroPage(k: Kernel, write: boolean): boolean {
  return !write && k.variants.anonymous_read === "zero-page";
}

/**
 * `anon_vma_prepare()` on `vma` of `mm`: the vma's anon_vma, attached first
 * if it has none (which may fail to allocate: false, -ENOMEM). A new one is
 * named after the vma (`<mm>:<start>`); `find_mergeable_anon_vma()`, which
 * may take a neighbour's instead (v2.6.24 mm/rmap.c:67), is not modelled.
 * The kernel attaches it under `mm->page_table_lock` (lines 80-87), which
 * no path of the model holds across a step.
 */
export function anonVmaPrepare(k: Kernel, mm: Mm, vma: Vma, path: string): string | false {
  if (vma.anonVma) return vma.anonVma;
  if (!k.alloc("anon_vma", path)) return false;
  return vma.anonVma = `${mm.id}:${hex(vma.start)}`;
}

/**
 * `__do_fault()` for linear and nonlinear file faults (`filemap_fault`,
 * `shmem_fault`, `xip_file_fault`, `hugetlb_fault`): a private write copies
 * the page at once; a shared write goes through `->page_mkwrite`.
 *
 * The page stays locked from `->fault` until the pte is set and the pte
 * lock dropped (`unlock_page(vmf.page)`, v2.6.24 mm/memory.c:2344, v2.6.27
 * 2550): `filemap_fault()` and `shmem_fault()` return it locked
 * (`VM_FAULT_LOCKED`; `find_lock_page()`, v2.6.24 mm/filemap.c:1325, v2.6.27
 * 1447), and `__do_fault()` locks any other (`lock_page(vmf.page)`, v2.6.24
 * 2246, v2.6.27 2445). `find_lock_page()` takes the page, locks it, and
 * looks again when the page has left the mapping meanwhile (truncated). Under
 * the lock `filemap_fault()` looks at i_size again ("Must recheck i_size
 * under page lock", v2.6.24 mm/filemap.c:1387-1392, v2.6.27 1509-1514) and
 * returns VM_FAULT_SIGBUS past the end. So truncation, which writes i_size
 * first and takes each page's lock before it drops it from the cache (`truncate_inode_pages()`
 * in truncate.ts), either finds the page mapped and unmaps it,
 * or makes the fault give SIGBUS. A regular file's fault that found its page
 * truncated reads a new one in (`page_cache_read()`, `goto retry_find`)
 * before that recheck, which leaves a page past the end in the cache; a
 * shmem one fails in `shmem_getpage()` (`shmem_swp_alloc()`'s i_size check:
 * -EINVAL, SIGBUS).
 *
 * `->page_mkwrite` runs with the page unlocked; after it `__do_fault()`
 * relocks the page and, when it has left the page cache meanwhile, returns 0
 * without mapping it (v2.6.24 2274-2294, v2.6.27 2474-2494).
 *
 * It maps the page only if the pte is still the one the fault started from
 * (`orig_pte`): none for a linear fault, the file pte of `origPgoff` for a
 * nonlinear one (v2.6.24 mm/memory.c:2313, v2.6.27 2518, `if
 * (likely(pte_same(*page_table, orig_pte)))`). It returns what `->fault`
 * returned, never VM_FAULT_WRITE, which do_wp_page sets (v2.6.24 1615 and
 * 1664, v2.6.27 1844 and 1922; and `do_swap_page()`, as
 * `kernel.swap_write_result` says): get_user_pages reads that bit as
 * "COW is broken" and looks the page up as a read from then on (v2.6.24
 * 1091, v2.6.27 1247), and a forced write that mapped the page-cache page
 * of a read-only shared mapping has broken nothing.
 */
const doFileFault = defPath<
  {
    mm: string;
    vma: number;
    addr: number;
    write: boolean;
    index: number;
    /** The pgoff of the file pte a nonlinear fault started from; absent when it started from none. */
    origPgoff?: number;
  },
  // pfn: the page ->fault returned (vmf.page, locked from "page" on); mapPfn: the page to map
  // (a private write's copy)
  { pfn?: number; mapPfn?: number },
  Kernel
>("__do_fault", {
  entry(k, f) {
    const { index } = f.v;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma);
    const file = k.state.files[vma.file!];
    if (index >= file.size) return ret("VM_FAULT_SIGBUS");
    if (file.kind === "xip") {
      // xip_file_fault() (v2.6.24 mm/filemap_xip.c:213-257): the block, if the file has one
      // there. A hole of a vma that may be shared and written, '(VM_WRITE | VM_MAYWRITE) &&
      // (VM_SHARED | VM_MAYSHARE)', gets a new block, and __xip_unmap() takes the sparse page
      // out of every other mapping of the offset (lines 235-244); any other hole maps the
      // sparse page (245-250), which a private write then copies below. (v2.6.27 inserts pfns
      // with vm_insert_mixed() and makes the same choice, lines 245-258 and 267-286.)
      const block = file.cache[index];
      if (block !== undefined) f.v.pfn = block;
      else if (vma.shared && (vma.write || vma.mayWrite)) {
        if (!k.alloc("page", "get_xip_page")) return ret("VM_FAULT_SIGBUS");
        const page = allocPage(
          k.state,
          { kind: "file", file: file.name, index },
          `cache:${file.name}`,
        );
        file.cache[index] = f.v.pfn = page.pfn;
        return call(xipUnmap, { file: file.name, pgoff: index }, "lock");
      } else f.v.pfn = zeroPage(k.state);
      return go("lock");
    }
    return go("find");
  },
  // filemap_fault()'s retry_find, shmem_getpage()'s repeat: the page, read in when absent.
  find(k, f) {
    const mm = k.state.mms[f.v.mm];
    const file = k.state.files[vmaAt(mm, f.v.vma).file!];
    if (file.kind === "shmem" && file.cache[f.v.index] === undefined && f.v.index >= file.size) {
      return ret("VM_FAULT_SIGBUS");
    }
    const cached = findOrReadPage(k, file.name, f.v.index, "__do_fault", f.th);
    if (cached === null) return ret("VM_FAULT_OOM");
    f.v.pfn = cached;
    return go("lock");
  },
  // find_lock_page(): page_cache_get(), then lock_page() (or __do_fault()'s lock_page()).
  lock(k, f) {
    getPage(k.state, f.v.pfn!, "fault");
    return lock(pageLockName(f.v.pfn!), "sleeping", "page");
  },
  page(k, f) {
    const P = "__do_fault";
    const { write, index } = f.v;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma);
    const file = k.state.files[vma.file!];
    const pfn = f.v.pfn!;
    if (file.kind === "regular" || file.kind === "shmem") {
      if (file.cache[index] !== pfn) {
        // find_lock_page(): 'if (unlikely(page->mapping != mapping)) { unlock_page(page);
        // page_cache_release(page); goto repeat; }' (v2.6.24 mm/filemap.c:648-652, v2.6.27 692-696).
        dropFault(k, f.th, pfn, "VM_FAULT_MINOR");
        return go("find");
      }
      // filemap_fault(): 'Must recheck i_size under page lock'.
      if (file.kind === "regular" && index >= file.size) {
        return ret(dropFault(k, f.th, pfn, "VM_FAULT_SIGBUS"));
      }
    }
    let mapPfn = pfn;
    if (write && !vma.shared) {
      const anonVma = anonVmaPrepare(k, mm, vma, P);
      if (!anonVma) return ret(dropFault(k, f.th, pfn, "VM_FAULT_OOM"));
      const copy = newAnonPage(k, P, "fault", f.th, anonVma);
      if (copy === null) return ret(dropFault(k, f.th, pfn, "VM_FAULT_OOM"));
      updatePage(k.state, copy, { data: k.state.pages[pfn].data });
      putPage(k.state, pfn, "fault");
      mapPfn = copy;
    } else if (write && file.pageMkwrite !== "none") {
      // unlock_page(page); ->page_mkwrite(vma, page); lock_page(page).
      k.unlock(f.th, pageLockName(pfn));
      if (file.pageMkwrite === "fail") {
        putPage(k.state, pfn, "fault");
        return ret("VM_FAULT_SIGBUS");
      }
      f.v.mapPfn = mapPfn;
      return lock(pageLockName(pfn), "sleeping", "mkwrite.relocked");
    }
    f.v.mapPfn = mapPfn;
    return lock(ptlName(mm.id, f.v.addr), "spin", "locked");
  },
  "mkwrite.relocked"(k, f) {
    const mm = k.state.mms[f.v.mm];
    const file = k.state.files[vmaAt(mm, f.v.vma).file!];
    // 'if (!page->mapping) { ret = 0; anon = 1; goto out; }': truncated while unlocked.
    if (file.cache[f.v.index] !== f.v.pfn) {
      return ret(dropFault(k, f.th, f.v.pfn!, "VM_FAULT_MINOR"));
    }
    return lock(ptlName(mm.id, f.v.addr), "spin", "locked");
  },
  locked(k, f) {
    const { addr, write } = f.v;
    const mapPfn = f.v.mapPfn!;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma);
    const cur = mm.ptes[vpn(addr)];
    const same = f.v.origPgoff === undefined
      ? !cur
      : cur?.t === "file" && cur.pgoff === f.v.origPgoff;
    if (same) {
      // maybe_mkwrite() on a write fault: read-only when the vma is (a forced write; v2.6.27
      // mm/memory.c __do_fault(), line 2522).
      const w = (write && vma.write) || protWritableOnRead(k.state, vma);
      mapPage(k.state, mm, addr, mapPfn, { write: w, dirty: write });
      if (write && vma.shared) updatePage(k.state, mapPfn, { dirty: true });
    }
    k.unlock(f.th, ptlName(mm.id, addr));
    // out: unlock_page(vmf.page).
    k.unlock(f.th, pageLockName(f.v.pfn!));
    putPage(k.state, mapPfn, "fault");
    return ret("VM_FAULT_MINOR");
  },
});

/** `do_wp_page()`'s `page_remove_rmap(old_page, vma)`: none for the zero page. */
function removeOldRmap(k: Kernel, mm: Mm, old: number): void {
  const op = k.state.pages[old];
  if (op.owner.kind !== "zero") pageRemoveRmap(k.state, mm, op);
}

/** Unlocks the faulted page and drops the fault's reference: `unlock_page(); page_cache_release()`. */
function dropFault(k: Kernel, th: string, pfn: number, r: FaultResult): FaultResult {
  k.unlock(th, pageLockName(pfn));
  putPage(k.state, pfn, "fault");
  return r;
}

/**
 * `do_swap_page()` (v2.6.24 mm/memory.c:2051-2139; v2.6.27 2256-2345):
 * `lookup_swap_cache()` first (line 2071): a page reclaim has not freed yet
 * (the page its swap slot names) is taken with a reference of the
 * fault's, which makes reclaim keep it ("kept-busy"), and locked with
 * `lock_page()` (line 2092), which waits for a reclaim that holds the page
 * lock. Otherwise a new page is read in by `read_swap_cache_async()`: it
 * goes into the swap cache and is read from the slot, and is locked as one
 * found there. Under the pte lock, if the pte is still the swap entry, the
 * page is mapped, writable and dirty on a write fault only where
 * `can_share_swap_page()` agrees (line 2112; a fork's copy of the entry
 * refers to the slot too), and `swap_free()` leaves it in the swap cache
 * (2121-2123); a write fault it does
 * not agree to goes on to `do_wp_page()` with the pte lock held (line
 * 2126). What it returns then is `kernel.swap_write_result`: 2.6.24 keeps
 * only do_wp_page's VM_FAULT_OOM, so the fault never returns
 * VM_FAULT_WRITE; from 2.6.25-rc4 do_wp_page's VM_FAULT_WRITE is returned
 * too, and 4.x returns it also when the write fault reuses the page. It
 * returns 0 when the pte changed meanwhile (`out_nomap`). When no page can
 * be read in, it relocks and returns
 * VM_FAULT_OOM only if the pte is still the swap entry, and 0 if another
 * fault has mapped it meanwhile (v2.6.24 2080-2082, v2.6.27 2279-2281).
 */
const doSwapPage = defPath<
  { mm: string; vma: number; addr: number; write: boolean; slot: number },
  // pfn: the page (null: none could be read in); cached: found in the swap cache, and locked
  { pfn?: number | null; cached?: boolean; r?: FaultResult },
  Kernel
>("do_swap_page", {
  entry(k, f) {
    const P = "do_swap_page";
    const slot = k.state.swap[f.v.slot];
    const cached = slot?.page;
    if (cached !== undefined) {
      getPage(k.state, cached, "fault");
      f.v.pfn = cached;
      f.v.cached = true;
      return lock(pageLockName(cached), "sleeping", "page_locked");
    }
    // page_add_anon_rmap(page, vma, address): the vma's anon_vma, which its swapped page had.
    const vma = vmaAt(k.state.mms[f.v.mm], f.v.vma);
    const pfn = newAnonPage(k, P, "fault", f.th, vma.anonVma);
    f.v.pfn = pfn;
    if (pfn === null || !slot) {
      // No page, or the slot went with the pte meanwhile (read_swap_cache_async() finds no
      // entry to read): the pte is checked under its lock.
      if (pfn !== null) updatePage(k.state, pfn, { data: 0 });
      return go("page_locked");
    }
    // read_swap_cache_async(): the new page goes into the swap cache, which takes a reference,
    // and is read from the slot (v2.6.24 mm/swap_state.c:320-370, add_to_swap_cache() at 356);
    // then lock_page() as for a page found there.
    updatePage(k.state, pfn, { data: slot.data });
    slot.page = pfn;
    getPage(k.state, pfn, SWAP_CACHE);
    f.v.cached = true;
    return lock(pageLockName(pfn), "sleeping", "page_locked");
  },
  page_locked: (_k, f) => lock(ptlName(f.v.mm, f.v.addr), "spin", "locked"),
  locked(k, f) {
    const { addr, write, slot } = f.v;
    const pfn = f.v.pfn!;
    const mm = k.state.mms[f.v.mm];
    const cur = mm.ptes[vpn(addr)];
    const same = cur?.t === "swap" && cur.slot === slot;
    if (pfn === null) {
      k.unlock(f.th, ptlName(mm.id, addr));
      return ret(same ? "VM_FAULT_OOM" : "VM_FAULT_MINOR");
    }
    let wp = false;
    let reused = false;
    if (same) {
      // A write fault's 'if (write_access && can_share_swap_page(page))' before the pte is set:
      // this entry is one of the slot's users. 4.x calls reuse_swap_page() there, which takes
      // the page it agrees to out of the swap cache ('if ((fe->flags & FAULT_FLAG_WRITE) &&
      // reuse_swap_page(page, NULL))', v4.9 mm/memory.c:2636).
      const share = !f.v.cached || (write && reuseSwapPage(k, pfn));
      wp = write && !share;
      reused = write && share;
      setPte(mm, vpn(addr), undefined);
      swapFree(k.state, slot);
      // maybe_mkwrite() (v2.6.27 mm/memory.c do_swap_page(), line 2318).
      const w = write && share && (mm.vmas.find((v) => v.start === f.v.vma)?.write ?? true);
      mapPage(k.state, mm, addr, pfn, { write: w, dirty: write && share });
    }
    if (f.v.cached) k.unlock(f.th, pageLockName(pfn));
    putPage(k.state, pfn, "fault");
    if (wp) return call(doWpPage, { mm: mm.id, vma: f.v.vma, addr }, "wp", "r");
    k.unlock(f.th, ptlName(mm.id, addr));
    // 4.x: 'ret |= VM_FAULT_WRITE;' where the write fault reuses the page (v4.9 mm/memory.c:2639).
    const told = reused && k.variants.swap_write_result === "reuse-or-wp";
    return ret(told ? "VM_FAULT_WRITE" : "VM_FAULT_MINOR");
  },
  wp(k, f) {
    const r = f.v.r;
    if (r === "VM_FAULT_OOM") return ret(r);
    // 2.6.24 keeps do_wp_page()'s VM_FAULT_OOM only (mm/memory.c:2128-2130); from 2.6.25-rc4 its
    // VM_FAULT_WRITE is ORed in too (v2.6.27 2331-2335, v4.9 2674-2677).
    const told = r === "VM_FAULT_WRITE" && k.variants.swap_write_result !== "oom-only";
    return ret(told ? "VM_FAULT_WRITE" : "VM_FAULT_MINOR");
  },
});

/** The `[addr, addr + PAGE_SIZE)` range of the page `do_wp_page` works on. */
function wpPage(addr: number): { page: [number, number] } {
  return { page: [addr, addr + PAGE_SIZE] };
}

/** The ranges of `do_wp_page`'s hook points that also pass the page's last byte as its end. */
function wpPageRanges(addr: number): Record<string, [number, number]> {
  return { ...wpPage(addr), page_minus_one: [addr, addr + PAGE_SIZE - 1] };
}

/** The values of the original pte `do_wp_page` compares the pte with after it relocks. */
interface OrigPte {
  pfn: number;
  write: boolean;
  special?: boolean;
}

/**
 * `do_wp_page()`, entered with the PTE lock held on a write fault to a
 * present, write-protected pte. Exits: reuse (an exclusive anonymous page, or
 * a shared writable mapping, through `->page_mkwrite` when the file has one),
 * `->page_mkwrite` failure (SIGBUS), the re-check after `->page_mkwrite` that
 * fails, copy (COW), the copy path's allocation failure (OOM) and its re-check
 * that fails, and under `kernel.wp_page_lock` "lock" the re-check after
 * waiting for an anonymous page's lock that fails. The scheduling points
 * `mkwrite.unlocked` and `copy.unlocked`, and the wait for the page lock, are
 * where the PTE lock is dropped and another CPU may change the pte. A shared
 * page it reuses is dirtied after the PTE lock is dropped, once its page lock
 * is free (2.6's `wait_on_page_locked()`) or under it (4.x's `lock_page()`).
 */
export const doWpPage = defPath<
  { mm: string; vma: number; addr: number },
  {
    /** The pte as it was at entry (`orig_pte`), by value. */
    orig?: OrigPte;
    /** The page the pte mapped (null for a raw PFN). */
    old?: number | null;
    /** The file of a shared writable mapping, for `->page_mkwrite`. */
    file?: string;
    /** The page marked dirty at `unlock` (reuse of a shared page). */
    dirtyPage?: number | null;
    /** The copy (COW) page. */
    newPfn?: number;
    invalidateStarted?: boolean;
    r?: FaultResult;
  },
  Kernel
>("do_wp_page", {
  entry(k, f) {
    const P = "do_wp_page";
    const { addr } = f.v;
    const mm = k.state.mms[f.v.mm];
    const orig = mm.ptes[vpn(addr)];
    if (!orig || orig.t !== "present") {
      throw new Error(`do_wp_page at ${hex(addr)} on a non-present pte`);
    }
    f.v.orig = { pfn: orig.pfn, write: orig.write, special: orig.special };
    return hook(P, "entry", { mm: mm.id, address: addr, ranges: wpPage(addr) }, "decide");
  },
  decide(k, f) {
    const { addr } = f.v;
    const orig = f.v.orig!;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma);
    f.v.invalidateStarted = false;
    f.v.dirtyPage = null;
    f.v.r = "VM_FAULT_MINOR";
    const old = orig.special ? null : orig.pfn;
    f.v.old = old;
    const oldPage = old === null ? null : k.state.pages[old];
    if (oldPage && oldPage.owner.kind === "anon") {
      // v2.6.24 mm/memory.c:1564-1567 (v2.6.27 1792-1795, trylock_page()): 'if
      // (!TestSetPageLocked(old_page)) { reuse = can_share_swap_page(old_page);
      // unlock_page(old_page); }': a page someone has locked is copied. 4.x calls
      // reuse_swap_page() there (v4.9 mm/memory.c:2406), and waits for a page someone has locked
      // (kernel.wp_page_lock): 'if (!trylock_page(old_page)) { get_page(old_page);
      // pte_unmap_unlock(fe->pte, fe->ptl); lock_page(old_page);' (2392-2395).
      const trylock = k.canTake(pageLockName(old!), "sleeping", f.th);
      if (!trylock && k.variants.wp_page_lock === "lock") {
        getPage(k.state, old!, "do_wp_page:old");
        k.unlock(f.th, ptlName(mm.id, addr));
        return lock(pageLockName(old!), "sleeping", "page_locked");
      }
      return go(trylock && reuseSwapPage(k, old!) ? "reuse" : "copy");
    }
    if (oldPage && vma.shared && vma.write) {
      const file = vma.file ? k.state.files[vma.file] : undefined;
      if (file && file.pageMkwrite !== "none") {
        f.v.file = file.name;
        getPage(k.state, old!, "do_wp_page:old");
        k.unlock(f.th, ptlName(mm.id, addr));
        return point("do_wp_page:mkwrite.unlocked", "mkwrite.unlocked");
      }
      return go("reuse.dirty");
    }
    return go("copy");
  },
  page_locked: (_k, f) => lock(ptlName(f.v.mm, f.v.addr), "spin", "page_relocked"),
  page_relocked(k, f) {
    const old = f.v.old!;
    const mm = k.state.mms[f.v.mm];
    putPage(k.state, old, "do_wp_page:old");
    // 'if (!pte_same(*fe->pte, orig_pte)) { unlock_page(old_page); pte_unmap_unlock(fe->pte,
    // fe->ptl); put_page(old_page); return 0; }' (v4.9 mm/memory.c:2398-2403).
    if (!samePte(mm, f.v.addr, f.v.orig!)) {
      k.unlock(f.th, pageLockName(old));
      k.unlock(f.th, ptlName(mm.id, f.v.addr));
      return ret("VM_FAULT_MINOR");
    }
    // 'if (reuse_swap_page(old_page, &total_mapcount)) { ... unlock_page(old_page); return
    // wp_page_reuse(...); } unlock_page(old_page);' (2406-2420), under the page lock.
    const reuse = reuseSwapPage(k, old);
    k.unlock(f.th, pageLockName(old));
    return go(reuse ? "reuse" : "copy");
  },
  "mkwrite.unlocked"(k, f) {
    const old = f.v.old as number;
    if (k.state.files[f.v.file!].pageMkwrite === "fail") {
      putPage(k.state, old, "do_wp_page:old");
      return ret("VM_FAULT_SIGBUS");
    }
    return lock(ptlName(f.v.mm, f.v.addr), "spin", "mkwrite.relocked");
  },
  "mkwrite.relocked"(k, f) {
    putPage(k.state, f.v.old as number, "do_wp_page:old");
    // The re-check after ->page_mkwrite failed: goto unlock.
    if (!samePte(k.state.mms[f.v.mm], f.v.addr, f.v.orig!)) return go("unlock");
    return go("reuse.dirty");
  },
  "reuse.dirty"(k, f) {
    const old = f.v.old as number;
    f.v.dirtyPage = old;
    getPage(k.state, old, "do_wp_page:dirty");
    return go("reuse");
  },
  reuse(k, f) {
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma);
    const pte = mm.ptes[vpn(f.v.addr)];
    if (pte && pte.t === "present") {
      updatePte(mm, vpn(f.v.addr), { young: true, dirty: true, write: vma.write });
    }
    f.v.r = "VM_FAULT_WRITE";
    return go("unlock");
  },
  copy(k, f) {
    const old = f.v.old!;
    if (old !== null) getPage(k.state, old, "do_wp_page:old");
    k.unlock(f.th, ptlName(f.v.mm, f.v.addr));
    return point("do_wp_page:copy.unlocked", "copy.unlocked");
  },
  "copy.unlocked"(k, f) {
    const P = "do_wp_page";
    const { addr } = f.v;
    const old = f.v.old!;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma);
    const anonVma = anonVmaPrepare(k, mm, vma, P);
    const newPfn = anonVma ? newAnonPage(k, P, "do_wp_page:new", f.th, anonVma) : null;
    if (newPfn === null) {
      if (old !== null) putPage(k.state, old, "do_wp_page:old");
      return ret("VM_FAULT_OOM");
    }
    f.v.newPfn = newPfn;
    // cow_user_page()
    updatePage(k.state, newPfn, { data: old !== null ? k.state.pages[old].data : 0 });
    return hook(
      P,
      "copy.after_cow_user_page",
      { mm: mm.id, address: addr, ranges: wpPageRanges(addr) },
      "copy.after_cow_user_page",
    );
  },
  "copy.after_cow_user_page"(_k, f) {
    f.v.invalidateStarted = true;
    return point("do_wp_page:copy.before_relock", "copy.before_relock");
  },
  "copy.before_relock": (_k, f) => lock(ptlName(f.v.mm, f.v.addr), "spin", "copy.relocked"),
  "copy.relocked"(k, f) {
    const { addr } = f.v;
    const mm = k.state.mms[f.v.mm];
    if (!samePte(mm, addr, f.v.orig!)) return go("copy.release");
    // 2.6.24: page_remove_rmap(old_page, vma) before ptep_clear_flush() (kernel.cow_rmap).
    const old = f.v.old!;
    if (old !== null && k.variants.cow_rmap === "remove-before-clear") removeOldRmap(k, mm, old);
    // 'ptep_clear_flush(vma, address, page_table);' (v2.6.24 mm/memory.c:1656; v2.6.27
    // ptep_clear_flush_notify(), 1888): what the cleared pte held, its dirty bit too, is dropped.
    clearFlush(k, mm, addr);
    return hook(
      "do_wp_page",
      "copy.after_pte_clear",
      { mm: mm.id, address: addr, ranges: wpPage(addr) },
      "copy.after_pte_clear",
    );
  },
  "copy.after_pte_clear"(k, f) {
    const { addr } = f.v;
    const old = f.v.old!;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma);
    if (old !== null) {
      // From 945754a175 ("mm: fix race in COW logic"), after the new pte is set (kernel.cow_rmap;
      // the model's step sets it below, with nothing in between that reads either).
      if (k.variants.cow_rmap === "remove-after-set") removeOldRmap(k, mm, old);
      putPage(k.state, old, pteHolder(mm.id, addr));
    }
    mapPage(k.state, mm, addr, f.v.newPfn!, { write: vma.write, dirty: true });
    return hook(
      "do_wp_page",
      "copy.after_set_pte",
      { mm: mm.id, address: addr, ranges: wpPage(addr) },
      "copy.after_set_pte",
    );
  },
  "copy.after_set_pte"(_k, f) {
    f.v.r = "VM_FAULT_WRITE";
    return go("copy.release");
  },
  "copy.release"(k, f) {
    const old = f.v.old!;
    putPage(k.state, f.v.newPfn!, "do_wp_page:new");
    if (old !== null) putPage(k.state, old, "do_wp_page:old");
    return go("unlock");
  },
  unlock(k, f) {
    const { addr } = f.v;
    k.unlock(f.th, ptlName(f.v.mm, addr));
    return hook("do_wp_page", "unlock", {
      mm: f.v.mm,
      address: addr,
      ranges: wpPageRanges(addr),
      guards: { invalidate_started: f.v.invalidateStarted! },
    }, "unlocked");
  },
  unlocked(k, f) {
    const dirtyPage = f.v.dirtyPage;
    if (dirtyPage === null || dirtyPage === undefined) return ret(f.v.r);
    const name = pageLockName(dirtyPage);
    // 4.x takes the page lock to dirty it: 'if (!page_mkwrite) lock_page(page); dirtied =
    // set_page_dirty(page); ... unlock_page(page);' (v4.9 mm/memory.c:2102-2108,
    // kernel.wp_page_lock "lock").
    if (k.variants.wp_page_lock === "lock") return lock(name, "sleeping", "dirty");
    // 'wait_on_page_locked(dirty_page); set_page_dirty_balance(dirty_page, page_mkwrite);'
    // (v2.6.24 mm/memory.c:1684, v2.6.27 1944): "Yes, Virginia, this is actually required to
    // prevent a race with clear_page_dirty_for_io() from clearing the page dirty bit after it
    // clear all dirty ptes, but before a racing do_wp_page installs a dirty pte."
    if (!k.canTake(name, "sleeping", f.th)) {
      return point(`wait ${name}`, "unlocked", { blockedOn: name, blockedKind: "sleeping" });
    }
    return go("dirty");
  },
  // set_page_dirty(), then the page lock let go where 4.x took it, and the reference put.
  dirty(k, f) {
    const dirtyPage = f.v.dirtyPage!;
    updatePage(k.state, dirtyPage, { dirty: true });
    if (k.holds(f.th, pageLockName(dirtyPage))) k.unlock(f.th, pageLockName(dirtyPage));
    putPage(k.state, dirtyPage, "do_wp_page:dirty");
    return ret(f.v.r);
  },
});

/**
 * `pte_same()` after relocking: whether the pte still maps the page of `orig`
 * with the same write bit.
 */
function samePte(mm: Mm, addr: number, orig: OrigPte): boolean {
  const cur = mm.ptes[vpn(addr)];
  return !!cur && cur.t === "present" && cur.pfn === orig.pfn && cur.write === orig.write;
}

/**
 * `follow_page()`: under the PTE lock, the page mapped at `addr` if the pte
 * allows the access, with a reference for `holder` when there is one
 * (FOLL_GET), or null. Marks the page accessed. On a huge pmd (a hugetlb
 * vma) it takes no lock and marks nothing, and returns the huge page
 * whatever the access (`follow_huge_pmd()`), and a reference there is a
 * BUG: v2.6.24 mm/memory.c:930-933 (v2.6.27 1059-1062), `if
 * (pmd_huge(*pmd)) { BUG_ON(flags & FOLL_GET); page =
 * follow_huge_pmd(...); goto out; }`.
 */
export const followPage = defPath<
  {
    mm: string;
    addr: number;
    write: boolean;
    holder?: string;
    /** FOLL_FORCE and FOLL_COW (`kernel.gup_force` "foll-cow"): a dirty pte satisfies a write. */
    cow?: boolean;
  },
  { a?: number },
  Kernel
>("follow_page", {
  entry(k, f) {
    const mm = k.state.mms[f.v.mm];
    const vma = findVma(mm, f.v.addr);
    if (!vma) return ret(null);
    const a = pteAddr(vma, f.v.addr);
    if (vma.kind === "hugetlb") {
      const pte = mm.ptes[vpn(a)];
      // pmd_none(): no_page_table, null.
      if (!pte || pte.t !== "present") return ret(null);
      if (f.v.holder !== undefined) {
        throw new KernelBug("follow_page", "BUG_ON(flags & FOLL_GET) on a huge pmd");
      }
      return ret(pte.pfn);
    }
    f.v.a = a;
    return lock(ptlName(mm.id, a), "spin", "locked");
  },
  locked(k, f) {
    const { write, holder } = f.v;
    const a = f.v.a!;
    const mm = k.state.mms[f.v.mm];
    const pte = mm.ptes[vpn(a)];
    let pfn: number | null = null;
    // 4.x's can_follow_write_pte(): 'pte_write(pte) || ((flags & FOLL_FORCE) && (flags &
    // FOLL_COW) && pte_dirty(pte))' (v4.9 mm/gup.c:67-71).
    const cow = f.v.cow === true;
    if (pte && pte.t === "present" && (!write || pte.write || (cow && pte.dirty)) && !pte.special) {
      updatePage(k.state, pte.pfn, { referenced: true });
      // mmu notifiers #v3 (docs/sources.md §5c, follow_page hunk): 'if (!pte_young(pte)) set_pte_at(..., pte_mkyoung(pte))'.
      if (k.variants.follow_page === "mkyoung") updatePte(mm, vpn(a), { young: true });
      // 'if ((flags & FOLL_WRITE) && !pte_dirty(pte) && !PageDirty(page)) set_page_dirty(page);'
      // (v2.6.24 mm/memory.c:952-954; v2.6.27 1081-1083; v4.9 mm/gup.c:165-167): the page, not
      // the pte, is dirtied.
      if (write && !pte.dirty) updatePage(k.state, pte.pfn, { dirty: true });
      if (holder !== undefined) getPage(k.state, pte.pfn, holder);
      pfn = pte.pfn;
    }
    k.unlock(f.th, ptlName(mm.id, a));
    return ret(pfn);
  },
});

/** Result of {@link getUserPage}. */
export type GupResult = { pfn: number } | { error: FaultResult };

/**
 * `get_user_pages()` for one page: the vma's permission check, then
 * `follow_page` (for a VM_HUGETLB vma, `follow_hugetlb_page`), faulting until
 * it succeeds. The caller must hold mmap_sem for read. The reference is held
 * by `holder`.
 *
 * With `force` only the `VM_MAY*` flags are required (v2.6.27 mm/memory.c
 * get_user_pages(), lines 1143-1146 and 1194): a forced write on a read-only
 * private mapping faults with write access and breaks COW; once a fault
 * returns `VM_FAULT_WRITE`, the lookups go on as reads, since do_wp_page has
 * broken COW "even if maybe_mkwrite decided not to set pte_write" (line 1248).
 * `kernel.gup_force` "foll-cow" is 4.x's instead: no forced write to a
 * shared vma without VM_WRITE (-EFAULT, here SIGSEGV as for any vma the
 * flags refuse), and after VM_FAULT_WRITE in a vma without VM_WRITE the
 * lookups stay writes, with FOLL_COW (v4.9 mm/gup.c:424-425, 438-453).
 *
 * Not modelled: FOLL_ANON (2.6.24 to 2.6.31). A read of a private
 * anonymous vma that has no page table there yet gets the ZERO_PAGE without
 * a fault (v2.6.24 mm/memory.c:1048-1051, and `follow_page()`'s
 * no_page_table, 967-971; v2.6.27 1206-1207 and 1105-1110); here it
 * faults, and the fault allocates a page. The GRU fill, which retries
 * `follow_page()` under its lock after `get_user_pages()`, would never find
 * a ZERO_PAGE that no pte maps, so modelling it needs that fill looked at
 * first.
 *
 * Frame: `follWrite` is `FOLL_WRITE` of the lookups, `follCow` FOLL_COW.
 */
export const getUserPage = defPath<
  { mm: string; addr: number; write: boolean; force?: boolean; holder: string },
  {
    tries?: number;
    pfn?: number | null;
    r?: FaultResult;
    follWrite?: boolean;
    follCow?: boolean;
    huge?: GupResult;
  },
  Kernel
>("get_user_pages", {
  entry(k, f) {
    const { mm, addr, write, holder } = f.v;
    if (f.v.follWrite === undefined) {
      const vma = findVma(k.state.mms[mm], addr);
      // vm_flags = write ? (VM_WRITE | VM_MAYWRITE) : (VM_READ | VM_MAYREAD), masked by force: a
      // forced write to a vma without VM_WRITE needs VM_MAYWRITE, and on 4.x a COW mapping,
      // check_vma_flags()'s 'if (!is_cow_mapping(vm_flags)) return -EFAULT;' (v4.9
      // mm/gup.c:438-453).
      const forcedWrite = (v: Vma) =>
        k.variants.gup_force === "foll-cow" ? v.write || isCowMapping(v) : v.mayWrite;
      const allowed = !vma
        ? false
        : f.v.force
        ? (!write || forcedWrite(vma))
        : write
        ? vma.write
        : vma.read;
      if (!allowed) return ret({ error: "SIGSEGV" });
      f.v.follWrite = write;
    }
    if ((f.v.tries ?? 0) >= 4) return ret({ error: "VM_FAULT_OOM" });
    if (findVma(k.state.mms[mm], addr)?.kind === "hugetlb") {
      return call(followHugetlbPage, { mm, addr, write: f.v.follWrite, holder }, "huge", "huge");
    }
    const cow = f.v.follCow === true && f.v.force === true;
    const args = { mm, addr, write: f.v.follWrite, holder, ...(cow ? { cow } : {}) };
    return call(followPage, args, "followed", "pfn");
  },
  huge: (_k, f) => ret(f.v.huge),
  followed(_k, f) {
    const { mm, addr } = f.v;
    if (f.v.pfn !== null && f.v.pfn !== undefined) return ret({ pfn: f.v.pfn });
    const args = { mm, addr, write: f.v.follWrite!, force: f.v.force === true };
    return call(handleMmFault, args, "faulted", "r");
  },
  faulted(k, f) {
    if (!faultOk(f.v.r!)) return ret({ error: f.v.r });
    if (f.v.r === "VM_FAULT_WRITE") {
      if (k.variants.gup_force === "cow-any") f.v.follWrite = false;
      else if (!findVma(k.state.mms[f.v.mm], f.v.addr)?.write) f.v.follCow = true;
    }
    f.v.tries = (f.v.tries ?? 0) + 1;
    return go("entry");
  },
});
