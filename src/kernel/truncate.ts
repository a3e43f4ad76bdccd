/**
 * Truncation of a file's page cache as in 2.6.24: `vmtruncate()` (after
 * its `i_size_write()`) and `truncate_inode_pages()`, with the page lock
 * that keeps a fault from mapping a page truncation is dropping.
 *
 * @module
 */
import { putPage } from "../model/state.ts";
import { type Kernel, lock } from "./context.ts";
import { call, defPath, go, ret } from "./steps.ts";
import { pageLockName } from "./pgtable.ts";
import { unmapMappingRange } from "./unmap.ts";

/**
 * `truncate_complete_page()` (v2.6.24 mm/truncate.c:96-110, v2.6.27
 * 96-109), its caller holding the page lock: a page no longer in the
 * mapping is left (`if (page->mapping != mapping) return;`); otherwise it
 * leaves the page cache and the cache's reference is dropped
 * (`remove_from_page_cache()`, `page_cache_release()`). Not modelled:
 * `cancel_dirty_page()` (the model keeps the page's dirty bit, as it did
 * before it modelled this function).
 */
function truncateCompletePage(k: Kernel, file: string, index: number, pfn: number): void {
  const f = k.state.files[file];
  if (f.cache[index] !== pfn) return;
  delete f.cache[index];
  putPage(k.state, pfn, `cache:${file}`);
}

/** The indices of a file's cache pages from `from` on, ascending (`pagevec_lookup()`). */
function cachedFrom(k: Kernel, file: string, from: number): number[] {
  return Object.keys(k.state.files[file].cache).map(Number).filter((i) => i >= from)
    .sort((a, b) => a - b);
}

/**
 * `truncate_inode_pages(mapping, lstart)` with a page-aligned `lstart`
 * (`truncate_inode_pages_range()`, v2.6.24 mm/truncate.c:160-253; v2.6.27
 * 158-251): drops every cache page from `firstIndex` on, each under its page
 * lock, in two passes. The first (lines 177-209) only tries the lock
 * (`TestSetPageLocked()`, line 192; v2.6.27 `trylock_page()`, 190) and
 * skips a page someone holds; the second (lines 220-252) waits for it
 * (`lock_page()`, line 238; v2.6.27 236) and looks the pages up again from
 * the start until none is left. Under the lock, a page that is still mapped
 * (`page_mapped()`, lines 198 and 240; a fault mapped it after the first
 * `unmap_mapping_range()`) is unmapped from that page alone, private COW
 * copies left (`unmap_mapping_range(mapping, index << PAGE_CACHE_SHIFT,
 * PAGE_CACHE_SIZE, 0)`), then `truncate_complete_page()`.
 *
 * Where the model differs: the kernel takes a pagevec of up to 14 pages
 * (with references) per lookup, the model one page per lookup; no new page
 * past the end appears meanwhile except a fault's that is past the end too.
 * There is no PageWriteback in the model, so the first pass skips no page
 * for it and the second waits for none.
 */
export const truncateInodePages = defPath<
  { file: string; firstIndex: number },
  // pass: which pass; next: the next index to look up; index, pfn: the page being truncated
  { pass: 1 | 2; next: number; index: number; pfn: number },
  Kernel
>("truncate_inode_pages", {
  entry(_k, f) {
    f.v.pass = 1;
    f.v.next = f.v.firstIndex;
    return go("pass1");
  },
  pass1(k, f) {
    const { file } = f.v;
    for (const index of cachedFrom(k, file, f.v.next)) {
      f.v.next = index + 1;
      const pfn = k.state.files[file].cache[index];
      // if (TestSetPageLocked(page)) continue;
      if (!k.canTake(pageLockName(pfn), "sleeping", f.th)) continue;
      k.acquire(f.th, pageLockName(pfn), "sleeping");
      f.v.index = index;
      f.v.pfn = pfn;
      return go("mapped");
    }
    f.v.pass = 2;
    f.v.next = f.v.firstIndex;
    return go("pass2");
  },
  pass2(k, f) {
    const found = cachedFrom(k, f.v.file, f.v.next);
    if (found.length === 0) {
      // if (next == start) break; next = start; continue;
      if (f.v.next === f.v.firstIndex) return ret();
      f.v.next = f.v.firstIndex;
      return go("pass2");
    }
    f.v.index = found[0];
    f.v.pfn = k.state.files[f.v.file].cache[found[0]];
    return lock(pageLockName(f.v.pfn), "sleeping", "mapped");
  },
  mapped(k, f) {
    if (f.v.pass === 2) f.v.next = Math.max(f.v.next, f.v.index) + 1;
    if (k.state.pages[f.v.pfn].mapcount === 0) return go("complete");
    return call(unmapMappingRange, {
      file: f.v.file,
      firstIndex: f.v.index,
      lastIndex: f.v.index,
      contended: false,
      evenCows: false,
    }, "complete");
  },
  complete(k, f) {
    truncateCompletePage(k, f.v.file, f.v.index, f.v.pfn);
    k.unlock(f.th, pageLockName(f.v.pfn));
    return go(f.v.pass === 1 ? "pass1" : "pass2");
  },
});

/**
 * `vmtruncate()` shrinking a file (v2.6.24 mm/memory.c:1912-1938; v2.6.27
 * 2173-2208), after its `i_size_write()` (line 1925; v2.6.27 2194), which
 * the caller does: `unmap_mapping_range()` of everything from the new end,
 * `truncate_inode_pages()`, then `unmap_mapping_range()` again (lines
 * 1935-1937; v2.6.27 2205-2207) "for correctness": a private COW copy made
 * after the first walk, which is no page-cache page, is zapped only there.
 * `contended` is for both walks (`spin_needbreak()` true until each one's
 * first lock break).
 */
export const vmtruncate = defPath<
  { file: string; firstIndex: number; contended: boolean },
  Record<never, never>,
  Kernel
>("vmtruncate", {
  entry(_k, f) {
    const { file, firstIndex, contended } = f.v;
    return call(unmapMappingRange, { file, firstIndex, contended }, "unmapped");
  },
  unmapped(_k, f) {
    return call(truncateInodePages, { file: f.v.file, firstIndex: f.v.firstIndex }, "truncated");
  },
  truncated(_k, f) {
    const { file, firstIndex, contended } = f.v;
    return call(unmapMappingRange, { file, firstIndex, contended }, "done");
  },
  done: () => ret(0),
});
