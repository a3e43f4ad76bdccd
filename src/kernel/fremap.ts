/**
 * `sys_remap_file_pages()` in its 2.6.24 form (mm/fremap.c): `populate_range`
 * installs nonlinear file ptes through `install_file_pte`, zapping what was
 * mapped there with `zap_pte`; without MAP_NONBLOCK the pages are then
 * faulted in (`make_pages_present`).
 *
 * @module
 */
import type { Mm, Vma } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { findVma, vpn } from "../model/state.ts";
import type { Kernel, KGen } from "./context.ts";
import { allocTables, immapName, mmapSemName, ptlName, zapPte } from "./pgtable.ts";
import { handleMmFault, linearIndex } from "./fault.ts";

/** `install_file_pte()`: returns 0 or -ENOMEM. */
function* installFilePte(
  k: Kernel,
  th: string,
  mm: Mm,
  addr: number,
  pgoff: number,
): KGen<number> {
  const P = "populate_range";
  if (!allocTables(k, mm, addr, "install_file_pte")) return -12; // get_locked_pte()
  const ptl = ptlName(mm.id, addr);
  yield* k.lock(th, ptl, "spin");
  const old = mm.ptes[vpn(addr)];
  if (old) {
    // zap_pte(): ptep_clear_flush() of a present pte, free_swap_and_cache() of a swapped one.
    const wasPresent = old.t === "present";
    if (wasPresent) k.state.counters.tlbFlushPage++;
    zapPte(k.state, mm, addr);
    yield* k.hook(th, P, "pte.after_zap", {
      mm: mm.id,
      address: addr,
      guards: { pte_was_present: wasPresent },
    });
  }
  mm.ptes[vpn(addr)] = { t: "file", pgoff };
  k.unlock(th, ptl);
  return 0;
}

/** `populate_range()`: returns 0 or the first error. */
function* populateRange(
  k: Kernel,
  th: string,
  mm: Mm,
  start: number,
  size: number,
  pgoff: number,
): KGen<number> {
  for (let off = 0; off < size; off += PAGE_SIZE) {
    const err = yield* installFilePte(k, th, mm, start + off, pgoff + off / PAGE_SIZE);
    if (err) return err;
  }
  return 0;
}

/** Flags of {@link sysRemapFilePages}. */
export interface RemapFlags {
  nonblock?: boolean;
}

/**
 * `sys_remap_file_pages(start, size, prot, pgoff, flags)` as in 2.6.24.
 * Returns 0 or a negative errno.
 */
export function* sysRemapFilePages(
  k: Kernel,
  th: string,
  mm: Mm,
  startIn: number,
  sizeIn: number,
  prot: number,
  pgoff: number,
  flags: RemapFlags = {},
): KGen<number> {
  const P = "sys_remap_file_pages";
  if (prot) return -22;
  const start = startIn - (startIn % PAGE_SIZE);
  const size = sizeIn - (sizeIn % PAGE_SIZE);
  const end = start + size;
  if (end <= start) return -22;
  const sem = mmapSemName(mm.id);
  let kind: "rwsem-read" | "rwsem-write" = "rwsem-read";
  yield* k.lock(th, sem, kind);
  let err = -22;
  for (;;) {
    const vma: Vma | undefined = findVma(mm, start);
    if (!vma || !vma.shared || !vma.file || vma.kind !== "file") break;
    if (end > vma.end) break;
    if (!vma.nonlinear) {
      if (pgoff === linearIndex(vma, start)) {
        err = 0; // Don't need a nonlinear mapping, exit success.
        break;
      }
      if (kind === "rwsem-read") {
        k.unlock(th, sem);
        kind = "rwsem-write";
        yield* k.lock(th, sem, kind);
        continue; // goto retry
      }
      const lock = immapName(vma.file);
      yield* k.lock(th, lock, "spin");
      vma.nonlinear = true;
      k.unlock(th, lock);
    }
    const requested: [number, number] = [start, end];
    const ranges = { requested, requested_minus_one: [start, end - 1] as [number, number] };
    yield* k.hook(th, P, "before_populate", { mm: mm.id, ranges });
    yield { thread: th, label: "sys_remap_file_pages:before_populate" };
    err = yield* populateRange(k, th, mm, start, size, pgoff);
    yield* k.hook(th, P, "after_populate", { mm: mm.id, ranges });
    if (!err && !flags.nonblock) {
      if (kind === "rwsem-write") {
        // downgrade_write()
        k.unlock(th, sem);
        kind = "rwsem-read";
        yield* k.lock(th, sem, kind);
      }
      // make_pages_present(): fault every page in.
      for (let a = start; a < end; a += PAGE_SIZE) {
        yield* handleMmFault(k, th, mm, a, vma.write);
      }
    }
    break;
  }
  k.unlock(th, sem);
  return err;
}
