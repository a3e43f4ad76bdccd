/**
 * The data of the 2.5.42 tree that the layers around its paths share: a
 * revision's nonlinear-mapping config (parsed by the revision loader, held
 * by the kernel context) and what a user read ends in (an observation the
 * checkers see). Kept apart from the paths so that the context, which the
 * paths import, needs nothing from them.
 *
 * @module
 */

/** What a revision's nonlinear-mapping code does, key by key (revision config `nonlinear`). */
export interface NonlinearConfig {
  /** `sys_remap_file_pages()` argument sanitizing. */
  remapArgs: {
    /**
     * `PAGE_ALIGN()` start and size (F8), or mask them down (`& PAGE_MASK`)
     * and refuse a wrapping or empty span (2.6.24).
     */
    align: "page-align-up" | "page-mask-down";
    /** `end = start + size` computed from the raw arguments before aligning (F8), or after. */
    end: "before-align" | "after-align";
    /**
     * `prot`: kept to its low four bits and handed to `->populate` and
     * `install_page()` (F8: `prot &= 0xf;`), or refused unless zero
     * (2.6.24 mm/fremap.c:130: `if (prot) return err;`, -EINVAL).
     */
    prot: "mask-and-pass" | "einval-if-nonzero";
    /**
     * The file offset limit: none (F8), or 2.6.24's check that the offsets
     * fit a file pte (mm/fremap.c:143-146: `if (pgoff + (size >> PAGE_SHIFT)
     * >= (1UL << PTE_FILE_MAX_BITS)) return err;`, with i386's 29 bits,
     * include/asm-x86/pgtable-2level.h:71), computed in `unsigned long`.
     */
    offsetLimit: "none" | "pte-file-max-bits";
  };
  /** What `sys_remap_file_pages()` does to `vma->vm_page_prot` before populating. */
  defaultProt: {
    /** Leave it (F8, F9), force `__S000` (G1), or force it unless the offset matches. */
    set: "keep" | "force-none" | "force-none-unless-offset-matches";
    /** The offset expression compared with `pgoff`, a key of `OFFSET_EXPRS` (`nonlinear.ts`). */
    offset?: string;
  };
  /** `filemap_populate()`. */
  filemapPopulate: {
    /** When `filemap_getpage()` returns NULL. */
    noPage: "return-enomem" | "skip-if-nonblock" | "zap-pte-if-nonblock";
    /** When `install_page()` fails: return, or drop the page reference first. */
    installError: "return" | "release-page";
  };
  /** `shmem_populate()`. */
  shmemPopulate: {
    /** When `shmem_getpage()` returns no page (nonblock and not in memory). */
    noPage: "skip";
    /** When `install_page()` fails. */
    installError: "return" | "release-page";
  };
}

/** What a user access through an address ended in. */
export type ReadResult =
  | { page: number }
  | { signal: "SIGSEGV" | "SIGBUS" | "SIGKILL" }
  | { hang: string };
