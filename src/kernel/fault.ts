/**
 * Fault handling as in 2.6.24 mm/memory.c: `handle_mm_fault`, the anonymous,
 * file, nonlinear and swap faults, `do_wp_page` with all its exits,
 * `follow_page` and `get_user_pages`.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { findVma, getPage, hex, putPage, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import {
  allocTables,
  clearFlush,
  findOrReadPage,
  mapPage,
  newAnonPage,
  protWritableOnRead,
  pteAddr,
  ptlName,
  swapFree,
  zeroPage,
} from "./pgtable.ts";

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

/** `handle_mm_fault()` and the arch fault handler's vma and permission checks. */
export function* handleMmFault(
  k: Kernel,
  th: string,
  mm: Mm,
  addr: number,
  write: boolean,
): KGen<FaultResult> {
  k.state.counters.faults++;
  const vma = findVma(mm, addr);
  if (!vma || (write ? !vma.write : !vma.read)) return "SIGSEGV";
  if (vma.kind === "pfnmap") return "VM_FAULT_SIGBUS";
  const a = pteAddr(vma, addr);
  if (!allocTables(k, mm, a, "handle_mm_fault")) return "VM_FAULT_OOM";
  const ptl = ptlName(mm.id, a);
  yield* k.lock(th, ptl, "spin");
  const pte = mm.ptes[vpn(a)];
  if (!pte) {
    k.unlock(th, ptl);
    if (vma.kind === "anon") return yield* doAnonymousPage(k, th, mm, vma, a, write);
    return yield* doFileFault(k, th, mm, vma, a, write, linearIndex(vma, a));
  }
  if (pte.t === "file") {
    k.unlock(th, ptl);
    return yield* doFileFault(k, th, mm, vma, a, write, pte.pgoff);
  }
  if (pte.t === "swap") {
    k.unlock(th, ptl);
    return yield* doSwapPage(k, th, mm, vma, a, write, pte.slot);
  }
  if (write && !pte.write) return yield* doWpPage(k, th, mm, vma, a);
  pte.young = true;
  if (write) pte.dirty = true;
  k.unlock(th, ptl);
  return "VM_FAULT_MINOR";
}

/** `linear_page_index()`: the file page a linear vma maps at `addr`. */
export function linearIndex(vma: Vma, addr: number): number {
  const unit = vma.kind === "hugetlb" ? 512 : 1;
  return vma.pgoff + Math.floor((addr - vma.start) / PAGE_SIZE / unit);
}

/** `do_anonymous_page()`: the zero page on a read, a new anonymous page on a write. */
function* doAnonymousPage(
  k: Kernel,
  th: string,
  mm: Mm,
  vma: Vma,
  addr: number,
  write: boolean,
): KGen<FaultResult> {
  const P = "do_anonymous_page";
  if (!write) {
    const z = zeroPage(k.state);
    yield* k.lock(th, ptlName(mm.id, addr), "spin");
    if (!mm.ptes[vpn(addr)]) mapPage(k.state, mm, addr, z, { write: false });
    k.unlock(th, ptlName(mm.id, addr));
    return "VM_FAULT_MINOR";
  }
  if (!anonVmaPrepare(k, vma, P)) return "VM_FAULT_OOM";
  const pfn = newAnonPage(k, P, "fault");
  if (pfn === null) return "VM_FAULT_OOM";
  yield* k.lock(th, ptlName(mm.id, addr), "spin");
  if (!mm.ptes[vpn(addr)]) mapPage(k.state, mm, addr, pfn, { write: true, dirty: true });
  k.unlock(th, ptlName(mm.id, addr));
  putPage(k.state, pfn, "fault");
  return "VM_FAULT_MINOR";
}

/** `anon_vma_prepare()`: may allocate. */
export function anonVmaPrepare(k: Kernel, vma: Vma, path: string): boolean {
  if (vma.anonVma) return true;
  if (!k.alloc("anon_vma", path)) return false;
  vma.anonVma = true;
  return true;
}

/**
 * `__do_fault()` for linear and nonlinear file faults (`filemap_fault`,
 * `shmem_fault`, `xip_file_fault`, `hugetlb_fault`): a private write copies
 * the page at once; a shared write goes through `->page_mkwrite`.
 */
function* doFileFault(
  k: Kernel,
  th: string,
  mm: Mm,
  vma: Vma,
  addr: number,
  write: boolean,
  index: number,
): KGen<FaultResult> {
  const P = "__do_fault";
  const file = k.state.files[vma.file!];
  if (index >= file.size) return "VM_FAULT_SIGBUS";
  let pfn: number;
  if (file.kind === "xip" && !(write && !vma.shared)) {
    // xip_file_fault: a hole is backed by the sparse zero page until written.
    pfn = file.cache[index] ?? zeroPage(k.state);
  } else {
    const cached = findOrReadPage(k, file.name, index, P);
    if (cached === null) return "VM_FAULT_OOM";
    pfn = cached;
  }
  getPage(k.state, pfn, "fault");
  let mapPfn = pfn;
  let mkwrite = false;
  if (write && !vma.shared) {
    if (!anonVmaPrepare(k, vma, P)) return dropFault(k, pfn, "VM_FAULT_OOM");
    const copy = newAnonPage(k, P, "fault");
    if (copy === null) return dropFault(k, pfn, "VM_FAULT_OOM");
    k.state.pages[copy].data = k.state.pages[pfn].data;
    putPage(k.state, pfn, "fault");
    mapPfn = copy;
  } else if (write && file.pageMkwrite !== "none") {
    if (file.pageMkwrite === "fail") return dropFault(k, pfn, "VM_FAULT_SIGBUS");
    mkwrite = true;
  }
  yield* k.lock(th, ptlName(mm.id, addr), "spin");
  const cur = mm.ptes[vpn(addr)];
  if (!cur || cur.t === "file") {
    const w = write || protWritableOnRead(k.state, vma);
    mapPage(k.state, mm, addr, mapPfn, { write: w, dirty: write });
    if (write && vma.shared) k.state.pages[mapPfn].dirty = true;
  }
  k.unlock(th, ptlName(mm.id, addr));
  putPage(k.state, mapPfn, "fault");
  return mkwrite || write ? "VM_FAULT_WRITE" : "VM_FAULT_MINOR";
}

function dropFault(k: Kernel, pfn: number, r: FaultResult): FaultResult {
  putPage(k.state, pfn, "fault");
  return r;
}

/** `do_swap_page()`: reads the page back; maps it writable only on a write fault. */
function* doSwapPage(
  k: Kernel,
  th: string,
  mm: Mm,
  _vma: Vma,
  addr: number,
  write: boolean,
  slot: number,
): KGen<FaultResult> {
  const P = "do_swap_page";
  const pfn = newAnonPage(k, P, "fault");
  if (pfn === null) return "VM_FAULT_OOM";
  k.state.pages[pfn].data = k.state.swap[slot]?.data ?? 0;
  yield* k.lock(th, ptlName(mm.id, addr), "spin");
  const cur = mm.ptes[vpn(addr)];
  if (cur && cur.t === "swap" && cur.slot === slot) {
    delete mm.ptes[vpn(addr)];
    swapFree(k.state, slot);
    mapPage(k.state, mm, addr, pfn, { write, dirty: write });
  }
  k.unlock(th, ptlName(mm.id, addr));
  putPage(k.state, pfn, "fault");
  return write ? "VM_FAULT_WRITE" : "VM_FAULT_MINOR";
}

/**
 * `do_wp_page()`, entered with the PTE lock held on a write fault to a
 * present, write-protected pte. Exits: reuse (an exclusive anonymous page, or
 * a shared writable mapping, through `->page_mkwrite` when the file has one),
 * `->page_mkwrite` failure (SIGBUS), the re-check after `->page_mkwrite` that
 * fails, copy (COW), the copy path's allocation failure (OOM) and its re-check
 * that fails. The scheduling points `mkwrite.unlocked` and `copy.unlocked` are
 * where the PTE lock is dropped and another CPU may change the pte.
 */
export function* doWpPage(
  k: Kernel,
  th: string,
  mm: Mm,
  vma: Vma,
  addr: number,
): KGen<FaultResult> {
  const P = "do_wp_page";
  const ptl = ptlName(mm.id, addr);
  const page = { page: [addr, addr + PAGE_SIZE] as [number, number] };
  const orig = mm.ptes[vpn(addr)];
  if (!orig || orig.t !== "present") {
    throw new Error(`do_wp_page at ${hex(addr)} on a non-present pte`);
  }
  yield* k.hook(th, P, "entry", { mm: mm.id, address: addr, ranges: page });
  let invalidateStarted = false;
  let dirtyPage: number | null = null;
  let ret: FaultResult = "VM_FAULT_MINOR";
  const old = orig.special ? null : orig.pfn;
  const oldPage = old === null ? null : k.state.pages[old];
  let reuse = false;
  let copy = true;
  if (oldPage && oldPage.owner.kind === "anon") {
    // TestSetPageLocked + can_share_swap_page(): exclusive when mapped once.
    reuse = oldPage.mapcount === 1;
  } else if (oldPage && vma.shared && vma.write) {
    const file = vma.file ? k.state.files[vma.file] : undefined;
    if (file && file.pageMkwrite !== "none") {
      getPage(k.state, old!, "do_wp_page:old");
      k.unlock(th, ptl);
      yield { thread: th, label: "do_wp_page:mkwrite.unlocked" };
      if (file.pageMkwrite === "fail") {
        putPage(k.state, old!, "do_wp_page:old");
        return "VM_FAULT_SIGBUS";
      }
      yield* k.lock(th, ptl, "spin");
      putPage(k.state, old!, "do_wp_page:old");
      if (!samePte(mm, addr, orig)) {
        copy = false;
      }
    }
    if (copy) {
      dirtyPage = old;
      getPage(k.state, old!, "do_wp_page:dirty");
      reuse = true;
    }
  }
  if (!copy) {
    // The re-check after ->page_mkwrite failed: goto unlock.
  } else if (reuse) {
    const pte = mm.ptes[vpn(addr)];
    if (pte && pte.t === "present") {
      pte.young = true;
      pte.dirty = true;
      pte.write = vma.write;
    }
    ret = "VM_FAULT_WRITE";
  } else {
    if (old !== null) getPage(k.state, old, "do_wp_page:old");
    k.unlock(th, ptl);
    yield { thread: th, label: "do_wp_page:copy.unlocked" };
    const newPfn = anonVmaPrepare(k, vma, P) ? newAnonPage(k, P, "do_wp_page:new") : null;
    if (newPfn === null) {
      if (old !== null) putPage(k.state, old, "do_wp_page:old");
      return "VM_FAULT_OOM";
    }
    // cow_user_page()
    k.state.pages[newPfn].data = old !== null ? k.state.pages[old].data : 0;
    yield* k.hook(th, P, "copy.after_cow_user_page", {
      mm: mm.id,
      address: addr,
      ranges: { ...page, page_minus_one: [addr, addr + PAGE_SIZE - 1] },
    });
    invalidateStarted = true;
    yield { thread: th, label: "do_wp_page:copy.before_relock" };
    yield* k.lock(th, ptl, "spin");
    if (samePte(mm, addr, orig)) {
      const cur = clearFlush(k, mm, addr)!;
      yield* k.hook(th, P, "copy.after_pte_clear", { mm: mm.id, address: addr, ranges: page });
      if (old !== null) {
        const op = k.state.pages[old];
        if (op.owner.kind !== "zero") {
          op.mapcount--;
          if (op.owner.kind === "anon") mm.rss.anon--;
          else mm.rss.file--;
        }
        if (cur.t === "present" && cur.dirty) op.dirty = true;
        putPage(k.state, old, `pte:${mm.id}:${hex(addr)}`);
      }
      mapPage(k.state, mm, addr, newPfn, { write: vma.write, dirty: true });
      yield* k.hook(th, P, "copy.after_set_pte", { mm: mm.id, address: addr, ranges: page });
      ret = "VM_FAULT_WRITE";
    }
    putPage(k.state, newPfn, "do_wp_page:new");
    if (old !== null) putPage(k.state, old, "do_wp_page:old");
  }
  // unlock:
  k.unlock(th, ptl);
  yield* k.hook(th, P, "unlock", {
    mm: mm.id,
    address: addr,
    ranges: { ...page, page_minus_one: [addr, addr + PAGE_SIZE - 1] },
    guards: { invalidate_started: invalidateStarted },
  });
  if (dirtyPage !== null) {
    k.state.pages[dirtyPage].dirty = true;
    putPage(k.state, dirtyPage, "do_wp_page:dirty");
  }
  return ret;
}

function samePte(mm: Mm, addr: number, orig: NonNullable<Mm["ptes"][number]>): boolean {
  const cur = mm.ptes[vpn(addr)];
  return !!cur && cur.t === "present" && orig.t === "present" && cur.pfn === orig.pfn &&
    cur.write === orig.write;
}

/**
 * `follow_page()`: under the PTE lock, the page mapped at `addr` if the pte
 * allows the access, with a reference for `holder` (FOLL_GET), or null.
 * Marks the page accessed.
 */
export function* followPage(
  k: Kernel,
  th: string,
  mm: Mm,
  addr: number,
  write: boolean,
  holder: string,
): KGen<number | null> {
  const vma = findVma(mm, addr);
  if (!vma) return null;
  const a = pteAddr(vma, addr);
  const ptl = ptlName(mm.id, a);
  yield* k.lock(th, ptl, "spin");
  const pte = mm.ptes[vpn(a)];
  let pfn: number | null = null;
  if (pte && pte.t === "present" && (!write || pte.write) && !pte.special) {
    k.state.pages[pte.pfn].referenced = true;
    // mmu notifiers #v3 (docs/sources.md §5c, follow_page hunk): 'if (!pte_young(pte)) set_pte_at(..., pte_mkyoung(pte))'.
    if (k.variants.follow_page === "mkyoung") pte.young = true;
    if (write) pte.dirty = true;
    getPage(k.state, pte.pfn, holder);
    pfn = pte.pfn;
  }
  k.unlock(th, ptl);
  return pfn;
}

/** Result of {@link getUserPage}. */
export type GupResult = { pfn: number } | { error: FaultResult };

/**
 * `get_user_pages()` for one page: `follow_page`, faulting until it succeeds.
 * The caller must hold mmap_sem for read. The reference is held by `holder`.
 */
export function* getUserPage(
  k: Kernel,
  th: string,
  mm: Mm,
  addr: number,
  write: boolean,
  holder: string,
): KGen<GupResult> {
  for (let tries = 0; tries < 4; tries++) {
    const pfn = yield* followPage(k, th, mm, addr, write, holder);
    if (pfn !== null) return { pfn };
    const r = yield* handleMmFault(k, th, mm, addr, write);
    if (!faultOk(r)) return { error: r };
  }
  return { error: "VM_FAULT_OOM" };
}
