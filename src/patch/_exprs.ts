/**
 * The C expressions of the v2.6.24 code that a callout's arguments and
 * conditions are written in, mapped to the names the model gives what they
 * compute at each hook point (`HOOK_POINTS` ranges, guards and exprs).
 * Keys are the expressions with whitespace collapsed. An expression not
 * listed is not guessed: the hunk is reported as unplaceable.
 *
 * @module
 */

/**
 * `start, end` of a range callout, by path, then hook point (`*`: every
 * point of the path). The variables hold what v2.6.24 assigns there: in
 * zap_page_range `end` is the return of unmap_vmas after it
 * (mm/memory.c:891); in move_page_tables `old_addr` has advanced to
 * `old_end` after the loop (mm/mremap.c:133).
 */
export const RANGE_EXPRS: Record<string, Record<string, Record<string, string>>> = {
  do_wp_page: {
    "*": {
      "address, address + PAGE_SIZE": "page",
      "address, address + PAGE_SIZE - 1": "page_minus_one",
    },
  },
  copy_page_range: {
    "entry": { "addr, end": "vma", "vma->vm_start, vma->vm_end": "vma" },
    "*": { "vma->vm_start, end": "vma", "vma->vm_start, vma->vm_end": "vma" },
  },
  unmap_vmas: { "*": { "start_addr, end_addr": "requested" } },
  zap_page_range: {
    "before_unmap_vmas": { "address, end": "requested", "address, address + size": "requested" },
    "after_tlb_finish": { "address, end": "unmapped", "address, address + size": "requested" },
  },
  unmap_region: { "*": { "start, end": "region" } },
  move_page_tables: {
    "entry": { "old_addr, old_end": "old", "old_addr, old_addr + len": "old" },
    "exit": { "old_start, old_end": "old" },
  },
  move_ptes: {
    "before_lock": { "old_addr, old_end": "extent" },
    "after_unlock": { "old_start, old_end": "extent" },
  },
  remap_pfn_range: {
    "before_loop": { "start, end": "requested", "addr, end": "requested" },
    "after_loop": { "start, end": "requested" },
  },
  apply_to_page_range: {
    "before_loop": { "start, end": "requested", "addr, end": "requested" },
    "after_loop": { "start, end": "requested" },
  },
  __unmap_hugepage_range: { "*": { "start, end": "requested" } },
  copy_hugetlb_page_range: { "*": { "vma->vm_start, vma->vm_end": "vma" } },
  __xip_unmap: { "*": { "address, address + PAGE_SIZE": "page" } },
  sys_remap_file_pages: {
    "*": {
      "start, start + size": "requested",
      "start, start + size - 1": "requested_minus_one",
    },
  },
  mprotect_fixup: { "*": { "start, end": "requested" } },
};

/** Conditions an `if` around a callout tests, to the guard names of `HOOK_POINTS`. */
export const GUARD_EXPRS: Record<string, string> = {
  "is_cow_mapping(vma->vm_flags)": "is_cow_mapping",
  "invalidate_started": "invalidate_started",
  "PageExternalRmap(page)": "page_external_rmap",
  "pte_present(*pte)": "pte_present",
  "pte": "pte_present",
  // mmu notifiers #v8 + xpmem (seed 004, rmap.c hunk @@ -287): page_referenced_one sets
  // clear_flush_young = 1 only in the else branch of 'if (vma->vm_flags & VM_LOCKED)'.
  "clear_flush_young": "not_vm_locked",
};

/**
 * Guards a point implies: the code around it is already under that
 * condition in v2.6.24 (`__xip_unmap` clears the pte inside `if (pte)`,
 * mm/filemap_xip.c:193; `install_file_pte` zaps inside
 * `if (!pte_none(*pte))`, mm/fremap.c:64).
 */
export const IMPLIED_GUARDS: Record<string, string> = {
  "__xip_unmap vma.after_clear": "pte_present",
  "populate_range pte.after_zap": "pte_was_present",
};

/** What a variable passed as `atomic` is initialised with, to the exprs of `HOOK_POINTS`. */
export const ATOMIC_EXPRS: Record<string, string> = {
  "details ? (details->i_mmap_lock != 0) : 0": "details_i_mmap_lock",
  "details ? details->i_mmap_lock != 0 : 0": "details_i_mmap_lock",
};
