/**
 * The hook points of every kernel path: where a revision may place a callout,
 * and which ranges, guards and argument expressions the code has in scope there.
 *
 * A revision config names a point, a range expression, a guard and what its
 * `atomic` argument computes; it can only name what is declared here, so a
 * config describes code, never an outcome.
 *
 * @module
 */

/** The names a revision may give to a callout (the API of each lineage). */
export const CALLOUT_NAMES = [
  "invalidate_range",
  "invalidate_range_begin",
  "invalidate_range_start",
  "invalidate_range_end",
  "invalidate_page",
  "age_page",
  "clear_flush_young",
  "invalidate_all",
  "release",
  "rmap_invalidate_page",
] as const;

/** A callout name. */
export type CalloutName = typeof CALLOUT_NAMES[number];

/** What a callout does, whatever a lineage calls it. */
export type CalloutKind =
  | "range"
  | "begin"
  | "end"
  | "page"
  | "young"
  | "all"
  | "release"
  | "rmap";

/** Maps each callout name to its kind. */
export const CALLOUT_KIND: Record<CalloutName, CalloutKind> = {
  invalidate_range: "range",
  invalidate_range_begin: "begin",
  invalidate_range_start: "begin",
  invalidate_range_end: "end",
  invalidate_page: "page",
  age_page: "young",
  clear_flush_young: "young",
  invalidate_all: "all",
  release: "release",
  rmap_invalidate_page: "rmap",
};

/** What is in scope at one hook point. */
export interface HookPoint {
  /** What the code has just done or is about to do there. */
  doc: string;
  /** Range expressions available (`[start, end)` computed by the code there). */
  ranges?: readonly string[];
  /** Boolean conditions a call may sit under. */
  guards?: readonly string[];
  /** Integer expressions an `atomic` argument may compute. */
  exprs?: readonly string[];
  /** An `address` is in scope (for per-page callouts). */
  address?: boolean;
  /** A `struct page` is in scope (for the rmap notifier of EMMU V5 4/4). */
  page?: boolean;
}

/** Hook points of every kernel path, by path name (the kernel function's name). */
export const HOOK_POINTS: Record<string, Record<string, HookPoint>> = {
  do_wp_page: {
    "entry": { doc: "entered with the PTE lock held", address: true, ranges: ["page"] },
    "copy.after_cow_user_page": {
      doc: "copy path: new page filled, PTE lock not held, before the re-check of the pte",
      address: true,
      ranges: ["page", "page_minus_one"],
    },
    "copy.after_pte_clear": {
      doc: "copy path: PTE lock held, old pte cleared and flushed, new pte not yet set",
      address: true,
      ranges: ["page"],
    },
    "copy.after_set_pte": {
      doc: "copy path: PTE lock held, new pte installed",
      address: true,
      ranges: ["page"],
    },
    "unlock": {
      doc:
        "label unlock: after pte_unmap_unlock, reached by the reuse, copy and mkwrite re-check exits",
      address: true,
      ranges: ["page", "page_minus_one"],
      guards: ["invalidate_started"],
    },
  },
  copy_page_range: {
    "entry": {
      doc: "after the hugetlb check, before the pgd loop",
      ranges: ["vma"],
      guards: ["is_cow_mapping"],
    },
    "exit": {
      doc: "after the pgd loop completed (the -ENOMEM return does not get here)",
      ranges: ["vma"],
      guards: ["is_cow_mapping"],
    },
    "out": {
      doc: "the common exit, reached also when the loop breaks out on -ENOMEM",
      ranges: ["vma"],
      guards: ["is_cow_mapping"],
    },
  },
  unmap_vmas: {
    "entry": { doc: "entry, before the vma loop", ranges: ["requested"] },
    "exit": {
      doc: "exit, after the vma loop (also on the lock-break exit)",
      ranges: ["requested"],
    },
  },
  zap_page_range: {
    "before_unmap_vmas": {
      doc: "tlb gathered, before unmap_vmas",
      ranges: ["requested"],
      exprs: ["details_i_mmap_lock"],
    },
    "after_tlb_finish": {
      doc: "after unmap_vmas returned (its return may stop short) and tlb_finish_mmu",
      ranges: ["requested", "unmapped"],
      exprs: ["details_i_mmap_lock"],
    },
  },
  unmap_region: {
    "before_unmap_vmas": { doc: "tlb gathered, before unmap_vmas", ranges: ["region"] },
    "after_tlb_finish": { doc: "after free_pgtables and tlb_finish_mmu", ranges: ["region"] },
  },
  exit_mmap: {
    "entry": { doc: "the mm's last user has gone, before unmap_vmas" },
    "after_tlb_finish": {
      doc: "after unmap_vmas, free_pgtables and tlb_finish_mmu",
      ranges: ["all"],
    },
  },
  move_page_tables: {
    "entry": { doc: "before the extent loop", ranges: ["old"] },
    "exit": {
      doc: "after the extent loop (also when it broke out early)",
      ranges: ["old", "moved"],
    },
  },
  move_ptes: {
    "before_lock": {
      doc: "before taking i_mmap_lock and the PTE locks of one extent",
      ranges: ["extent"],
    },
    "pte.after_clear": {
      doc: "old PTE lock held, one pte cleared and flushed, not yet set at the new address",
      address: true,
    },
    "after_unlock": {
      doc: "after dropping the PTE locks and i_mmap_lock of one extent",
      ranges: ["extent"],
    },
  },
  remap_pfn_range: {
    "before_loop": { doc: "after flush_cache_range, before the pgd loop", ranges: ["requested"] },
    "after_loop": {
      doc: "after the pgd loop, also when it broke out on error",
      ranges: ["requested"],
    },
  },
  apply_to_page_range: {
    "before_loop": { doc: "before the pgd loop", ranges: ["requested"] },
    "after_loop": {
      doc: "after the pgd loop, also when it broke out on error",
      ranges: ["requested"],
    },
  },
  __unmap_hugepage_range: {
    "before_lock": {
      doc: "before taking page_table_lock (i_mmap_lock held)",
      ranges: ["requested"],
    },
    "after_flush": {
      doc: "page_table_lock dropped, after flush_tlb_range, pages not yet put",
      ranges: ["requested"],
    },
  },
  hugetlb_cow: {
    "copy.after_copy": {
      doc:
        "copy path: page_table_lock dropped, the new huge page filled by copy_huge_page, before relocking (where Linux 3.7 calls invalidate_range_start)",
      address: true,
      ranges: ["hpage"],
    },
    "copy.before_clear": {
      doc:
        "copy path: page_table_lock held, pte_same() passed, before the old huge pte is replaced (where the 2010 fix calls invalidate_range_start)",
      address: true,
      ranges: ["hpage"],
    },
    "copy.after_clear": {
      doc:
        "copy path: page_table_lock held, after huge_ptep_clear_flush (2.6.27, a no-op on x86; 2.6.24 has no such call), new pte not yet set",
      address: true,
      ranges: ["hpage"],
    },
    "copy.after_set": {
      doc:
        "copy path: page_table_lock held, the copy installed writable by set_huge_pte_at (where the 2010 fix calls invalidate_range_end)",
      address: true,
      ranges: ["hpage"],
    },
    "copy.release": {
      doc:
        "copy path: page_table_lock held, after the pte_same() re-check whether it passed or not, before the page references are put",
      address: true,
      ranges: ["hpage"],
    },
  },
  copy_hugetlb_page_range: {
    "entry": {
      doc: "before the huge pte loop (where the 2014 fix calls invalidate_range_start)",
      ranges: ["vma"],
      guards: ["is_cow_mapping"],
    },
    "pte.after_wrprotect": {
      doc:
        "both page_table_locks held, the parent's huge pte write-protected when is_cow_mapping, not yet copied to the child",
      address: true,
      ranges: ["vma", "hpage"],
      guards: ["is_cow_mapping"],
    },
    "exit": {
      doc: "after the loop completed (the -ENOMEM return of 2.6.24 and 2.6.27 does not get here)",
      ranges: ["vma"],
      guards: ["is_cow_mapping"],
    },
    "out": {
      doc:
        "the common exit, reached also when huge_pte_alloc fails (the shape of the 2014 fix: break, then end)",
      ranges: ["vma"],
      guards: ["is_cow_mapping"],
    },
  },
  __xip_unmap: {
    "before_lock": {
      doc: "the sparse page looked up, before spin_lock(&mapping->i_mmap_lock); no page lock",
      page: true,
      guards: ["page_external_rmap"],
    },
    "vma.before_pte": {
      doc: "per vma, i_mmap_lock held, before page_check_address",
      address: true,
      ranges: ["page"],
    },
    "vma.after_clear": {
      doc: "per vma, PTE lock and i_mmap_lock held, pte cleared and flushed",
      address: true,
      guards: ["pte_present"],
    },
    "vma.after_unlock": {
      doc: "per vma, PTE lock dropped, i_mmap_lock held",
      address: true,
      ranges: ["page"],
    },
  },
  sys_remap_file_pages: {
    "before_populate": {
      doc: "mmap_sem held, before populate_range",
      ranges: ["requested", "requested_minus_one"],
    },
    "after_populate": { doc: "after populate_range returned", ranges: ["requested"] },
  },
  populate_range: {
    "pte.after_zap": {
      doc: "install_file_pte: PTE lock held, the old pte zapped",
      address: true,
      guards: ["pte_was_present"],
    },
  },
  page_referenced_one: {
    "young": {
      doc: "PTE lock held, after ptep_clear_flush_young (the pte's young bit is in scope)",
      address: true,
      guards: ["pte_old", "not_vm_locked"],
    },
    "after_unlock": {
      doc: "after pte_unmap_unlock, before the referenced count is returned",
      address: true,
      guards: ["not_vm_locked"],
    },
  },
  try_to_unmap_one: {
    "young": {
      doc:
        "PTE lock held, the VM_LOCKED/young test before unmapping; the not_migration_* guards are the test as 2.6.24 and 2.6.27 write it, 'if (!migration && (VM_LOCKED || young))'",
      address: true,
      guards: [
        "not_vm_locked",
        "not_vm_locked_and_pte_old",
        "not_vm_locked_and_pte_young",
        "not_migration_and_not_vm_locked",
        "not_migration_and_not_vm_locked_and_pte_old",
        "not_migration_and_not_vm_locked_and_pte_young",
      ],
    },
    "after_clear": { doc: "PTE lock held, pte cleared and flushed", address: true },
    "after_unlock": {
      doc:
        "label out_unmap: after pte_unmap_unlock, on every exit that took the PTE lock (unmapped: the pte was cleared, not left for SWAP_FAIL)",
      address: true,
      guards: ["unmapped"],
    },
  },
  try_to_unmap_cluster: {
    "young": { doc: "PTE lock held, per pte of the cluster", address: true, guards: ["pte_old"] },
    "after_clear": { doc: "PTE lock held, per pte, pte cleared and flushed", address: true },
  },
  try_to_unmap: {
    "after_walk": {
      doc: "page lock held, the anon_vma/i_mmap locks dropped, after every pte was visited",
      page: true,
      guards: ["page_external_rmap"],
    },
  },
  page_mkclean: {
    "after_walk": {
      doc: "page lock held, after page_mkclean_file() walked the mappings",
      page: true,
      guards: ["page_external_rmap"],
    },
  },
  page_mkclean_one: {
    "after_clear": {
      doc: "PTE lock held, pte cleared and flushed, before the write-protected pte is set",
      address: true,
    },
    "after_unlock": {
      doc:
        "after pte_unmap_unlock of each shared mapping the walk visits (cleaned: its pte was dirty or writable and was cleaned)",
      address: true,
      guards: ["cleaned"],
    },
  },
  mprotect_fixup: {
    "before": {
      doc:
        "vm_flags and vm_page_prot set, before change_protection (or hugetlb_change_protection for a hugetlb vma)",
      ranges: ["requested"],
      guards: ["is_vm_hugetlb_page"],
    },
    "pmd.populated": {
      doc:
        "change_pmd_range(): at the first pmd of a pud's part of the range that has a page table, before its ptes change; the range runs from that pmd to the end of the pud's part",
      ranges: ["populated"],
    },
    "pmd.walked": {
      doc:
        "change_pmd_range(): after the walk of a pud's pmds, one of them populated, before flush_tlb_range()",
      ranges: ["populated"],
    },
    "after": {
      doc: "after change_protection (or hugetlb_change_protection) flushed the TLB range",
      ranges: ["requested"],
      guards: ["is_vm_hugetlb_page"],
    },
  },
};
