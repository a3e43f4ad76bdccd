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
import { findVma, setPte, vpn } from "../model/state.ts";
import { hook, type Kernel, lock } from "./context.ts";
import { call, defPath, go, point, ret } from "./steps.ts";
import { allocTables, immapName, mmapSemName, ptlName, rmapWriteKind, zapPte } from "./pgtable.ts";
import { handleMmFault, linearIndex } from "./fault.ts";
import { mmapRegion } from "./mmap.ts";
import { addTo } from "../model/_count.ts";

/** `install_file_pte()`: returns 0 or -ENOMEM. */
const installFilePte = defPath<
  { mm: string; addr: number; pgoff: number },
  Record<never, never>,
  Kernel
>("install_file_pte", {
  entry(k, f) {
    if (!allocTables(k, k.state.mms[f.v.mm], f.v.addr, "install_file_pte")) return ret(-12); // get_locked_pte()
    return lock(ptlName(f.v.mm, f.v.addr), "spin", "locked");
  },
  locked(k, f) {
    const { addr } = f.v;
    const mm = k.state.mms[f.v.mm];
    const old = mm.ptes[vpn(addr)];
    if (old) {
      // zap_pte(): ptep_clear_flush() of a present pte, free_swap_and_cache() of a swapped one.
      const wasPresent = old.t === "present";
      if (wasPresent) addTo(k.state.counters, "tlbFlushPage", 1);
      zapPte(k, mm, addr);
      return hook("populate_range", "pte.after_zap", {
        mm: mm.id,
        address: addr,
        guards: { pte_was_present: wasPresent },
      }, "set_pte");
    }
    return go("set_pte");
  },
  set_pte(k, f) {
    setPte(k.state.mms[f.v.mm], vpn(f.v.addr), { t: "file", pgoff: f.v.pgoff });
    k.unlock(f.th, ptlName(f.v.mm, f.v.addr));
    return ret(0);
  },
});

/** `populate_range()`: returns 0 or the first error. */
const populateRange = defPath<
  { mm: string; start: number; size: number; pgoff: number },
  { off: number; err: number },
  Kernel
>("populate_range", {
  entry(_k, f) {
    f.v.off = 0;
    return go("loop");
  },
  loop(_k, f) {
    const { mm, start, size, pgoff, off } = f.v;
    if (off >= size) return ret(0);
    return call(
      installFilePte,
      { mm, addr: start + off, pgoff: pgoff + off / PAGE_SIZE },
      "installed",
      "err",
    );
  },
  installed(_k, f) {
    if (f.v.err) return ret(f.v.err);
    f.v.off += PAGE_SIZE;
    return go("loop");
  },
});

/** Flags of {@link sysRemapFilePages}. */
export interface RemapFlags {
  nonblock?: boolean;
}

/**
 * The vma a path found in an earlier step, as it is now: the vma of `mm`
 * that starts where the copy starts (a vma keeps its start for life), or the
 * copy itself when that vma has left `mm.vmas` since (what the path then
 * does to it changes nothing in the world, as with the vma object it held).
 */
function vmaNow(mm: Mm, copy: Vma): Vma {
  return mm.vmas.find((v) => v.start === copy.start) ?? copy;
}

/**
 * `sys_remap_file_pages(start, size, prot, pgoff, flags)` as in 2.6.24
 * (v2.6.24 mm/fremap.c:120-236; v2.6.27 mm/fremap.c:121-242 is the same
 * plus the notifier calls): `end` is `start + size` of the raw arguments
 * (line 125), computed before start and size are masked down (135-136);
 * the masked span must not wrap or be empty (139-140); the range check
 * under mmap_sem uses the raw `end` (168), while populate_range(),
 * make_pages_present() and 2.6.27's notifier calls use `start + size`
 * (214, 220; 2.6.27: 218-220, 226). x86-64's PTE_FILE_MAX_BITS check
 * (143-146; 46 bits, include/asm-x86/pgtable_64.h:349) cannot fail for the
 * offsets a scenario may give.
 * Returns 0 or a negative errno.
 */
export const sysRemapFilePages = defPath<
  { mm: string; startIn: number; sizeIn: number; prot: number; pgoff: number; flags?: RemapFlags },
  {
    start: number;
    size: number;
    end: number;
    kind: "rwsem-read" | "rwsem-write";
    err: number;
    // vma: a copy of the vma the retry loop found (see vmaNow)
    vma: Vma;
    // ranges: what both hook points pass (one object, as the code passes one)
    ranges: { requested: [number, number]; requested_minus_one: [number, number] };
    // a: make_pages_present()'s address
    a: number;
  },
  Kernel
>("sys_remap_file_pages", {
  entry(_k, f) {
    const { startIn, sizeIn, prot } = f.v;
    const end = startIn + sizeIn; // unsigned long end = start + size;
    if (prot) return ret(-22);
    const start = startIn - (startIn % PAGE_SIZE);
    const size = sizeIn - (sizeIn % PAGE_SIZE);
    // Does the address range wrap, or is the span zero-sized?
    if (start + size <= start) return ret(-22);
    [f.v.start, f.v.size, f.v.end] = [start, size, end];
    f.v.kind = "rwsem-read";
    return lock(mmapSemName(f.v.mm), f.v.kind, "retry");
  },
  retry(k, f) {
    const { start, end, pgoff } = f.v;
    f.v.err = -22;
    const mm = k.state.mms[f.v.mm];
    const vma: Vma | undefined = findVma(mm, start);
    if (!vma || !vma.shared || !vma.file || vma.kind !== "file") return go("out");
    // 'if (end <= start || start < vma->vm_start || end > vma->vm_end) goto out;' with the
    // raw end: an unaligned tail past vm_end is refused though the masked span fits.
    if (end <= start || start < vma.start || end > vma.end) return go("out");
    f.v.vma = { ...vma };
    if (!vma.nonlinear) {
      if (pgoff === linearIndex(vma, start)) {
        f.v.err = 0; // Don't need a nonlinear mapping, exit success.
        return go("out");
      }
      if (f.v.kind === "rwsem-read") {
        k.unlock(f.th, mmapSemName(mm.id));
        f.v.kind = "rwsem-write";
        return lock(mmapSemName(mm.id), f.v.kind, "retry"); // goto retry
      }
      // "page_mkclean doesn't work on nonlinear vmas, so if dirty pages need to be accounted,
      // emulate with linear vmas" (v2.6.24 mm/fremap.c:184-204; v2.6.27 186-207): a file whose
      // mapping counts dirty pages (a regular file; not shmem) gets a linear vma of the range at
      // pgoff from mmap_region(), with the vma's flags, and is populated only where mlocked.
      if (k.state.files[vma.file].kind === "regular") {
        const linear: Vma = { ...vma, start, end: start + f.v.size, pgoff, nonlinear: false };
        delete linear.truncateCount;
        delete linear.nlCursor;
        return call(mmapRegion, { mm: mm.id, vma: linear, locked: vma.locked }, "emulated");
      }
      return lock(immapName(vma.file), rmapWriteKind(k), "i_mmap_locked");
    }
    return go("populate");
  },
  emulated(_k, f) {
    f.v.err = 0;
    return go("out");
  },
  i_mmap_locked(k, f) {
    vmaNow(k.state.mms[f.v.mm], f.v.vma).nonlinear = true;
    k.unlock(f.th, immapName(f.v.vma.file!));
    return go("populate");
  },
  populate(_k, f) {
    const { start, size } = f.v;
    // Every posting's callout and 2.6.27's pass 'start, start + size' (the masked span).
    f.v.ranges = {
      requested: [start, start + size],
      requested_minus_one: [start, start + size - 1],
    };
    const scope = { mm: f.v.mm, ranges: f.v.ranges };
    return hook("sys_remap_file_pages", "before_populate", scope, "before_populate");
  },
  before_populate(_k, _f) {
    return point("sys_remap_file_pages:before_populate", "populate_range");
  },
  populate_range(_k, f) {
    const { mm, start, size, pgoff } = f.v;
    return call(populateRange, { mm, start, size, pgoff }, "populated", "err");
  },
  populated(_k, f) {
    const scope = { mm: f.v.mm, ranges: f.v.ranges };
    return hook("sys_remap_file_pages", "after_populate", scope, "after_populate");
  },
  after_populate(k, f) {
    if (f.v.err || f.v.flags?.nonblock) return go("out");
    f.v.a = f.v.start;
    if (f.v.kind === "rwsem-write") {
      // downgrade_write(&mm->mmap_sem) (v2.6.24 mm/fremap.c:217; v2.6.27 223): atomic.
      k.downgrade(f.th, mmapSemName(f.v.mm));
      f.v.kind = "rwsem-read";
    }
    return go("make_pages_present");
  },
  make_pages_present(k, f) {
    // make_pages_present(start, start+size): fault every page in.
    if (f.v.a >= f.v.start + f.v.size) return go("out");
    const write = vmaNow(k.state.mms[f.v.mm], f.v.vma).write;
    return call(handleMmFault, { mm: f.v.mm, addr: f.v.a, write }, "faulted");
  },
  faulted(_k, f) {
    f.v.a += PAGE_SIZE;
    return go("make_pages_present");
  },
  out(k, f) {
    k.unlock(f.th, mmapSemName(f.v.mm));
    return ret(f.v.err);
  },
});
