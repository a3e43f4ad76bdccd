/**
 * What each scenario operation and each of its fields means, for the JSON
 * Schemas and `docs/scenario-format.md` (tools/schemas.ts,
 * tools/scenario_format.ts). The names come from the loader's tables; a name
 * without an entry here stops both tools.
 *
 * @module
 */

/** Each operation: what the model runs for it (the kernel path it enters). */
export const OP_DOCS: Record<string, string> = {
  mmap:
    "mmap(2) under mmap_sem for write (do_mmap_pgoff): an anonymous or file mapping, optionally MAP_LOCKED, MAP_POPULATE or MAP_NONBLOCK",
  munmap: "munmap(2) (do_munmap, unmap_region)",
  touch:
    "a CPU access from user space: through the pte when it allows it, with no lock; otherwise a page fault (handle_mm_fault under mmap_sem for read), then the access again",
  guest:
    "an access through a secondary MMU (a KVM guest, the GRU, an HMM device), faulting through the driver's path when it has no mapping",
  snapshot: "an HMM mirror snapshots a range of the CPU page table (hmm.snapshot)",
  register: "the secondary registers its notifier on its mm (mmu_notifier_register)",
  unregister:
    "the secondary unregisters its notifier (mmu_notifier_unregister), optionally freeing it",
  destroy_vm: "KVM's VM is destroyed (kvm_destroy_vm): the last file descriptor closes",
  fork: "fork(2): dup_mmap copies the mm into a child (copy_page_range)",
  exit: "the mm exits (exit_mmap: release, unmap_vmas, free_pgtables)",
  mremap: "mremap(2) with MREMAP_FIXED|MREMAP_MAYMOVE: move_vma and move_page_tables",
  madvise_dontneed:
    "madvise(MADV_DONTNEED) under mmap_sem for read: zap_page_range over each vma of the range; -EINVAL for an mlocked, hugetlb or VM_PFNMAP vma, -ENOMEM for a hole",
  truncate:
    "truncate of a file: vmtruncate (i_size, unmap_mapping_range, truncate_inode_pages, unmap_mapping_range again), or hugetlb_vmtruncate on hugetlbfs",
  mprotect:
    "mprotect(2) (mprotect_fixup, change_protection): the ptes take the vma's new vm_page_prot; a vma whose flags do not change is left alone",
  remap_pfn_range: "a driver maps raw frames with remap_pfn_range",
  apply_to_page_range: "apply_to_page_range over a range (a driver's walk of the page table)",
  xip_write: "a write to an XIP file (xip_file_write, __xip_unmap of the sparse page)",
  remap_file_pages: "remap_file_pages(2) on 2.6.24 (sys_remap_file_pages, populate_range)",
  reclaim:
    "memory pressure reclaims the page mapped at an address (shrink_page_list: the page lock tried, page_referenced, add_to_swap for an anonymous page, try_to_unmap, pageout and remove_mapping); returns activated, kept-mapped, kept-busy, kept-dirty, kept-locked or freed",
  writeback: "writeback of a file page (clear_page_dirty_for_io, page_mkclean)",
  race:
    "runs the operations of its threads concurrently: one fixed order in a run, every order in explore; while a thread exits an mm, no other runs in it (a process's threads hold mm_users; reclaim and the secondaries' operations may), and none names the child another thread forks",
  sys_remap_file_pages: "the 2.5.42 sys_remap_file_pages system call with raw i386 arguments",
  read: "a 2.5.42 user read through an address (a fault, then the file page found there)",
  evict:
    "2.5.42 memory pressure evicts one page (index) or every page of a file from the page cache",
};

/** Each field, by `op.field` or by field name for every operation that has it. */
export const OP_FIELD_DOCS: Record<string, string> = {
  mm: "the mm (address space) the operation runs in",
  addr: "the start address",
  len: "the length of the range",
  "mmap.prot": "the protection: none, read-only or read-write",
  "mprotect.prot": "the new protection",
  "mmap.share": "MAP_PRIVATE or MAP_SHARED",
  "mmap.file": "the file mapped (absent: anonymous memory)",
  "mmap.pgoff": "the file offset in pages",
  "mmap.locked":
    "MAP_LOCKED: the pages are faulted in after the mapping, still under mmap_sem (make_pages_present; write faults where the mapping is writable)",
  "mmap.populate": "MAP_POPULATE (2.5.42): the file pages are installed by ->populate",
  "mmap.nonblock": "MAP_NONBLOCK (2.5.42): populate installs only the pages already cached",
  access: "a read or a write",
  secondary: "the secondary MMU",
  holding_mmap_sem:
    "whether the caller holds mmap_sem (default: what the revision's chain.register says)",
  free: "the notifier is freed after unregister returns",
  child: "the new mm of the child",
  new_addr: "the address the range moves to",
  "truncate.file": "the file truncated",
  pages: "the new size in pages: every page from this index on is unmapped and dropped",
  contended: "the i_mmap_lock is contended, so unmap_mapping_range breaks out of it and restarts",
  pfn: "the first frame number mapped",
  file: "the file",
  index: "the page index in the file",
  "remap_file_pages.addr": "the start address (any byte: the call aligns it)",
  "remap_file_pages.len": "the size in bytes",
  "remap_file_pages.pgoff": "the file offset in pages to map at the address",
  "remap_file_pages.nonblock": "MAP_NONBLOCK: populate only pages already in the page cache",
  start: "the start argument as passed",
  size: "the size argument as passed",
  "sys_remap_file_pages.prot": "the prot argument as passed",
  "sys_remap_file_pages.pgoff": "the pgoff argument as passed",
  flags: "the flags argument as passed (MAP_NONBLOCK is 0x10000)",
  "read.addr": "the address read, any byte",
  "evict.index": "the page evicted (absent: every page of the file)",
};

/**
 * The description of a field of an operation: its own entry, or the
 * entry of its name.
 *
 * @param op The operation.
 * @param name The field.
 * @returns The description, or undefined when the table has none.
 */
export function fieldDoc(op: string, name: string): string | undefined {
  return OP_FIELD_DOCS[`${op}.${name}`] ?? OP_FIELD_DOCS[name];
}
