/**
 * Execute-in-place files as in 2.6.24 mm/filemap_xip.c: a hole is mapped
 * with the sparse (zero) page; writing the hole allocates a block and
 * `__xip_unmap()` removes the sparse page from every mapping of that offset.
 *
 * @module
 */
import { PAGE_SIZE } from "../model/types.ts";
import { allocPage, pteHolder, putPage, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import { immapName, ptlName, zeroPage } from "./pgtable.ts";

/**
 * `__xip_unmap()`: under i_mmap_lock, for every vma mapping `pgoff`, clears
 * the pte if it maps the sparse page (`page_check_address` takes the PTE lock).
 */
export function* xipUnmap(k: Kernel, th: string, file: string, pgoff: number): KGen {
  const P = "__xip_unmap";
  const sparse = zeroPage(k.state);
  const lock = immapName(file);
  const ext = {
    mm: "",
    pfn: sparse,
    guards: { page_external_rmap: k.state.pages[sparse].externalRmap },
  };
  yield* k.hook(th, P, "before_lock", ext);
  yield* k.lock(th, lock, "spin");
  for (const mm of Object.values(k.state.mms)) {
    for (const vma of mm.vmas) {
      if (vma.file !== file || vma.nonlinear) continue;
      const address = vma.start + (pgoff - vma.pgoff) * PAGE_SIZE;
      if (address < vma.start || address >= vma.end) continue;
      const page: [number, number] = [address, address + PAGE_SIZE];
      yield* k.hook(th, P, "vma.before_pte", { mm: mm.id, address, ranges: { page } });
      const pte = mm.ptes[vpn(address)];
      const present = !!pte && pte.t === "present" && pte.pfn === sparse;
      if (present) {
        const ptl = ptlName(mm.id, address);
        yield* k.lock(th, ptl, "spin");
        delete mm.ptes[vpn(address)]; // ptep_clear_flush()
        k.state.counters.tlbFlushPage++;
        yield* k.hook(th, P, "vma.after_clear", {
          mm: mm.id,
          address,
          guards: { pte_present: true },
        });
        k.unlock(th, ptl);
        putPage(k.state, sparse, pteHolder(mm.id, address)); // page_cache_release()
      }
      yield* k.hook(th, P, "vma.after_unlock", { mm: mm.id, address, ranges: { page } });
    }
  }
  k.unlock(th, lock);
}

/**
 * `xip_file_write()` to a hole: `get_xip_page(create)` allocates the block,
 * then `__xip_unmap()` removes the sparse page from every mapping.
 * Returns the number of bytes written (one page).
 */
export function* xipWrite(k: Kernel, th: string, file: string, index: number): KGen<number> {
  const f = k.state.files[file];
  if (index >= f.size) return -27; // -EFBIG: writes past the end are not modelled
  if (f.cache[index] === undefined) {
    if (!k.alloc("page", "get_xip_page")) return -12;
    const page = allocPage(k.state, { kind: "file", file, index }, `cache:${file}`);
    f.cache[index] = page.pfn;
    yield* xipUnmap(k, th, file, index);
  }
  k.state.pages[f.cache[index]].data++;
  return PAGE_SIZE;
}
