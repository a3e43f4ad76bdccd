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
export const HPAGE_SIZE = PMD_SIZE;
/** Pages unmapped by `unmap_vmas` before it may break for a contended lock (CONFIG_PREEMPT). */
export const ZAP_BLOCK_PAGES = 8;

/** A page-table entry: present, swapped out, a nonlinear file offset, or absent (no key). */
export type Pte =
  | {
    t: "present";
    pfn: number;
    write: boolean;
    young: boolean;
    dirty: boolean;
    /** A raw PFN mapping (VM_PFNMAP): no struct page behind it. */
    special?: boolean;
  }
  | { t: "swap"; slot: number }
  | { t: "file"; pgoff: number };

/** Where a page comes from. */
export type PageOwner =
  | { kind: "anon" }
  | { kind: "file"; file: string; index: number }
  | { kind: "zero" }
  | { kind: "huge"; file: string; index: number };

/** A struct page. `refs` names every holder of a reference so that a leak names its holder. */
export interface Page {
  pfn: number;
  owner: PageOwner;
  refs: Record<string, number>;
  mapcount: number;
  dirty: boolean;
  referenced: boolean;
  locked: boolean;
  externalRmap: boolean;
  freed: boolean;
  /** Content: bumped by every write, so a write that lands on the wrong page is visible. */
  data: number;
}

/** A file, a shmem object or a hugetlbfs file with its page cache. */
export interface FileObj {
  name: string;
  /** Size in pages. */
  size: number;
  kind: "regular" | "shmem" | "hugetlbfs" | "xip";
  /** Page-cache index -> pfn. */
  cache: Record<number, number>;
  /** Whether `->page_mkwrite` exists, and what it returns. */
  pageMkwrite: "none" | "ok" | "fail";
}

/** A vm_area_struct. */
export interface Vma {
  start: number;
  end: number;
  read: boolean;
  write: boolean;
  shared: boolean;
  /** VM_MAYWRITE: a private mapping that may become writable is a COW mapping. */
  mayWrite: boolean;
  file?: string;
  /** Page offset into the file of `start`. */
  pgoff: number;
  kind: "anon" | "file" | "pfnmap" | "hugetlb" | "xip";
  nonlinear: boolean;
  locked: boolean;
  /** Whether anon_vma_prepare() has attached an anon_vma. */
  anonVma: boolean;
}

/** A reader/writer semaphore, with holders named by thread. */
export interface RwSem {
  readers: string[];
  writer: string | null;
}

/** One mm_struct. */
export interface Mm {
  id: string;
  vmas: Vma[];
  /** vpn -> PTE. */
  ptes: Record<number, Pte>;
  /** Allocated page-table pages, by level, keyed by the index of the region each covers. */
  tables: { pud: Record<number, true>; pmd: Record<number, true>; pte: Record<number, true> };
  rss: { anon: number; file: number };
  mmapSem: RwSem;
  exited: boolean;
}

/** Model counters, compared across revisions as part of an outcome. */
export interface Counters {
  faults: number;
  tlbFlushPage: number;
  tlbFlushRange: number;
  tlbFlushMm: number;
  pagesAllocated: number;
  pagesFreed: number;
  tablesAllocated: number;
  tablesFreed: number;
}

/** The whole primary MMU state. */
export interface MmState {
  pages: Record<number, Page>;
  nextPfn: number;
  files: Record<string, FileObj>;
  mms: Record<string, Mm>;
  /** Swap slots: saved data, the ptes that point at it, and the swap-cache page if any. */
  swap: Record<number, { data: number; from: number; page?: number }>;
  nextSwap: number;
  counters: Counters;
}
