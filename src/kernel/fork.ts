/**
 * Fork as in 2.6.24 kernel/fork.c `dup_mmap` and mm/memory.c
 * `copy_page_range`: COW mappings are write-protected in the parent.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PMD_SIZE } from "../model/types.ts";
import {
  getPage,
  hasPteTable,
  isCowMapping,
  newMm,
  pteHolder,
  setPte,
  updatePage,
  updatePte,
  vpn,
} from "../model/state.ts";
import { hook, type HookScope, type Kernel, lock } from "./context.ts";
import { call, defPath, go, point, ret } from "./steps.ts";
import {
  allocTables,
  anonVmaLock,
  forkScope,
  immapName,
  mmapSemName,
  ptesIn,
  ptlName,
  rmapWriteKind,
  vmaAt,
} from "./pgtable.ts";
import { copyHugetlbPageRange } from "./hugetlb.ts";
import { exitMmap } from "./unmap.ts";
import { addTo } from "../model/_count.ts";

/** `copy_one_pte()`: shares the page, write-protecting both ptes of a COW mapping. */
function copyOnePte(k: Kernel, dst: Mm, src: Mm, vma: Vma, addr: number): void {
  let pte = src.ptes[vpn(addr)]!;
  if (pte.t !== "present") {
    if (pte.t === "swap") k.state.swap[pte.slot].from++;
    setPte(dst, vpn(addr), pte);
    return;
  }
  if (isCowMapping(vma) && pte.write) {
    pte = updatePte(src, vpn(addr), { write: false }); // ptep_set_wrprotect(src_mm, ...)
  }
  setPte(dst, vpn(addr), { ...pte, young: false, dirty: vma.shared ? false : pte.dirty });
  if (pte.special) return;
  getPage(k.state, pte.pfn, pteHolder(dst.id, addr));
  const page = k.state.pages[pte.pfn];
  if (page.owner.kind === "zero") return;
  updatePage(k.state, pte.pfn, (p) => ({ mapcount: p.mapcount + 1 })); // page_dup_rmap()
  if (page.owner.kind === "anon") addTo(dst.rss, "anon", 1);
  else addTo(dst.rss, "file", 1);
}

/**
 * `copy_page_range()` for one vma (`vma`: the start of the parent's vma).
 * Returns 0 or -ENOMEM when a page-table page of the child cannot be
 * allocated.
 */
export const copyPageRange = defPath<
  { dst: string; src: string; vma: number },
  {
    /** The hook points' scope, as computed at entry. */
    scope?: HookScope;
    /** The PMD-sized chunk being copied. */
    chunk?: number;
    /** Its first address in the vma. */
    lo?: number;
    /** Its end in the vma. */
    hi?: number;
    r?: number;
  },
  Kernel
>("copy_page_range", {
  entry(k, f) {
    const P = "copy_page_range";
    const src = k.state.mms[f.v.src];
    const vma = vmaAt(src, f.v.vma);
    // Don't copy ptes where a page fault will fill them correctly.
    if (vma.kind !== "hugetlb" && vma.kind !== "pfnmap" && !vma.nonlinear && !vma.anonVma) {
      return ret(0);
    }
    if (vma.kind === "hugetlb") {
      return call(copyHugetlbPageRange, { dst: f.v.dst, src: src.id, vma: vma.start }, "end", "r");
    }
    f.v.scope = forkScope(src.id, vma);
    f.v.r = 0;
    f.v.chunk = vma.start - (vma.start % PMD_SIZE);
    return hook(P, "entry", f.v.scope, "chunk");
  },
  chunk(k, f) {
    const P = "copy_page_range";
    const src = k.state.mms[f.v.src];
    const dst = k.state.mms[f.v.dst];
    const vma = vmaAt(src, f.v.vma);
    for (let chunk = f.v.chunk!; chunk < vma.end; chunk += PMD_SIZE) {
      const lo = Math.max(chunk, vma.start);
      const hi = Math.min(chunk + PMD_SIZE, vma.end);
      // copy_pmd_range(): 'if (pmd_none_or_clear_bad(src_pmd)) continue;' (v2.6.24
      // mm/memory.c:552-555): a chunk whose page table is there is copied, even with no pte in it.
      if (!hasPteTable(src, lo)) continue;
      // copy_pte_range(): pte_alloc_map_lock() in the child, then the source PTE lock nested.
      if (!allocTables(k, dst, lo, P)) {
        f.v.r = -12;
        return go("exit");
      }
      f.v.chunk = chunk;
      f.v.lo = lo;
      f.v.hi = hi;
      return lock(ptlName(dst.id, lo), "spin", "chunk.dst_locked");
    }
    return go("exit");
  },
  "chunk.dst_locked": (_k, f) => lock(ptlName(f.v.src, f.v.lo!), "spin", "chunk.locked"),
  "chunk.locked"(k, f) {
    const lo = f.v.lo!;
    const src = k.state.mms[f.v.src];
    const dst = k.state.mms[f.v.dst];
    const vma = vmaAt(src, f.v.vma);
    // copy_pte_range() reads the source ptes under both locks, skipping the pte_none() ones
    // (v2.6.24 mm/memory.c:505, 520-523): a truncation may have zapped some since the chunk was found.
    for (const a of ptesIn(src, lo, f.v.hi!)) copyOnePte(k, dst, src, vma, a);
    k.unlock(f.th, ptlName(src.id, lo));
    k.unlock(f.th, ptlName(dst.id, lo));
    return point("copy_page_range:chunk", "chunk.next");
  },
  "chunk.next"(_k, f) {
    f.v.chunk! += PMD_SIZE;
    return go("chunk");
  },
  exit(_k, f) {
    if (f.v.r === 0) return hook("copy_page_range", "exit", f.v.scope!, "out");
    return go("out");
  },
  out: (_k, f) => hook("copy_page_range", "out", f.v.scope!, "end"),
  end: (_k, f) => ret(f.v.r),
});

/**
 * `dup_mmap()`: creates the child mm with a copy of every vma and their
 * ptes, holding both mmap_sems for write. On failure the child is torn down
 * and -ENOMEM returned. Returns 0 on success.
 */
export const dupMmap = defPath<
  { parent: string; childId: string },
  // file: the file whose i_mmap_lock is taken to link the vma at index i; anon: its anon_vma
  { i?: number; r?: number; file?: string; anon?: string | false },
  Kernel
>("dup_mmap", {
  entry(k, f) {
    k.state.mms[f.v.childId] = newMm(f.v.childId);
    return lock(mmapSemName(f.v.parent), "rwsem-write", "parent_locked");
  },
  parent_locked(_k, f) {
    f.v.r = 0;
    f.v.i = 0;
    return lock(mmapSemName(f.v.childId), "rwsem-write", "vma");
  },
  vma(k, f) {
    const vma = k.state.mms[f.v.parent].vmas[f.v.i!];
    if (!vma) return go("flush");
    f.v.file = vma.file;
    f.v.anon = vma.anonVma;
    // anon_vma_link(tmp) first: the copy joins the anon_vma's list under 'spin_lock(&anon_vma->lock)'
    // (v2.6.24 kernel/fork.c:265, mm/rmap.c:111-119; v2.6.27 312).
    if (vma.anonVma) return lock(anonVmaLock(vma.anonVma), rmapWriteKind(k), "anon_linked");
    return go("anon_linked");
  },
  anon_linked(k, f) {
    // A file's vma goes into the file's prio tree, its vm_truncate_count copied, under
    // i_mmap_lock (v2.6.24 kernel/fork.c:274-279; v2.6.27 321-326). The model's one vma list
    // stands for both: a vma with a file joins it there, one without under the anon_vma's lock.
    if (!f.v.file) return go("link");
    if (f.v.anon) k.unlock(f.th, anonVmaLock(f.v.anon));
    return lock(immapName(f.v.file), rmapWriteKind(k), "link");
  },
  link(k, f) {
    const parent = k.state.mms[f.v.parent];
    const vma = parent.vmas[f.v.i!];
    // A parent that lost the vma meanwhile gives the child none more. (The loader refuses a step
    // whose other thread exits the mm, and munmap and mremap wait for the mmap_sem fork holds.)
    const gone = !vma || vma.file !== f.v.file;
    // The child's copy is not mlocked: 'tmp->vm_flags &= ~VM_LOCKED;' (v2.6.24 kernel/fork.c:262;
    // v2.6.27 309).
    if (!gone) k.state.mms[f.v.childId].vmas.push({ ...vma, locked: false });
    if (f.v.file) k.unlock(f.th, immapName(f.v.file));
    else if (f.v.anon) k.unlock(f.th, anonVmaLock(f.v.anon));
    f.v.anon = undefined;
    if (gone) return go("flush");
    return call(copyPageRange, { dst: f.v.childId, src: parent.id, vma: vma.start }, "copied", "r");
  },
  copied(_k, f) {
    if (f.v.r) return go("flush");
    f.v.i!++;
    return go("vma");
  },
  flush(k, f) {
    // flush_tlb_mm(oldmm): the parent's write-protected ptes take effect.
    addTo(k.state.counters, "tlbFlushMm", 1);
    k.unlock(f.th, mmapSemName(f.v.childId));
    k.unlock(f.th, mmapSemName(f.v.parent));
    if (f.v.r) return call(exitMmap, { mm: f.v.childId }, "exited");
    return ret(f.v.r);
  },
  exited(k, f) {
    delete k.state.mms[f.v.childId];
    return ret(f.v.r);
  },
});
