/**
 * Address-space changes as in 2.6.24 mm/mmap.c and mm/mprotect.c:
 * `do_mmap_pgoff` (simplified: no merging), `do_munmap` with vma splitting
 * and `unmap_region`, and `mprotect_fixup` with `change_protection` and
 * `hugetlb_change_protection`.
 *
 * @module
 */
import type { Mm, MmState, Vma } from "../model/types.ts";
import { HPAGE_SIZE, PAGE_SIZE, PUD_SIZE } from "../model/types.ts";
import { hasPteTable, setPte, sortVmas, updatePte, vpn } from "../model/state.ts";
import { hook, type HookScope, type Kernel, lock } from "./context.ts";
import { call, defPath, go, ret } from "./steps.ts";
import {
  immapName,
  pageTableLockName,
  pmdAddrEnd,
  protWritableOnRead,
  ptesIn,
  ptlName,
  rmapWriteKind,
  vmaAt,
} from "./pgtable.ts";
import { unmapRegion } from "./unmap.ts";
import { handleMmFault } from "./fault.ts";
import { addTo } from "../model/_count.ts";

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
 * `do_munmap()`: splits the vmas at the range's edges and calls
 * `unmap_region`, whose `free_pgtables()` takes them out of `mm.vmas`. (The
 * kernel detaches them from the mm's own list first,
 * `detach_vmas_to_be_unmapped()`, v2.6.24 mm/mmap.c:1886, v2.6.27 1919,
 * which only readers under mmap_sem see, and the caller holds mmap_sem for
 * write; the model's list stands for the mapping's prio tree too, which the
 * vmas leave in `free_pgtables()`.) Returns 0.
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
  // unmap_region()'s free_pgtables() took the vmas out; remove_vma_list() frees them.
  unmapped: () => ret(0),
});

/**
 * Inserts a new vma, unmapping what it replaces (MAP_FIXED). The caller holds
 * mmap_sem for write. `vma` is the new vma by value, not yet in the mm.
 * `vma_link()` links a file's vma under the mapping's `i_mmap_lock` and
 * gives it the mapping's `truncate_count` (v2.6.24 mm/mmap.c:436-438;
 * v2.6.27 455-457), so a truncation that dropped the lock to reschedule
 * skips it when it starts again, as one it has done.
 */
export const doMmap = defPath<{ mm: string; vma: Vma }, Record<never, never>, Kernel>("do_mmap", {
  entry(_k, f) {
    const { vma } = f.v;
    return call(doMunmap, { mm: f.v.mm, start: vma.start, len: vma.end - vma.start }, "unmapped");
  },
  unmapped(k, f) {
    const file = f.v.vma.file;
    if (file !== undefined) return lock(immapName(file), rmapWriteKind(k), "vma_link");
    return go("vma_link");
  },
  vma_link(k, f) {
    const mm = k.state.mms[f.v.mm];
    // A copy goes into the mm: the frame's vma stays the frame's.
    const vma: Vma = { ...f.v.vma };
    if (vma.file !== undefined) {
      vma.truncateCount = k.state.files[vma.file].truncateCount ?? 0;
      k.unlock(f.th, immapName(vma.file));
    }
    mm.vmas.push(vma);
    sortVmas(mm);
    return ret(vma.start);
  },
});

/**
 * `mmap_region()` as `sys_mmap2()` reaches it, with mmap_sem held for write
 * (v2.6.24 arch/x86/kernel/sys_i386_32.c:57-59): {@link doMmap}, then for
 * MAP_LOCKED (`locked`) `make_pages_present()` over the new vma, still
 * under mmap_sem (v2.6.24 mm/mmap.c:1197-1200; v2.6.27 1226-1229):
 * `get_user_pages()` of every page, for write where the vma is writable
 * (v2.6.24 mm/memory.c:2604-2621; v2.6.27 2761), which on a vma with no pte
 * yet is one fault a page; on a vma neither readable nor writable it fails
 * before any fault, `-EFAULT` (v2.6.24 get_user_pages(), lines 987-988 and
 * 1035-1037), which `mmap_region()` ignores. Returns the address mapped.
 */
export const mmapRegion = defPath<
  { mm: string; vma: Vma; locked: boolean },
  // p: make_pages_present()'s next address
  { p?: number },
  Kernel
>("mmap_region", {
  entry: (_k, f) => call(doMmap, { mm: f.v.mm, vma: f.v.vma }, "mapped"),
  mapped(_k, f) {
    const { vma } = f.v;
    if (!f.v.locked || (!vma.read && !vma.write)) return ret(vma.start);
    f.v.p = f.v.vma.start;
    return go("make_pages_present");
  },
  make_pages_present(_k, f) {
    const { vma } = f.v;
    if (f.v.p! >= vma.end) return ret(vma.start);
    const addr = f.v.p!;
    f.v.p = addr + PAGE_SIZE;
    return call(handleMmFault, { mm: f.v.mm, addr, write: vma.write }, "make_pages_present");
  },
});

/**
 * `sys_mprotect()`'s loop over the vmas of the range and `mprotect_fixup()`
 * for each (v2.6.24 mm/mprotect.c:133-215; v2.6.27 139-226). A vma whose
 * flags do not change is left alone, unsplit and without callouts ('if
 * (newflags == oldflags)', line 142; v2.6.27 148). Otherwise the vma's part
 * of the range is split off and takes the new flags and `vm_page_prot`
 * (194-199): a private vma's never allows writes (PAGE_COPY: a write faults
 * and `do_wp_page()` copies a page another mm still shares, or reuses it);
 * a shared writable vma's does unless it wants write notifications
 * (`vma_wants_writenotify()`, mm/mmap.c:1040-1064, {@link wantsWritenotify}), in which case
 * `dirty_accountable` keeps write on the ptes already dirty (mprotect.c:53-54).
 * Then, between the hook points `before` and `after` (v2.6.27
 * mm/mprotect.c:207-212, where `mmu_notifier_invalidate_range_start(mm,
 * start, end)` and `_end` enclose 'if (is_vm_hugetlb_page(vma))
 * hugetlb_change_protection(...); else change_protection(...)'), it
 * rewrites the ptes of that part (`pte_modify()` keeps a pte's dirty and
 * young bits) and flushes the TLB range. Inside, `change_pmd_range()` has
 * the hook points `pmd.populated`, at the first pmd of a pud's part of the
 * range with a page table, and `pmd.walked`, after that part's walk, on the
 * range from that pmd to the part's end: where v4.9 makes the pair
 * (mm/mprotect.c:158-162 and 190-191, before the TLB flush and only when a
 * pmd is populated; a hugetlb vma's pair is `hugetlb_change_protection()`'s
 * own, around the whole range, mm/hugetlb.c:4056 and 4106, where `before`
 * and `after` are, with their guard `is_vm_hugetlb_page`). PROT_NONE leaves
 * the ptes present for the kernel and not for the MMU (`protNone`, i386
 * `_PAGE_PROTNONE`), so a CPU access faults. The caller holds mmap_sem for
 * write. Returns 0.
 */
export const mprotectFixup = defPath<
  { mm: string; start: number; end: number; read: boolean; write: boolean },
  {
    /** The vmas of the range whose flags change, after splitting, by start address. */
    vmas?: number[];
    /** Index in `vmas` of the vma being changed. */
    v?: number;
    /** The range of that vma both hook points pass (one array, as the code passes one). */
    requested?: [number, number];
    /** The next address to change in that range (`change_pmd_range()`'s `addr`). */
    addr?: number;
    /**
     * From the first pmd with a page table of the pud's part being walked to that part's end
     * (v4.9 `change_pmd_range()`'s `mni_start` and `end`); absent before one is found.
     */
    populated?: [number, number];
  },
  Kernel
>("mprotect_fixup", {
  entry(k, f) {
    const { start, end, read, write } = f.v;
    const mm = k.state.mms[f.v.mm];
    const changing = mm.vmas
      .filter((v) => v.start < end && v.end > start && (v.read !== read || v.write !== write))
      .map((v) => [Math.max(start, v.start), Math.min(end, v.end)]);
    for (const [s, e] of changing) {
      splitAt(mm, s);
      splitAt(mm, e);
    }
    f.v.vmas = changing.map(([s]) => s);
    f.v.v = 0;
    return go("vma");
  },
  vma(k, f) {
    const { read, write } = f.v;
    const mm = k.state.mms[f.v.mm];
    if (f.v.v! >= f.v.vmas!.length) return ret(0);
    const vma = mm.vmas.find((v) => v.start === f.v.vmas![f.v.v!])!;
    vma.read = read;
    vma.write = write;
    if (write) vma.mayWrite = true;
    f.v.requested = [vma.start, vma.end];
    return hook("mprotect_fixup", "before", hugetlbScope(mm.id, vma, f.v.requested), "change");
  },
  change(k, f) {
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.requested![0]);
    if (vma.kind === "hugetlb") {
      return lock(immapName(vma.file!), rmapWriteKind(k), "huge.i_mmap_locked");
    }
    f.v.addr = f.v.requested![0];
    return go("pte");
  },
  // change_protection() (v2.6.24 mm/mprotect.c:109-128): each page table of the range under its
  // pte lock, taken once whatever the table holds (change_pte_range(), 29-75; a table not
  // allocated is skipped, 87-88), then flush_tlb_range().
  pte(k, f) {
    const addr = f.v.addr!;
    const end = f.v.requested![1];
    // change_pmd_range() is called for each pud's part of the range; after its loop, where a pmd
    // was populated (v4.9 mm/mprotect.c:190-191).
    if (f.v.populated && addr >= f.v.populated[1]) {
      const scope = { mm: f.v.mm, ranges: { populated: f.v.populated } };
      return hook("mprotect_fixup", "pmd.walked", scope, "pmd.walked");
    }
    if (addr >= end) {
      addTo(k.state.counters, "tlbFlushRange", 1);
      delete f.v.addr;
      return go("changed");
    }
    if (!hasPteTable(k.state.mms[f.v.mm], addr)) {
      f.v.addr = pmdAddrEnd(addr, end);
      return go("pte");
    }
    if (!f.v.populated) {
      // The first populated pmd of this pud's part (v4.9 mm/mprotect.c:158-162).
      f.v.populated = [addr, Math.min(addr - (addr % PUD_SIZE) + PUD_SIZE, end)];
      const scope = { mm: f.v.mm, ranges: { populated: f.v.populated } };
      return hook("mprotect_fixup", "pmd.populated", scope, "pte.populated");
    }
    return go("pte.populated");
  },
  "pmd.walked"(_k, f) {
    delete f.v.populated;
    return go("pte");
  },
  "pte.populated": (_k, f) => lock(ptlName(f.v.mm, f.v.addr!), "spin", "pte.locked"),
  "pte.locked"(k, f) {
    const from = f.v.addr!;
    const to = pmdAddrEnd(from, f.v.requested![1]);
    const mm = k.state.mms[f.v.mm];
    const vma = vmaAt(mm, f.v.requested![0]);
    // vm_page_prot allows writes: a shared writable vma without write notifications.
    const protWrite = protWritableOnRead(k.state, vma);
    const dirtyAccountable = wantsWritenotify(k.state, vma);
    // The ptes as they are under the lock: pte_modify(ptent, newprot), and write again where
    // 'dirty_accountable && pte_dirty(ptent)'.
    for (const a of ptesIn(mm, from, to)) {
      const pte = mm.ptes[vpn(a)];
      if (pte.t !== "present") continue;
      // PAGE_NONE: present for the kernel, not for the MMU (_PAGE_PROTNONE).
      const { protNone: _, ...rest } = pte;
      const write = protWrite || (dirtyAccountable && pte.dirty);
      setPte(mm, vpn(a), vma.read ? { ...rest, write } : { ...rest, write, protNone: true });
    }
    k.unlock(f.th, ptlName(mm.id, from));
    f.v.addr = to;
    return go("pte");
  },
  // hugetlb_change_protection() (v2.6.27 mm/hugetlb.c:2132-2162): i_mmap_lock, then
  // page_table_lock, 'pte_mkhuge(pte_modify(pte, newprot))' on every huge pte, both
  // unlocked, then flush_tlb_range().
  "huge.i_mmap_locked"(_k, f) {
    return lock(pageTableLockName(f.v.mm), "spin", "huge.locked");
  },
  "huge.locked"(k, f) {
    const { write } = f.v;
    const [start, end] = f.v.requested!;
    const mm = k.state.mms[f.v.mm];
    const vma = mm.vmas.find((v) => v.start === start)!;
    for (let a = start - (start % HPAGE_SIZE); a < end; a += HPAGE_SIZE) {
      const pte = mm.ptes[vpn(a)];
      // hugetlbfs does no dirty accounting: the new vm_page_prot gives write to a shared
      // mapping made writable (PAGE_SHARED) and never to a private one (PAGE_COPY).
      if (pte && pte.t === "present") updatePte(mm, vpn(a), { write: write && vma.shared });
    }
    k.unlock(f.th, pageTableLockName(mm.id));
    k.unlock(f.th, immapName(vma.file!));
    addTo(k.state.counters, "tlbFlushRange", 1);
    return go("changed");
  },
  changed(k, f) {
    const vma = vmaAt(k.state.mms[f.v.mm], f.v.requested![0]);
    return hook("mprotect_fixup", "after", hugetlbScope(f.v.mm, vma, f.v.requested!), "next");
  },
  next(_k, f) {
    delete f.v.requested;
    f.v.v!++;
    return go("vma");
  },
});

/** The scope of `mprotect_fixup`'s `before` and `after`: the vma's range, and whether it is hugetlb. */
function hugetlbScope(mm: string, vma: Vma, requested: [number, number]): HookScope {
  return {
    mm,
    ranges: { requested },
    guards: { is_vm_hugetlb_page: vma.kind === "hugetlb" },
  };
}

/**
 * `vma_wants_writenotify()` (v2.6.24 mm/mmap.c:1040-1064): a shared
 * writable file vma whose file has `->page_mkwrite` or counts dirty pages (a
 * regular file; shmem does not): its `vm_page_prot` leaves out write, and a
 * write fault marks the page dirty.
 */
function wantsWritenotify(state: MmState, vma: Vma): boolean {
  return vma.shared && vma.write && vma.file !== undefined && !protWritableOnRead(state, vma);
}
