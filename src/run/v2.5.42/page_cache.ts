/**
 * A 2.5.42 scenario's files as the run starts: which pages are in the page
 * cache, which are in swap.
 *
 * @module
 */
import { allocPage } from "../../model/state.ts";
import type { FileObj, MmState } from "../../model/types.ts";

/**
 * A 2.5.42 file's page cache when the scenario starts: the `cached` pages
 * are in it; a shmem file's other pages are in swap (a regular file's are
 * on disk, which needs no record).
 */
export function setUpCache(state: MmState, file: FileObj, cached: number[]): void {
  const inCache = new Set(cached);
  for (const i of [...inCache].sort((a, b) => a - b)) {
    const page = allocPage(
      state,
      { kind: "file", file: file.name, index: i },
      `cache:${file.name}`,
    );
    file.cache[i] = page.pfn;
  }
  if (file.kind !== "shmem") return;
  file.backed = {};
  for (let i = 0; i < file.size; i++) if (!inCache.has(i)) file.backed[i] = true;
}
