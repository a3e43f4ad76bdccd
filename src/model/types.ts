/**
 * The primary MMU state: plain data, structured-clone safe, no revision code.
 *
 * Addresses are byte addresses (numbers); a page is {@link PAGE_SIZE} bytes.
 * Page-table entries are keyed by virtual page number (address >> 12).
 *
 * @module
 */

/** Size of a base page in bytes (x86-64, as in the 2.6.24 sources). */
export const PAGE_SIZE = 0x1000;
/** Bytes covered by one page-table page (512 PTEs). */
export const PMD_SIZE = 0x200000;
/** Bytes covered by one PMD page (512 PMDs). */
export const PUD_SIZE = 0x40000000;
/** Bytes covered by one PUD page (512 PUDs). */
export const PGDIR_SIZE = 0x8000000000;
/** Size of a huge page (x86-64 2 MiB pages). */
export const HPAGE_SIZE: number = PMD_SIZE;
/** Pages unmapped by `unmap_vmas` before it may break for a contended lock (CONFIG_PREEMPT). */
export const ZAP_BLOCK_PAGES = 8;

/** A page-table entry: present, swapped out, a nonlinear file offset, or absent (no key). */
export type Pte =
  | {
    readonly t: "present";
    readonly pfn: number;
    readonly write: boolean;
    readonly young: boolean;
    readonly dirty: boolean;
    /** A raw PFN mapping (VM_PFNMAP): no struct page behind it. */
    readonly special?: boolean;
    /**
     * i386 `_PAGE_PROTNONE` (a PROT_NONE pte): present for the kernel
     * (`pte_present()`), not for the hardware, so every user access faults.
     */
    readonly protNone?: boolean;
  }
  | { readonly t: "swap"; readonly slot: number }
  | { readonly t: "file"; readonly pgoff: number };

/** Where a page comes from. */
export type PageOwner =
  | {
    readonly kind: "anon";
    /**
     * The anon_vma it is in (`page->mapping`, set by `__page_set_anon_rmap()`):
     * the name {@link Vma.anonVma} of the vma that mapped it first. Absent in
     * the 2.5.42 tree, which has no anon_vma.
     */
    readonly anonVma?: string;
  }
  | { readonly kind: "file"; readonly file: string; readonly index: number }
  | { readonly kind: "zero" }
  | { readonly kind: "huge"; readonly file: string; readonly index: number };

/** A struct page. `refs` names every holder of a reference so that a leak names its holder. */
export interface Page {
  /** Page frame number (`page_to_pfn()`). */
  readonly pfn: number;
  /** What the page holds: anonymous memory, a page-cache page, the zero page or a huge page. */
  readonly owner: PageOwner;
  /** `page->_count`, split by holder: holder name -> references it holds. */
  readonly refs: Readonly<Record<string, number>>;
  /** `page->_mapcount + 1`: PTEs that map the page. */
  readonly mapcount: number;
  /** `PageDirty()`. */
  readonly dirty: boolean;
  /** `PageReferenced()`. */
  readonly referenced: boolean;
  /** `PageLocked()`. */
  readonly locked: boolean;
  /** `PageExternalRmap()`, the flag of the V1 external-rmap variant (`mmu_rmap_notifier`). */
  readonly externalRmap: boolean;
  /** Whether the page went back to the allocator (`page_count()` reached 0). */
  readonly freed: boolean;
  /** Content: bumped by every write, so a write that lands on the wrong page is visible. */
  readonly data: number;
}

/** A file, a shmem object or a hugetlbfs file with its page cache. */
export interface FileObj {
  /** Name the scenario gives the file (its inode, in kernel terms). */
  name: string;
  /** Size in pages. */
  size: number;
  /** Backing filesystem: a regular file, shmem/tmpfs, hugetlbfs or an XIP (execute-in-place) file. */
  kind: "regular" | "shmem" | "hugetlbfs" | "xip";
  /** Page-cache index -> pfn. */
  cache: Record<number, number>;
  /** Whether `->page_mkwrite` exists, and what it returns. */
  pageMkwrite: "none" | "ok" | "fail";
  /**
   * `mapping->truncate_count`: bumped by every `unmap_mapping_range()`, never
   * page aligned (see {@link Vma.truncateCount}). Absent (0) until the file
   * is first truncated.
   */
  truncateCount?: number;
  /**
   * Pages that are not in the page cache but must be read in on access
   * (`cached` lists the others): on disk for a regular file, in swap for
   * shmem. Absent when every page not cached is read in as a new page.
   */
  backed?: Record<number, true>;
}

/** A vm_area_struct. */
export interface Vma {
  /** `vm_start`. */
  start: number;
  /** `vm_end` (exclusive). */
  end: number;
  /** `VM_READ`. */
  read: boolean;
  /** `VM_WRITE`. */
  write: boolean;
  /** `VM_SHARED`. */
  shared: boolean;
  /** VM_MAYWRITE: a private mapping that may become writable is a COW mapping. */
  mayWrite: boolean;
  /** `vm_file`: name of the mapped file, absent for an anonymous mapping. */
  file?: string;
  /** Page offset into the file of `start`. */
  pgoff: number;
  /** Mapping type: anonymous, file-backed, `VM_PFNMAP`, `VM_HUGETLB` or an XIP file mapping. */
  kind: "anon" | "file" | "pfnmap" | "hugetlb" | "xip";
  /** `VM_NONLINEAR`: `remap_file_pages()` has rearranged its file pages. */
  nonlinear: boolean;
  /** `VM_LOCKED` (mlock / MAP_LOCKED). */
  locked: boolean;
  /**
   * The anon_vma that `anon_vma_prepare()` attached (`vma->anon_vma`), by
   * name, or false before it has: `<mm>:<start>` of the vma it was made for.
   * A copy of the vma shares it, as `dup_mmap()`, `split_vma()` and
   * `copy_vma()` share the pointer.
   */
  anonVma: string | false;
  /**
   * `vm_truncate_count`: the `truncate_count` of the file's last
   * `unmap_mapping_range()` that finished this vma, or the address it was
   * stopped at by a lock break (page aligned, which a count never is).
   * Absent (0) until a truncation visits the vma; copied with the vma, as
   * `dup_mmap()` and `split_vma()` copy it.
   */
  truncateCount?: number;
  /**
   * `vm_private_data` of a nonlinear file vma: where `try_to_unmap_file()`'s
   * scan of its clusters goes on, in bytes from `start`. Absent (NULL) until
   * a scan stops inside the vma, and again once a scan has gone round every
   * nonlinear vma of the file; copied with the vma, as `dup_mmap()` and
   * `split_vma()` copy it.
   */
  nlCursor?: number;
  /**
   * `vm_page_prot` forced to `__S000` (PAGE_NONE) although `vm_flags` allow
   * access: 2.5.42-G1's `remap_file_pages()` does this. Absent otherwise
   * (`vm_page_prot` is `protection_map[vm_flags & 0xf]`).
   */
  pageProtNone?: boolean;
}

/** A reader/writer semaphore, with holders named by thread. */
export interface RwSem {
  /** Threads holding it for read (`down_read()`). */
  readers: string[];
  /** Thread holding it for write (`down_write()`), or null. */
  writer: string | null;
}

/** One mm_struct. */
export interface Mm {
  /** Name the scenario gives the mm (its process). */
  id: string;
  /** `mm->mmap`: the vma list, sorted by start address. */
  vmas: Vma[];
  /** vpn -> PTE. */
  ptes: Record<number, Pte>;
  /** Allocated page-table pages, by level, keyed by the index of the region each covers. */
  tables: { pud: Record<number, true>; pmd: Record<number, true>; pte: Record<number, true> };
  /** `mm->_anon_rss` and `mm->_file_rss`: pages mapped, by kind. */
  rss: { anon: number; file: number };
  /** `mm->mmap_sem`. */
  mmapSem: RwSem;
  /** Whether `exit_mmap()` has torn the mm down. */
  exited: boolean;
}

/** Model counters, compared across revisions as part of an outcome. */
export interface Counters {
  /** `handle_mm_fault()` calls. */
  faults: number;
  /** `flush_tlb_page()` calls. */
  tlbFlushPage: number;
  /** `flush_tlb_range()` calls. */
  tlbFlushRange: number;
  /** `flush_tlb_mm()` calls. */
  tlbFlushMm: number;
  /** Struct pages allocated. */
  pagesAllocated: number;
  /** Struct pages freed (last reference dropped). */
  pagesFreed: number;
  /** Page-table pages (PUD, PMD, PTE) allocated. */
  tablesAllocated: number;
  /** Page-table pages freed (`free_pgtables()`). */
  tablesFreed: number;
  /** Page reads started (`page_cache_read()`, a shmem swap-in): the I/O MAP_NONBLOCK avoids. */
  pageReads: number;
  /** System calls made by the scenario's operations (kernel entries). */
  syscalls: number;
}

/**
 * The pfns the threads of a race step allocate, each CPU from a row of its
 * own. v2.6.24's `buffered_rmqueue()` (mm/page_alloc.c:1060-1087, the
 * CPU's `zone_pcp(zone, cpu)->pcp[cold]`; v2.6.27 1048-1081,
 * `->pcp`) takes an order-0 page from the list of the CPU it runs on. The
 * model never frees a pfn for reuse (a freed page keeps its record), so a
 * pfn is only a page's name, and naming each CPU's pages apart makes the
 * name independent of when the other CPUs allocated: two schedules that
 * differ only in that order reach one state. (The kernel's lists do
 * interact: an empty one refills from the zone under `zone->lock`, and a
 * freed page goes back to the freeing CPU's list; neither reuse nor
 * refill is modelled.) Thread `cpus[i]`'s n-th page is pfn
 * `base + n * (cpus.length + 1) + i`. An allocation that is not made on
 * behalf of a thread takes the last row, `""` in `taken`: the zero page
 * (a static page in the kernel, made on first use here), a huge page (the
 * global `hugepage_freelists`, v2.6.24 mm/hugetlb.c:28), an xip page (the
 * filesystem's, `get_xip_page`), and the 2.5.42 tree's pages, which no
 * race scenario allocates. The step's end sets `nextPfn` past every row.
 */
export interface PerCpuPfns {
  /** `nextPfn` when the step started: its first pfn. */
  readonly base: number;
  /** The step's threads, in the order the scenario declares them. */
  readonly cpus: readonly string[];
  /** Pages each row has taken so far: by thread, and `""` for the shared row. */
  taken: Record<string, number>;
}

/** The whole primary MMU state. */
export interface MmState {
  /** `mem_map`: every struct page ever allocated, by pfn (freed ones stay, marked `freed`). */
  pages: Record<number, Page>;
  /** Pfn the next page allocation gets (outside a race step's per-CPU lists). */
  nextPfn: number;
  /** While a race step runs: the pfns its CPUs take from their own lists ({@link PerCpuPfns}). */
  percpu?: PerCpuPfns;
  /** Files by name. */
  files: Record<string, FileObj>;
  /** mm_structs by id. */
  mms: Record<string, Mm>;
  /** Swap slots: saved data, the ptes that point at it, and the swap-cache page if any. */
  swap: Record<number, { data: number; from: number; page?: number }>;
  /** Swap slot the next swap-out gets. */
  nextSwap: number;
  /** Event counters of the whole model. */
  counters: Counters;
}
