/**
 * Fork as in 2.6.24 kernel/fork.c `dup_mmap` and mm/memory.c
 * `copy_page_range`: COW mappings are write-protected in the parent.
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PMD_SIZE } from "../model/types.ts";
import { getPage, isCowMapping, newMm, pteHolder, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import { allocTables, mmapSemName, ptesIn, ptlName } from "./pgtable.ts";
import { exitMmap } from "./unmap.ts";

/** `copy_one_pte()`: shares the page, write-protecting both ptes of a COW mapping. */
function copyOnePte(k: Kernel, dst: Mm, src: Mm, vma: Vma, addr: number): void {
  const pte = src.ptes[vpn(addr)]!;
  if (pte.t !== "present") {
    if (pte.t === "swap") k.state.swap[pte.slot].from++;
    dst.ptes[vpn(addr)] = { ...pte };
    return;
  }
  if (isCowMapping(vma) && pte.write) pte.write = false; // ptep_set_wrprotect(src_mm, ...)
  const child = { ...pte, young: false, dirty: vma.shared ? false : pte.dirty };
  dst.ptes[vpn(addr)] = child;
  if (pte.special) return;
  const page = k.state.pages[pte.pfn];
  getPage(k.state, pte.pfn, pteHolder(dst.id, addr));
  if (page.owner.kind === "zero") return;
  page.mapcount++; // page_dup_rmap()
  if (page.owner.kind === "anon") dst.rss.anon++;
  else dst.rss.file++;
}

/**
 * `copy_page_range()` for one vma. Returns 0 or -ENOMEM when a page-table
 * page of the child cannot be allocated.
 */
export function* copyPageRange(k: Kernel, th: string, dst: Mm, src: Mm, vma: Vma): KGen<number> {
  const P = "copy_page_range";
  // Don't copy ptes where a page fault will fill them correctly.
  if (vma.kind !== "hugetlb" && vma.kind !== "pfnmap" && !vma.nonlinear && !vma.anonVma) return 0;
  if (vma.kind === "hugetlb") return copyHugetlbPageRange(k, dst, src, vma);
  const scope = {
    mm: src.id,
    ranges: { vma: [vma.start, vma.end] as [number, number] },
    guards: { is_cow_mapping: isCowMapping(vma) },
  };
  yield* k.hook(th, P, "entry", scope);
  let ret = 0;
  for (let chunk = vma.start - (vma.start % PMD_SIZE); chunk < vma.end; chunk += PMD_SIZE) {
    const lo = Math.max(chunk, vma.start);
    const hi = Math.min(chunk + PMD_SIZE, vma.end);
    const addrs = ptesIn(src, lo, hi);
    if (addrs.length === 0) continue;
    // copy_pte_range(): pte_alloc_map_lock() in the child, then the source PTE lock nested.
    if (!allocTables(k, dst, lo, P)) {
      ret = -12;
      break;
    }
    yield* k.lock(th, ptlName(dst.id, lo), "spin");
    yield* k.lock(th, ptlName(src.id, lo), "spin");
    for (const a of addrs) copyOnePte(k, dst, src, vma, a);
    k.unlock(th, ptlName(src.id, lo));
    k.unlock(th, ptlName(dst.id, lo));
    yield { thread: th, label: "copy_page_range:chunk" };
  }
  if (ret === 0) yield* k.hook(th, P, "exit", scope);
  yield* k.hook(th, P, "out", scope);
  return ret;
}

/** `copy_hugetlb_page_range()`: shares huge pages, write-protecting a private parent. */
function copyHugetlbPageRange(k: Kernel, dst: Mm, src: Mm, vma: Vma): number {
  for (const a of ptesIn(src, vma.start, vma.end)) {
    const pte = src.ptes[vpn(a)]!;
    if (pte.t !== "present") continue;
    if (isCowMapping(vma)) pte.write = false;
    dst.ptes[vpn(a)] = { ...pte };
    getPage(k.state, pte.pfn, pteHolder(dst.id, a));
    k.state.pages[pte.pfn].mapcount++;
    dst.rss.file++;
  }
  return 0;
}

/**
 * `dup_mmap()`: creates the child mm with a copy of every vma and their
 * ptes, holding both mmap_sems for write. On failure the child is torn down
 * and -ENOMEM returned. Returns 0 on success.
 */
export function* dupMmap(k: Kernel, th: string, parent: Mm, childId: string): KGen<number> {
  const child = newMm(childId);
  k.state.mms[childId] = child;
  yield* k.lock(th, mmapSemName(parent.id), "rwsem-write");
  yield* k.lock(th, mmapSemName(childId), "rwsem-write");
  let ret = 0;
  for (const vma of parent.vmas) {
    child.vmas.push({ ...vma });
    ret = yield* copyPageRange(k, th, child, parent, vma);
    if (ret) break;
  }
  // flush_tlb_mm(oldmm): the parent's write-protected ptes take effect.
  k.state.counters.tlbFlushMm++;
  k.unlock(th, mmapSemName(childId));
  k.unlock(th, mmapSemName(parent.id));
  if (ret) {
    yield* exitMmap(k, th, child);
    delete k.state.mms[childId];
  }
  return ret;
}
