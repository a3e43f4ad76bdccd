/**
 * Huge pages as in 2.6.24 mm/hugetlb.c, which 2.6.27 keeps on x86 for what
 * the model holds: the fault (`hugetlb_fault`, `hugetlb_no_page`), the
 * copy-on-write break (`hugetlb_cow`), fork (`copy_hugetlb_page_range`) and
 * `get_user_pages` on a huge page (`follow_hugetlb_page`). Huge ptes are
 * changed under `mm->page_table_lock`, not the split PTE locks.
 *
 * Neither tree calls a notifier in `hugetlb_cow` or `copy_hugetlb_page_range`
 * (docs/sources.md §7): the hook points here are where later kernels put
 * their calls, so a revision can place callouts there and the matrix shows
 * what each placement changes.
 *
 * Not modelled: 2.6.27's reservations (`vma_needs_reservation`, and
 * `unmap_ref_private` when the owner of a private mapping fails to COW),
 * hugetlb quotas (their SIGBUS) and shared huge pmds (`huge_pmd_share`).
 *
 * @module
 */
import type { Pte } from "../model/types.ts";
import { HPAGE_SIZE } from "../model/types.ts";
import {
  allocPage,
  getPage,
  pageCount,
  pteHolder,
  putPage,
  setPte,
  tableIndex,
  updatePage,
  updatePte,
  vpn,
} from "../model/state.ts";
import { hook, type HookScope, type Kernel, lock } from "./context.ts";
import { call, defPath, go, type PathRef, point, ret } from "./steps.ts";
import {
  allocHugeTables,
  forkScope,
  linearIndex,
  mapPage,
  pageTableLockName,
  pteAddr,
  vmaAt,
} from "./pgtable.ts";
import type { FaultResult, GupResult } from "./fault.ts";
import { addTo } from "../model/_count.ts";

/** The global `hugetlb_instantiation_mutex` of `hugetlb_fault()`. */
const INSTANTIATION_MUTEX = "hugetlb_instantiation_mutex";

/** The `[addr, addr + HPAGE_SIZE)` range of the huge page at `addr` (aligned). */
function hpage(addr: number): { hpage: [number, number] } {
  return { hpage: [addr, addr + HPAGE_SIZE] };
}

/** The values of the huge pte `hugetlb_cow` was called for (`pte`), compared after relocking. */
interface OrigHuge {
  pfn: number;
  write: boolean;
}

/** `pte_same()` on a huge pte. */
function sameHuge(pte: Pte | undefined, orig: OrigHuge): boolean {
  return !!pte && pte.t === "present" && pte.pfn === orig.pfn && pte.write === orig.write;
}

/**
 * `hugetlb_cow()`, entered with `page_table_lock` held for a write fault on a
 * present, write-protected huge pte; returns with it held. When the page has
 * one reference it makes the pte writable (`set_huge_ptep_writable`);
 * otherwise it copies the page with the lock dropped, relocks, and if the pte
 * is unchanged installs the copy writable. `huge_ptep_clear_flush()` before
 * `set_huge_pte_at()` is 2.6.26's (commit 8fe627ec5b, an empty inline on
 * x86, include/asm-x86/hugetlb.h:51 in v2.6.27); 2.6.24 sets the new pte over
 * the old one. No notifier is called (v2.6.24 hugetlb.c:790-829, v2.6.27
 * hugetlb.c:1790-1866).
 */
export const hugetlbCow: PathRef<{ mm: string; vma: number; addr: number }> = defPath<
  { mm: string; vma: number; addr: number },
  {
    /** The huge pte as the caller saw it. */
    orig?: OrigHuge;
    /** The copy. */
    newPfn?: number;
  },
  Kernel
>("hugetlb_cow", {
  entry(k, f) {
    const P = "hugetlb_cow";
    const mm = k.state.mms[f.v.mm];
    const pte = mm.ptes[vpn(f.v.addr)];
    if (!pte || pte.t !== "present") return ret("VM_FAULT_MINOR");
    f.v.orig = { pfn: pte.pfn, write: pte.write };
    const old = k.state.pages[pte.pfn];
    // avoidcopy = (page_count(old_page) == 1): a secondary's reference counts.
    if (pageCount(old) === 1) {
      // set_huge_ptep_writable(): pte_mkwrite(pte_mkdirty())
      updatePte(mm, vpn(f.v.addr), { write: true, dirty: true });
      return ret("VM_FAULT_MINOR");
    }
    getPage(k.state, old.pfn, "hugetlb_cow:old");
    if (!k.alloc("page", P)) {
      putPage(k.state, old.pfn, "hugetlb_cow:old");
      return ret("VM_FAULT_OOM");
    }
    // alloc_huge_page(): the copy stands for the same file page, outside the page cache.
    f.v.newPfn = allocPage(k.state, { ...old.owner }, "hugetlb_cow:new").pfn;
    k.unlock(f.th, pageTableLockName(mm.id));
    return point("hugetlb_cow:copy.unlocked", "copy.unlocked");
  },
  "copy.unlocked"(k, f) {
    // copy_huge_page()
    updatePage(k.state, f.v.newPfn!, { data: k.state.pages[f.v.orig!.pfn].data });
    const scope = { mm: f.v.mm, address: f.v.addr, ranges: hpage(f.v.addr) };
    return hook("hugetlb_cow", "copy.after_copy", scope, "copy.relock");
  },
  "copy.relock": (_k, f) => lock(pageTableLockName(f.v.mm), "spin", "copy.relocked"),
  "copy.relocked"(k, f) {
    const mm = k.state.mms[f.v.mm];
    if (!sameHuge(mm.ptes[vpn(f.v.addr)], f.v.orig!)) return go("copy.release");
    const scope = { mm: f.v.mm, address: f.v.addr, ranges: hpage(f.v.addr) };
    return hook("hugetlb_cow", "copy.before_clear", scope, "copy.clear");
  },
  "copy.clear"(_k, f) {
    // huge_ptep_clear_flush(): an empty inline on x86 in 2.6.27, absent in 2.6.24.
    const scope = { mm: f.v.mm, address: f.v.addr, ranges: hpage(f.v.addr) };
    return hook("hugetlb_cow", "copy.after_clear", scope, "copy.set");
  },
  "copy.set"(k, f) {
    const { addr } = f.v;
    const mm = k.state.mms[f.v.mm];
    const old = k.state.pages[f.v.orig!.pfn];
    // set_huge_pte_at(make_huge_pte(vma, new_page, 1)); "new_page = old_page" then drops
    // the old pte's reference below.
    updatePage(k.state, old.pfn, (p) => ({ mapcount: p.mapcount - 1 }));
    addTo(mm.rss, "file", -1);
    putPage(k.state, old.pfn, pteHolder(mm.id, addr));
    mapPage(k.state, mm, addr, f.v.newPfn!, { write: true, dirty: true });
    const scope = { mm: f.v.mm, address: addr, ranges: hpage(addr) };
    return hook("hugetlb_cow", "copy.after_set", scope, "copy.release");
  },
  "copy.release"(_k, f) {
    const scope = { mm: f.v.mm, address: f.v.addr, ranges: hpage(f.v.addr) };
    return hook("hugetlb_cow", "copy.release", scope, "copy.put");
  },
  "copy.put"(k, f) {
    putPage(k.state, f.v.newPfn!, "hugetlb_cow:new");
    putPage(k.state, f.v.orig!.pfn, "hugetlb_cow:old");
    return ret("VM_FAULT_MINOR");
  },
});

/**
 * `hugetlb_no_page()`: finds the huge page in the file's page cache, or
 * allocates one (a shared mapping adds it to the page cache, a private one
 * keeps it to itself); maps it writable only in a writable shared mapping,
 * and on a private write fault breaks COW at once through `hugetlb_cow`.
 * Called with `hugetlb_instantiation_mutex` held.
 */
const hugetlbNoPage = defPath<
  { mm: string; vma: number; addr: number; write: boolean },
  { pfn?: number; idx?: number; r?: FaultResult },
  Kernel
>("hugetlb_no_page", {
  entry(k, f) {
    const P = "hugetlb_no_page";
    const vma = vmaAt(k.state.mms[f.v.mm], f.v.vma);
    const file = k.state.files[vma.file!];
    const idx = linearIndex(vma, f.v.addr);
    f.v.idx = idx;
    const cached = file.cache[idx];
    if (cached !== undefined) {
      getPage(k.state, cached, P); // find_lock_page()
      f.v.pfn = cached;
    } else {
      if (idx < 0 || idx >= file.size) return ret("VM_FAULT_SIGBUS");
      if (!k.alloc("page", P)) return ret("VM_FAULT_OOM");
      const pfn = allocPage(k.state, { kind: "huge", file: file.name, index: idx }, P).pfn;
      if (vma.shared) {
        file.cache[idx] = pfn; // add_to_page_cache()
        getPage(k.state, pfn, `cache:${file.name}`);
      }
      f.v.pfn = pfn;
    }
    return lock(pageTableLockName(f.v.mm), "spin", "locked");
  },
  locked(k, f) {
    const P = "hugetlb_no_page";
    const { addr, write } = f.v;
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.vma);
    const pfn = f.v.pfn!;
    const sizeNow = k.state.files[vma.file!].size;
    if (f.v.idx! >= sizeNow || mm.ptes[vpn(addr)]) {
      // backout: truncated meanwhile (SIGBUS), or another thread mapped it (0).
      k.unlock(f.th, pageTableLockName(mm.id));
      putPage(k.state, pfn, P);
      return ret(f.v.idx! >= sizeNow ? "VM_FAULT_SIGBUS" : "VM_FAULT_MINOR");
    }
    const w = vma.write && vma.shared;
    mapPage(k.state, mm, addr, pfn, { write: w, dirty: w });
    putPage(k.state, pfn, P); // the reference becomes the pte's
    f.v.r = "VM_FAULT_MINOR";
    if (write && !vma.shared) {
      // "Optimization, do the COW without a second fault"
      return call(hugetlbCow, { mm: mm.id, vma: vma.start, addr }, "unlock", "r");
    }
    return go("unlock");
  },
  unlock(k, f) {
    k.unlock(f.th, pageTableLockName(f.v.mm));
    return ret(f.v.r);
  },
});

/**
 * `hugetlb_fault()`, which `handle_mm_fault()` calls first for a VM_HUGETLB
 * vma: allocates the pmd, then under `hugetlb_instantiation_mutex` either
 * instantiates the page (`hugetlb_no_page`) or, on a write fault to a
 * write-protected pte that is unchanged under `page_table_lock`, breaks COW
 * (`hugetlb_cow`). `addr` is the huge page's aligned address.
 */
export const hugetlbFault: PathRef<{ mm: string; vma: number; addr: number; write: boolean }> =
  defPath<
    { mm: string; vma: number; addr: number; write: boolean },
    { orig?: OrigHuge; r?: FaultResult },
    Kernel
  >("hugetlb_fault", {
    entry(k, f) {
      if (!allocHugeTables(k, k.state.mms[f.v.mm], f.v.addr, "hugetlb_fault")) {
        return ret("VM_FAULT_OOM");
      }
      return lock(INSTANTIATION_MUTEX, "sleeping", "mutexed");
    },
    mutexed(k, f) {
      const { mm, vma, addr, write } = f.v;
      const pte = k.state.mms[mm].ptes[vpn(addr)];
      f.v.r = "VM_FAULT_MINOR";
      if (!pte) return call(hugetlbNoPage, { mm, vma, addr, write }, "out", "r");
      if (pte.t !== "present") return go("out");
      f.v.orig = { pfn: pte.pfn, write: pte.write };
      return lock(pageTableLockName(mm), "spin", "locked");
    },
    locked(k, f) {
      const { mm, vma, addr, write } = f.v;
      // Check for a racing update before calling hugetlb_cow.
      if (sameHuge(k.state.mms[mm].ptes[vpn(addr)], f.v.orig!) && write && !f.v.orig!.write) {
        return call(hugetlbCow, { mm, vma, addr }, "unlock", "r");
      }
      return go("unlock");
    },
    unlock(k, f) {
      k.unlock(f.th, pageTableLockName(f.v.mm));
      return go("out");
    },
    out(k, f) {
      k.unlock(f.th, INSTANTIATION_MUTEX);
      return ret(f.v.r);
    },
  });

/**
 * `follow_hugetlb_page()`, which `get_user_pages()` calls for a VM_HUGETLB
 * vma: under `page_table_lock`, the huge page mapped at `addr` with a
 * reference for `holder`; a missing pte, or a write to a write-protected
 * one, goes through `hugetlb_fault` (not `handle_mm_fault`) and looks again.
 * Unlike `follow_page` it marks nothing accessed or dirty.
 */
export const followHugetlbPage: PathRef<
  { mm: string; addr: number; write: boolean; holder: string }
> = defPath<
  { mm: string; addr: number; write: boolean; holder: string },
  { tries?: number; a?: number; vma?: number; r?: FaultResult },
  Kernel
>("follow_hugetlb_page", {
  entry(k, f) {
    const mm = k.state.mms[f.v.mm];
    const vma = mm.vmas.find((v) => v.start <= f.v.addr && f.v.addr < v.end)!;
    f.v.vma = vma.start;
    f.v.a = pteAddr(vma, f.v.addr);
    return go("look");
  },
  look: (_k, f) => lock(pageTableLockName(f.v.mm), "spin", "locked"),
  locked(k, f) {
    const { write, holder } = f.v;
    const mm = k.state.mms[f.v.mm];
    const pte = mm.ptes[vpn(f.v.a!)];
    if (!pte || pte.t !== "present" || (write && !pte.write)) {
      k.unlock(f.th, pageTableLockName(mm.id));
      if ((f.v.tries ?? 0) >= 4) return ret({ error: "VM_FAULT_OOM" } satisfies GupResult);
      f.v.tries = (f.v.tries ?? 0) + 1;
      return call(hugetlbFault, { mm: mm.id, vma: f.v.vma!, addr: f.v.a!, write }, "faulted", "r");
    }
    getPage(k.state, pte.pfn, holder);
    k.unlock(f.th, pageTableLockName(mm.id));
    return ret({ pfn: pte.pfn } satisfies GupResult);
  },
  faulted(_k, f) {
    const r = f.v.r!;
    if (r !== "VM_FAULT_MINOR" && r !== "VM_FAULT_WRITE") {
      return ret({ error: r } satisfies GupResult);
    }
    return go("look");
  },
});

/**
 * `copy_hugetlb_page_range()`, which `copy_page_range()` returns into for a
 * VM_HUGETLB vma before any of its own callouts: for every huge pte of the
 * parent, allocates the child's pmd, then under both `page_table_lock`s
 * write-protects the parent's pte of a COW mapping (`ptep_set_wrprotect` in
 * 2.6.24, `huge_ptep_set_wrprotect` in 2.6.27) and shares the page with the
 * child. No notifier is called in either tree. Returns 0 or -ENOMEM (2.6.24
 * and 2.6.27 return at once, past the `exit` hook point; `out` is reached
 * both ways, the shape of the later fix).
 */
export const copyHugetlbPageRange: PathRef<{ dst: string; src: string; vma: number }> = defPath<
  { dst: string; src: string; vma: number },
  { scope?: HookScope; a?: number; r?: number },
  Kernel
>("copy_hugetlb_page_range", {
  entry(k, f) {
    const vma = vmaAt(k.state.mms[f.v.src], f.v.vma);
    f.v.scope = forkScope(f.v.src, vma);
    f.v.r = 0;
    f.v.a = vma.start - (vma.start % HPAGE_SIZE);
    return hook("copy_hugetlb_page_range", "entry", f.v.scope, "pte");
  },
  pte(k, f) {
    const src = k.state.mms[f.v.src];
    const vma = vmaAt(src, f.v.vma);
    for (let a = f.v.a!; a < vma.end; a += HPAGE_SIZE) {
      // huge_pte_offset(src, addr): nothing to copy without the parent's pmd.
      if (!src.tables.pmd[tableIndex("pmd", a)]) continue;
      if (!allocHugeTables(k, k.state.mms[f.v.dst], a, "copy_hugetlb_page_range")) {
        f.v.r = -12;
        return go("out");
      }
      f.v.a = a;
      return lock(pageTableLockName(f.v.dst), "spin", "pte.dst_locked");
    }
    return go("exit");
  },
  "pte.dst_locked": (_k, f) => lock(pageTableLockName(f.v.src), "spin", "pte.locked"),
  "pte.locked"(k, f) {
    const a = f.v.a!;
    const pte = k.state.mms[f.v.src].ptes[vpn(a)];
    if (!pte || pte.t !== "present") return go("pte.unlock");
    if (f.v.scope!.guards!.is_cow_mapping) {
      updatePte(k.state.mms[f.v.src], vpn(a), { write: false }); // ptep_set_wrprotect(src, ...)
    }
    const scope = { ...f.v.scope!, address: a, ranges: { ...f.v.scope!.ranges, ...hpage(a) } };
    return hook("copy_hugetlb_page_range", "pte.after_wrprotect", scope, "pte.copy");
  },
  "pte.copy"(k, f) {
    const a = f.v.a!;
    const src = k.state.mms[f.v.src];
    const dst = k.state.mms[f.v.dst];
    const pte = src.ptes[vpn(a)] as Extract<Pte, { t: "present" }>;
    // get_page(ptepage); set_huge_pte_at(dst, ...): the same pte, the same page.
    setPte(dst, vpn(a), pte);
    getPage(k.state, pte.pfn, pteHolder(dst.id, a));
    updatePage(k.state, pte.pfn, (p) => ({ mapcount: p.mapcount + 1 }));
    addTo(dst.rss, "file", 1);
    return go("pte.unlock");
  },
  "pte.unlock"(k, f) {
    k.unlock(f.th, pageTableLockName(f.v.src));
    k.unlock(f.th, pageTableLockName(f.v.dst));
    f.v.a = f.v.a! + HPAGE_SIZE;
    return point("copy_hugetlb_page_range:pte", "pte");
  },
  exit: (_k, f) => hook("copy_hugetlb_page_range", "exit", f.v.scope!, "out"),
  out: (_k, f) => hook("copy_hugetlb_page_range", "out", f.v.scope!, "end"),
  end: (_k, f) => ret(f.v.r),
});
