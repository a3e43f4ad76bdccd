/**
 * Execute-in-place files as in 2.6.24 mm/filemap_xip.c: a hole is mapped
 * with the sparse (zero) page; writing the hole allocates a block and
 * `__xip_unmap()` removes the sparse page from every mapping of that offset.
 *
 * @module
 */
import { PAGE_SIZE } from "../model/types.ts";
import { allocPage, hasPteTable, pteHolder, putPage, vpn, writePage } from "../model/state.ts";
import { hook, type Kernel, lock } from "./context.ts";
import { call, defPath, go, ret } from "./steps.ts";
import { clearFlush, immapName, ptlName, rmapReadKind, zeroPage } from "./pgtable.ts";

/** The `[address, address + PAGE_SIZE)` range of the page `__xip_unmap` works on in a vma. */
function xipPage(address: number): { page: [number, number] } {
  return { page: [address, address + PAGE_SIZE] };
}

/**
 * `__xip_unmap()`: under i_mmap_lock, for every vma mapping `pgoff`, clears
 * the pte if it maps the sparse page, which `page_check_address()` checks
 * under the PTE lock (v2.6.24 mm/filemap_xip.c:192).
 */
export const xipUnmap = defPath<
  { file: string; pgoff: number },
  {
    /** The sparse page. */
    sparse?: number;
    /** The mms to walk, as they were when i_mmap_lock was taken. */
    mms?: string[];
    /** Index in `mms` of the mm being walked. */
    mi?: number;
    /** Index in that mm's vma list of the next vma to look at. */
    vi?: number;
    /** The address of `pgoff` in the vma being worked on. */
    address?: number;
  },
  Kernel
>("__xip_unmap", {
  entry(k, f) {
    const sparse = zeroPage(k.state);
    f.v.sparse = sparse;
    const ext = {
      mm: "",
      pfn: sparse,
      guards: { page_external_rmap: k.state.pages[sparse].externalRmap },
    };
    return hook("__xip_unmap", "before_lock", ext, "before_lock");
  },
  before_lock: (k, f) => lock(immapName(f.v.file), rmapReadKind(k), "locked"),
  locked(k, f) {
    f.v.mms = Object.keys(k.state.mms);
    f.v.mi = 0;
    f.v.vi = 0;
    return go("vma");
  },
  vma(k, f) {
    const { file, pgoff } = f.v;
    const mms = f.v.mms!;
    for (let mi = f.v.mi!, vi = f.v.vi!; mi < mms.length; mi++, vi = 0) {
      const mm = k.state.mms[mms[mi]];
      // (An mm gone from the list since has no vma left: dup_mmap's failed child after exit_mmap.)
      if (!mm) continue;
      while (vi < mm.vmas.length) {
        const vma = mm.vmas[vi++];
        if (vma.file !== file || vma.nonlinear) continue;
        const address = vma.start + (pgoff - vma.pgoff) * PAGE_SIZE;
        if (address < vma.start || address >= vma.end) continue;
        f.v.mi = mi;
        f.v.vi = vi;
        f.v.address = address;
        return hook(
          "__xip_unmap",
          "vma.before_pte",
          { mm: mm.id, address, ranges: xipPage(address) },
          "vma.before_pte",
        );
      }
    }
    k.unlock(f.th, immapName(file));
    return ret();
  },
  // page_check_address(): no page table, or 'Make a quick check before getting the lock' (no
  // present pte), and it returns NULL without the lock (v2.6.24 mm/rmap.c:246-254); v2.6.27
  // passes sync 1 from __xip_unmap() (mm/filemap_xip.c:191) and skips the quick check
  // (mm/rmap.c:256), which no revision selects here.
  "vma.before_pte"(k, f) {
    const address = f.v.address!;
    const mm = k.state.mms[f.v.mms![f.v.mi!]];
    const present = hasPteTable(mm, address) && mm.ptes[vpn(address)]?.t === "present";
    if (present) return lock(ptlName(mm.id, address), "spin", "vma.locked");
    return go("vma.unlocked");
  },
  "vma.locked"(k, f) {
    const address = f.v.address!;
    const mm = k.state.mms[f.v.mms![f.v.mi!]];
    // Under the lock it looks again, and at the pfn: 'if (pte_present(*pte) &&
    // page_to_pfn(page) == pte_pfn(*pte))' (v2.6.24 mm/rmap.c:257-258, v2.6.27 263).
    const pte = mm.ptes[vpn(address)];
    if (!pte || pte.t !== "present" || pte.pfn !== f.v.sparse) {
      k.unlock(f.th, ptlName(mm.id, address));
      return go("vma.unlocked");
    }
    clearFlush(k, mm, address);
    return hook("__xip_unmap", "vma.after_clear", {
      mm: mm.id,
      address,
      guards: { pte_present: true },
    }, "vma.after_clear");
  },
  "vma.after_clear"(k, f) {
    const address = f.v.address!;
    const mm = k.state.mms[f.v.mms![f.v.mi!]];
    k.unlock(f.th, ptlName(mm.id, address));
    putPage(k.state, f.v.sparse!, pteHolder(mm.id, address)); // page_cache_release()
    return go("vma.unlocked");
  },
  "vma.unlocked"(_k, f) {
    const address = f.v.address!;
    const mm = f.v.mms![f.v.mi!];
    return hook(
      "__xip_unmap",
      "vma.after_unlock",
      { mm, address, ranges: xipPage(address) },
      "vma",
    );
  },
});

/**
 * `xip_file_write()` to a hole: `get_xip_page(create)` allocates the block,
 * then `__xip_unmap()` removes the sparse page from every mapping.
 * Returns the number of bytes written (one page).
 */
export const xipWrite = defPath<{ file: string; index: number }, Record<never, never>, Kernel>(
  "xip_file_write",
  {
    entry(k, f) {
      const { file, index } = f.v;
      const fo = k.state.files[file];
      if (index >= fo.size) return ret(-27); // -EFBIG: writes past the end are not modelled
      if (fo.cache[index] !== undefined) return go("written");
      if (!k.alloc("page", "get_xip_page")) return ret(-12);
      const page = allocPage(k.state, { kind: "file", file, index }, `cache:${file}`);
      fo.cache[index] = page.pfn;
      return call(xipUnmap, { file, pgoff: index }, "written");
    },
    written(k, f) {
      const fo = k.state.files[f.v.file];
      // xip_file_write() and do_truncate() both hold i_mutex, which the model leaves out:
      // a truncate that ran while __xip_unmap() waited is taken as one that ran first.
      if (f.v.index >= fo.size || fo.cache[f.v.index] === undefined) return ret(-27);
      writePage(k.state, fo.cache[f.v.index]);
      return ret(PAGE_SIZE);
    },
  },
);
