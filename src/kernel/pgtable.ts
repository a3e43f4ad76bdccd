/**
 * Page-table primitives shared by the kernel paths: table allocation,
 * mapping and zapping one PTE with its rmap and reference bookkeeping
 * ({@link pageRemoveRmap} for every path that clears a present pte), and
 * TLB flush accounting.
 *
 * @module
 */
import type { Mm, MmState, Page, Pte, Vma } from "../model/types.ts";
import { HPAGE_SIZE, PAGE_SIZE, PMD_SIZE } from "../model/types.ts";
import {
  allocPage,
  findVma,
  getPage,
  hex,
  isCowMapping,
  pageCount,
  pteHolder,
  putPage,
  setPte,
  SWAP_CACHE,
  swapCacheSlot,
  tableIndex,
  updatePage,
  vpn,
} from "../model/state.ts";
import { type HookScope, type Kernel, KernelBug } from "./context.ts";
import { addTo } from "../model/_count.ts";

/**
 * The vma of `mm` that starts at `start`: a frame names a vma by its start
 * and finds it again in every step. Throws when it is gone (unmapped while
 * the path ran, which the mmap_sem its callers hold excludes).
 */
export function vmaAt(mm: Mm, start: number): Vma {
  const vma = mm.vmas.find((v) => v.start === start);
  // The model's exit and MAP_LOCKED populate take no mmap_sem, so a racing thread can see
  // the vma it found go; the kernel's mmap_sem rules that out. The thread stops there.
  if (!vma) {
    throw new KernelBug("vma", `the vma at ${hex(start)} of mm ${mm.id} went while a path used it`);
  }
  return vma;
}

/**
 * The scope of fork's hook points for vma `vma` of `mm` (`copy_page_range`,
 * `copy_hugetlb_page_range`): the vma's range, and whether it is a COW
 * mapping, whose parent ptes fork write-protects.
 */
export function forkScope(mm: string, vma: Vma): HookScope {
  return {
    mm,
    ranges: { vma: [vma.start, vma.end] },
    guards: { is_cow_mapping: isCowMapping(vma) },
  };
}

/**
 * `linear_page_index()`: the file page a linear vma maps at `addr` (for a
 * hugetlb vma, the huge page: `vma_hugecache_offset()`, with the model's
 * `pgoff` in huge pages).
 */
export function linearIndex(vma: Vma, addr: number): number {
  const unit = vma.kind === "hugetlb" ? 512 : 1;
  return vma.pgoff + Math.floor((addr - vma.start) / PAGE_SIZE / unit);
}

/** Name of the PTE lock covering `addr` (split PTE locks: one per page-table page). */
export function ptlName(mm: string, addr: number): string {
  return `ptl:${mm}:${tableIndex("pte", addr)}`;
}

/** Name of a file's i_mmap_lock. */
export function immapName(file: string): string {
  return `i_mmap_lock:${file}`;
}

/** Name of an anon_vma's lock (`anon_vma->lock`), by the anon_vma's name ({@link Vma.anonVma}). */
export function anonVmaLock(anonVma: string): string {
  return `anon_vma:${anonVma}`;
}

/**
 * How a reverse-map walk holds a mapping's or an anon_vma's lock
 * (`kernel.rmap_lock`): a spinlock (v2.6.27 mm/rmap.c page_lock_anon_vma()
 * 'spin_lock(&anon_vma->lock)', try_to_unmap_file()
 * 'spin_lock(&mapping->i_mmap_lock)'), or a read-held rwsem (v4.9 mm/rmap.c
 * rmap_walk_anon_lock() 'anon_vma_lock_read(anon_vma)', line 1737, and
 * rmap_walk_file() 'i_mmap_lock_read(mapping)', line 1829).
 */
export function rmapReadKind(k: Kernel): "spin" | "rwsem-read" {
  return k.variants.rmap_lock === "rwsem" ? "rwsem-read" : "spin";
}

/**
 * How a path that changes what those locks protect holds one (truncation,
 * linking and unlinking a vma, `mm_take_all_locks()`): the same spinlock,
 * or the rwsem held for write (v4.9 include/linux/fs.h:503-506
 * `i_mmap_lock_write()`, include/linux/rmap.h:115 `anon_vma_lock_write()`),
 * under which a callout may sleep.
 */
export function rmapWriteKind(k: Kernel): "spin" | "rwsem-write" {
  return k.variants.rmap_lock === "rwsem" ? "rwsem-write" : "spin";
}

/** Name of a page's lock (`PG_locked`; `lock_page()`, `TestSetPageLocked()`). */
export function pageLockName(pfn: number): string {
  return `page_lock:${pfn}`;
}

/** Whether a thread holds page `pfn`'s lock: where `TestSetPageLocked()` fails. */
export function pageLocked(k: Kernel, pfn: number): boolean {
  return k.owners[pageLockName(pfn)] !== undefined;
}

/** Name of an mm's mmap_sem. */
export function mmapSemName(mm: string): string {
  return `mmap_sem:${mm}`;
}

/** Name of an mm's page_table_lock. */
export function pageTableLockName(mm: string): string {
  return `page_table_lock:${mm}`;
}

/**
 * `pud_alloc`/`pmd_alloc`/`pte_alloc_map`: allocates the missing page-table
 * pages for `addr`. Returns false when an allocation fails (-ENOMEM).
 */
export function allocTables(k: Kernel, mm: Mm, addr: number, path: string): boolean {
  return allocLevels(k, mm, addr, path, ["pud", "pmd", "pte"]);
}

/** Allocates the missing page-table pages of `levels` for `addr`; false when one fails. */
function allocLevels(
  k: Kernel,
  mm: Mm,
  addr: number,
  path: string,
  levels: readonly ("pud" | "pmd" | "pte")[],
): boolean {
  for (const level of levels) {
    const i = tableIndex(level, addr);
    if (mm.tables[level][i]) continue;
    if (!k.alloc(level, path)) return false;
    mm.tables[level][i] = true;
    addTo(k.state.counters, "tablesAllocated", 1);
  }
  return true;
}

/**
 * `huge_pte_alloc()` (x86, arch/x86/mm/hugetlbpage.c): a huge pte lives in
 * the pmd, so only the pud and pmd pages are allocated. Returns false when an
 * allocation fails.
 */
export function allocHugeTables(k: Kernel, mm: Mm, addr: number, path: string): boolean {
  return allocLevels(k, mm, addr, path, ["pud", "pmd"]);
}

/** Whether a vma's `vm_page_prot` lets a read fault map the page writable (no write-notify). */
export function protWritableOnRead(state: MmState, vma: Vma): boolean {
  if (!vma.shared || !vma.write || !vma.file) return false;
  const f = state.files[vma.file];
  // vma_wants_writenotify(): page_mkwrite or a dirty-accountable backing device.
  return f.pageMkwrite === "none" && f.kind !== "regular";
}

/** The zero page's pfn in each state that has one (pages are never removed from a state). */
const ZERO_PFN = new WeakMap<MmState, number>();

/** The global ZERO_PAGE, created on first use. */
export function zeroPage(state: MmState): number {
  // Remembered: a scan of every page on every read fault made large mappings quadratic.
  const known = ZERO_PFN.get(state);
  if (known !== undefined) return known;
  let pfn: number | undefined;
  for (const k in state.pages) {
    if (state.pages[k].owner.kind === "zero") {
      pfn = state.pages[k].pfn;
      break;
    }
  }
  pfn ??= allocPage(state, { kind: "zero" }, "kernel:zero_page").pfn;
  ZERO_PFN.set(state, pfn);
  return pfn;
}

/** Installs a present PTE for a page: `page_add_*_rmap`, a reference for the pte, rss. */
export function mapPage(
  state: MmState,
  mm: Mm,
  addr: number,
  pfn: number,
  opts: { write: boolean; dirty?: boolean; young?: boolean },
): void {
  setPte(mm, vpn(addr), {
    t: "present",
    pfn,
    write: opts.write,
    young: opts.young ?? true,
    dirty: opts.dirty ?? false,
  });
  getPage(state, pfn, pteHolder(mm.id, addr));
  const page = state.pages[pfn];
  if (page.owner.kind !== "zero") {
    updatePage(state, pfn, (p) => ({ mapcount: p.mapcount + 1 }));
    if (page.owner.kind === "anon") addTo(mm.rss, "anon", 1);
    else addTo(mm.rss, "file", 1);
  }
}

/**
 * `page_remove_rmap()` for a present pte its caller has just cleared, with
 * the bookkeeping every such caller does beside it: the pte's dirty bit
 * moves to the page (`set_page_dirty()`), and its young bit too when the
 * caller passes it (`zap_pte_range()` marks the page accessed); the
 * mapcount drops, and so does the mm's rss counter of the page's kind
 * (`dec_mm_counter()`), or the counter the caller names. What differs
 * between the callers stays with them: whether the page may be the
 * ZERO_PAGE (it is in no rmap: a caller that can meet it skips it), what
 * the pte becomes, and when and for which holder the pte's page reference
 * is dropped.
 *
 * @param state The model state.
 * @param mm The mm whose pte mapped the page.
 * @param page The page (its record as read before, or as it is now).
 * @param opts `dirty` and `young`: the cleared pte's bits to move to the
 *   page; `rss`: the counter to drop when the caller counts every page it
 *   unmaps as a file page.
 */
export function pageRemoveRmap(
  state: MmState,
  mm: Mm,
  page: Page,
  opts: { dirty?: boolean; young?: boolean; rss?: "file" } = {},
): void {
  // On the record as it is now: a caller's may be a snapshot from before a write.
  updatePage(state, page.pfn, (now) => ({
    dirty: now.dirty || !!opts.dirty,
    referenced: now.referenced || !!opts.young,
    mapcount: now.mapcount - 1,
  }));
  addTo(mm.rss, opts.rss ?? (page.owner.kind === "anon" ? "anon" : "file"), -1);
}

/** Installs a PFN-map PTE (no struct page). */
export function mapPfn(mm: Mm, addr: number, pfn: number, write: boolean): void {
  setPte(mm, vpn(addr), { t: "present", pfn, write, young: true, dirty: false, special: true });
}

/**
 * Clears the PTE at `addr` the way `zap_pte()` does (v2.6.24
 * mm/fremap.c:23-47, v2.6.27 24-48; F8's, seed 001 line 245, the same):
 * moves the dirty bit to the page (`if (pte_dirty(pte))
 * set_page_dirty(page);`) and not the young bit, which `zap_pte_range()`
 * moves (`SetPageReferenced()`, v2.6.24 mm/memory.c:677-678); drops the
 * rmap and the pte's reference, frees a swap entry. Returns the old PTE.
 */
export function zapPte(k: Kernel, mm: Mm, addr: number): Pte | undefined {
  const state = k.state;
  const key = vpn(addr);
  const pte = mm.ptes[key];
  if (!pte) return undefined;
  setPte(mm, key, undefined);
  if (pte.t === "present" && !pte.special) {
    const page = state.pages[pte.pfn];
    if (page.owner.kind !== "zero") pageRemoveRmap(state, mm, page, { dirty: pte.dirty });
    putPage(state, pte.pfn, pteHolder(mm.id, addr));
  } else if (pte.t === "swap") {
    freeSwapAndCache(k, pte.slot);
  }
  return pte;
}

/**
 * `can_share_swap_page()` of a page its caller has locked: whether it has
 * one user, its mapcount and, when it is in the swap cache and mapped at
 * most once, the swap entries that still refer to it (`page_swapcount()`,
 * the slot's count less the swap cache's own), so that the page of a swap
 * entry another mm still holds is not written for one of them (v2.6.24
 * mm/swapfile.c:310-339, v2.6.27 312-341).
 */
export function canShareSwapPage(state: MmState, page: Page): boolean {
  let count = page.mapcount;
  const slot = count <= 1 ? swapCacheSlot(state, page.pfn) : undefined;
  if (slot !== undefined) count += state.swap[slot].from;
  return count === 1;
}

/**
 * Whether the caller, which holds page `pfn`'s lock, may write it as its
 * only user: {@link canShareSwapPage} under `kernel.swap_cache`
 * "remove-exclusive" (2.6.24 to 2.6.27), `reuse_swap_page()` under
 * "try-to-free" (4.x), which counts the same and takes out of the swap
 * cache, dirtied, the page it agrees to: 'if (count == 1 &&
 * !PageWriteback(page)) { delete_from_swap_cache(page); SetPageDirty(page);
 * }' (v4.9 mm/swapfile.c:936-952; the model writes nothing back
 * asynchronously).
 */
export function reuseSwapPage(k: Kernel, pfn: number): boolean {
  const page = k.state.pages[pfn];
  const reuse = canShareSwapPage(k.state, page);
  if (!reuse || k.variants.swap_cache !== "try-to-free") return reuse;
  const slot = swapCacheSlot(k.state, pfn);
  if (slot !== undefined) freeFromSwapCache(k, slot, pfn);
  return true;
}

/**
 * Whether page `pfn`, in the swap cache with no swap pte on its slot and
 * its lock free, leaves the cache outside reclaim, when the caller holds
 * `held` references to it besides the cache's: under `kernel.swap_cache`
 * "remove-exclusive" (2.6.24 to 2.6.27) if those are its only references
 * (`remove_exclusive_swap_page()`'s 'page_count(page) != 2',
 * `free_swap_and_cache()`'s 'one_user = (page_count(page) == 2)', each
 * counting the caller's), under "try-to-free" (4.x) if no pte maps it
 * ('!page_mapped(page)'). See {@link freeSwapAndCache} and
 * `free_swap_cache()` in `unmap.ts` for the lines.
 */
export function swapCacheFreeable(k: Kernel, pfn: number, held: number): boolean {
  const page = k.state.pages[pfn];
  return k.variants.swap_cache === "try-to-free"
    ? page.mapcount === 0
    : pageCount(page) === 1 + held;
}

/**
 * Takes page `pfn` out of the swap cache at `slot` and dirties it, its
 * data being in no slot any more: 'delete_from_swap_cache(page);
 * SetPageDirty(page);' of `remove_exclusive_swap_page()`,
 * `free_swap_and_cache()`, `try_to_free_swap()` and `reuse_swap_page()`.
 */
export function freeFromSwapCache(k: Kernel, slot: number, pfn: number): void {
  updatePage(k.state, pfn, { dirty: true });
  deleteFromSwapCache(k.state, slot, pfn);
}

/**
 * `swap_free()`: drops one swap pte's use of a slot. The slot goes with its
 * last use unless its page is in the swap cache, whose count keeps it
 * (v2.6.24 mm/swapfile.c:271-305, `swap_entry_free()` and `swap_free()`;
 * `do_swap_page()` leaves the page it mapped in the cache unless the swap
 * space is full, 'swap_free(entry); if (vm_swap_full())
 * remove_exclusive_swap_page(page);', mm/memory.c:2121-2123).
 */
export function swapFree(state: MmState, slot: number): void {
  const s = state.swap[slot];
  if (!s || --s.from > 0) return;
  if (s.page === undefined) delete state.swap[slot];
}

/**
 * `__delete_from_swap_cache()` of page `pfn`, in the cache at `slot`, and
 * the `swap_free()` of the cache's count: the page leaves the cache and its
 * reference is dropped, and the slot goes with it unless swap ptes still
 * refer to it, for which it keeps the data.
 */
export function deleteFromSwapCache(state: MmState, slot: number, pfn: number): void {
  if (state.swap[slot].from === 0) delete state.swap[slot];
  else delete state.swap[slot].page;
  putPage(state, pfn, SWAP_CACHE);
}

/**
 * `free_swap_and_cache()` of a swap pte that is zapped: {@link swapFree},
 * and when only the swap cache is left on the slot, its page, if the page
 * lock is free ('TestSetPageLocked(page)'), is taken out of the cache and
 * dirtied, and the slot goes. Under `kernel.swap_cache` "remove-exclusive"
 * (2.6.24 to 2.6.27), only if the cache's is its only reference
 * ('one_user = (page_count(page) == 2)', with the lookup's; v2.6.24
 * mm/swapfile.c:392-425, v2.6.27 394-428): a page that is mapped or held
 * stays. Under "try-to-free" (4.x), if no pte maps it, whatever holds it:
 * 'if (PageSwapCache(page) && !PageWriteback(page) && (!page_mapped(page)
 * || mem_cgroup_swap_full(page)))' (v4.9 mm/swapfile.c:1021-1025). A page
 * that stays is left for reclaim or `free_swap_cache()`.
 */
export function freeSwapAndCache(k: Kernel, slot: number): void {
  swapFree(k.state, slot);
  const s = k.state.swap[slot];
  if (!s || s.from > 0 || s.page === undefined) return;
  const pfn = s.page;
  if (pageLocked(k, pfn) || !swapCacheFreeable(k, pfn, 0)) return;
  freeFromSwapCache(k, slot, pfn);
}

/** `ptep_clear_flush`: clears a present pte and flushes its TLB entry (rmap untouched). */
export function clearFlush(k: Kernel, mm: Mm, addr: number): Pte | undefined {
  const key = vpn(addr);
  const pte = mm.ptes[key];
  setPte(mm, key, undefined);
  addTo(k.state.counters, "tlbFlushPage", 1);
  return pte;
}

/**
 * A new anonymous page with the first reference held by `holder`, from the
 * per-CPU list of thread `cpu` in a race step (`alloc_page_vma()` of an
 * order-0 page), in anon_vma `anonVma` (the name in {@link Vma.anonVma} of
 * the vma it is for), as `page_add_new_anon_rmap()` and
 * `page_add_anon_rmap()` put it.
 */
export function newAnonPage(
  k: Kernel,
  path: string,
  holder: string,
  cpu: string,
  anonVma: string | false,
): number | null {
  if (!k.alloc("page", path)) return null;
  return allocPage(k.state, anonVma ? { kind: "anon", anonVma } : { kind: "anon" }, holder, cpu)
    .pfn;
}

/**
 * The page-cache page of a file at `index`, reading it in when absent (a
 * page cache page from thread `cpu`'s per-CPU list, a huge page from the
 * shared pool). Null on allocation failure.
 */
export function findOrReadPage(
  k: Kernel,
  file: string,
  index: number,
  path: string,
  cpu: string,
): number | null {
  const f = k.state.files[file];
  const cached = f.cache[index];
  if (cached !== undefined) return cached;
  if (!k.alloc("page", path)) return null;
  const huge = f.kind === "hugetlbfs";
  const page = allocPage(
    k.state,
    { kind: huge ? "huge" : "file", file, index },
    `cache:${file}`,
    huge ? undefined : cpu,
  );
  f.cache[index] = page.pfn;
  return page.pfn;
}

/** The base address of the pte slot used for `addr` in a vma (huge ptes are keyed by their aligned address). */
export function pteAddr(vma: Vma, addr: number): number {
  return vma.kind === "hugetlb" ? addr - (addr % HPAGE_SIZE) : addr - (addr % PAGE_SIZE);
}

/**
 * The primary's entry for `addr` in `mm`: its pte, or in a hugetlb vma the
 * huge pte (the pmd) of the huge page `addr` is in, which is the entry for
 * every address of that page.
 */
export function primaryPte(mm: Mm | undefined, addr: number): Pte | undefined {
  if (!mm) return undefined;
  const vma = findVma(mm, addr);
  return mm.ptes[vpn(vma ? pteAddr(vma, addr) : addr)];
}

/**
 * `pmd_addr_end(addr, end)`: the end of the page table that maps `addr`, or
 * `end` when that comes first.
 */
export function pmdAddrEnd(addr: number, end: number): number {
  return Math.min(end, (Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE);
}

/** Every address in `[start, end)` with a PTE in `mm`, ascending. */
export function ptesIn(mm: Mm, start: number, end: number): number[] {
  const lo = vpn(start);
  const hi = vpn(end);
  const out: number[] = [];
  for (const key in mm.ptes) {
    const n = Number(key);
    if (n >= lo && n < hi) out.push(n * PAGE_SIZE);
  }
  return out.sort((a, b) => a - b);
}

/** Formats a pte for traces and violation details. */
export function describePte(pte: Pte | undefined): string {
  if (!pte) return "none";
  if (pte.t === "swap") return `swap:${pte.slot}`;
  if (pte.t === "file") return `file:${pte.pgoff}`;
  return `pfn ${pte.pfn} ${pte.write ? "rw" : "ro"}${pte.special ? " pfnmap" : ""}`;
}
