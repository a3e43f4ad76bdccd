/**
 * mremap as in 2.6.24 mm/mremap.c: `move_vma`, `move_page_tables` and
 * `move_ptes`, including the move back when a page table cannot be allocated.
 *
 * @module
 */
import type { Pte, Vma } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import {
  findVma,
  hasPteTable,
  moveRefs,
  pteHolder,
  setPte,
  sortVmas,
  vpn,
} from "../model/state.ts";
import { hook, type Kernel, lock } from "./context.ts";
import { call, defPath, go, point, ret } from "./steps.ts";
import {
  allocTables,
  clearFlush,
  immapName,
  mmapSemName,
  pmdAddrEnd,
  ptesIn,
  ptlName,
  rmapWriteKind,
} from "./pgtable.ts";
import { vmaAt } from "./fault.ts";
import { doMunmap } from "./mmap.ts";

/** `LATENCY_LIMIT`: the most `move_page_tables()` moves under one pair of pte locks. */
const LATENCY_LIMIT = 64 * PAGE_SIZE;

/**
 * `move_ptes()`: moves the ptes of one extent under both PTE locks (and
 * i_mmap_lock for a file).
 */
const movePtes = defPath<
  { mm: string; vma: number; oldAddr: number; oldEnd: number; newAddr: number },
  {
    /** The i_mmap_lock taken, or null for an anonymous vma. */
    imm?: string | null;
    /** The addresses with a pte in the extent, as found under the locks. */
    addrs?: number[];
    /** Index in `addrs` of the pte being moved. */
    i?: number;
    /**
     * The pte being moved, between its clear and its set at the new address:
     * out of the page tables, it is the frame's own.
     */
    pte?: Pte;
  },
  Kernel
>("move_ptes", {
  entry(_k, f) {
    const extent: [number, number] = [f.v.oldAddr, f.v.oldEnd];
    return hook("move_ptes", "before_lock", { mm: f.v.mm, ranges: { extent } }, "before_lock");
  },
  before_lock(k, f) {
    const vma = vmaAt(k.state.mms[f.v.mm], f.v.vma);
    // 2.6 takes a file vma's i_mmap_lock (v2.6.24 mm/mremap.c:86); 4.x the rmap locks only for
    // a merged vma (kernel.rmap_lock "rwsem").
    const imm = vma.file && k.variants.rmap_lock === "spinlock" ? immapName(vma.file) : null;
    f.v.imm = imm;
    if (imm) return lock(imm, "spin", "lock.old");
    return go("lock.old");
  },
  "lock.old"(k, f) {
    if (f.v.imm) {
      // Under i_mmap_lock (v2.6.24 mm/mremap.c:87-89): a truncation that finished one vma and
      // not the other must not skip the new one ('new_vma->vm_truncate_count = 0').
      const mm = k.state.mms[f.v.mm];
      const vma = vmaAt(mm, f.v.vma);
      const newVma = findVma(mm, f.v.newAddr);
      if (newVma?.truncateCount && newVma.truncateCount !== vma.truncateCount) {
        delete newVma.truncateCount;
      }
    }
    return lock(ptlName(f.v.mm, f.v.oldAddr), "spin", "lock.new");
  },
  "lock.new"(_k, f) {
    const oldPtl = ptlName(f.v.mm, f.v.oldAddr);
    const newPtl = ptlName(f.v.mm, f.v.newAddr);
    if (newPtl !== oldPtl) return lock(newPtl, "spin", "locked");
    return go("locked");
  },
  locked(k, f) {
    f.v.addrs = ptesIn(k.state.mms[f.v.mm], f.v.oldAddr, f.v.oldEnd);
    f.v.i = 0;
    return go("pte");
  },
  pte(k, f) {
    const mm = k.state.mms[f.v.mm];
    const addrs = f.v.addrs!;
    if (f.v.i! < addrs.length) {
      const a = addrs[f.v.i!];
      f.v.pte = clearFlush(k, mm, a)!;
      return hook("move_ptes", "pte.after_clear", { mm: mm.id, address: a }, "pte.after_clear");
    }
    const oldPtl = ptlName(mm.id, f.v.oldAddr);
    const newPtl = ptlName(mm.id, f.v.newAddr);
    if (newPtl !== oldPtl) k.unlock(f.th, newPtl);
    k.unlock(f.th, oldPtl);
    if (f.v.imm) k.unlock(f.th, f.v.imm);
    const extent: [number, number] = [f.v.oldAddr, f.v.oldEnd];
    return hook("move_ptes", "after_unlock", { mm: mm.id, ranges: { extent } }, "done");
  },
  "pte.after_clear"(k, f) {
    const { oldAddr, newAddr } = f.v;
    const mm = k.state.mms[f.v.mm];
    const a = f.v.addrs![f.v.i!];
    const pte = f.v.pte!;
    delete f.v.pte;
    const to = newAddr + (a - oldAddr);
    setPte(mm, vpn(to), pte); // set_pte_at(mm, new_addr, ...)
    if (pte.t === "present" && !pte.special) {
      moveRefs(k.state, pte.pfn, pteHolder(mm.id, a), pteHolder(mm.id, to));
    }
    f.v.i!++;
    return go("pte");
  },
  done: () => ret(),
});

/**
 * `move_page_tables()`: moves `len` bytes of ptes; stops early when a new
 * page table cannot be allocated. Returns how much was moved.
 */
export const movePageTables = defPath<
  { mm: string; vma: number; oldAddr: number; newAddr: number; len: number },
  {
    /** Where the move has got to in the old range. */
    old?: number;
    /** Where the move has got to in the new range. */
    dst?: number;
    /** The extent being moved. */
    extent?: number;
  },
  Kernel
>("move_page_tables", {
  entry(_k, f) {
    const { oldAddr, len } = f.v;
    f.v.old = oldAddr;
    f.v.dst = f.v.newAddr;
    return hook(
      "move_page_tables",
      "entry",
      { mm: f.v.mm, ranges: { old: [oldAddr, oldAddr + len] } },
      "extent",
    );
  },
  extent(k, f) {
    const P = "move_page_tables";
    const { oldAddr, len } = f.v;
    const mm = k.state.mms[f.v.mm];
    const oldEnd = oldAddr + len;
    let old = f.v.old!;
    let dst = f.v.dst!;
    while (old < oldEnd) {
      // v2.6.24 mm/mremap.c:132-150.
      let extent = pmdAddrEnd(old, oldEnd) - old;
      // get_old_pmd(): no page table, nothing to move.
      if (hasPteTable(mm, old)) {
        // alloc_new_pmd(): pud, pmd and pte table at the destination.
        if (!allocTables(k, mm, dst, P)) break;
        extent = Math.min(extent, pmdAddrEnd(dst, Infinity) - dst, LATENCY_LIMIT);
        f.v.old = old;
        f.v.dst = dst;
        f.v.extent = extent;
        return call(
          movePtes,
          { mm: mm.id, vma: f.v.vma, oldAddr: old, oldEnd: old + extent, newAddr: dst },
          "extent.moved",
        );
      }
      old += extent;
      dst += extent;
    }
    f.v.old = old;
    f.v.dst = dst;
    return hook(P, "exit", {
      mm: mm.id,
      ranges: { old: [oldAddr, oldEnd], moved: [oldAddr, old] },
    }, "done");
  },
  "extent.moved"(_k, f) {
    f.v.old! += f.v.extent!;
    f.v.dst! += f.v.extent!;
    return go("extent");
  },
  done: (_k, f) => ret(f.v.len + f.v.old! - (f.v.oldAddr + f.v.len)),
});

/**
 * `sys_mremap()` with MREMAP_MAYMOVE|MREMAP_FIXED through `move_vma()`:
 * moves `len` bytes at `addr` to `newAddr`; returns the new address, or a
 * negative errno. `do_mremap()` runs under mmap_sem held for write (v2.6.24
 * mm/mremap.c:421; v2.6.27 427): it checks its arguments, unmaps the new
 * range (`do_munmap(mm, new_addr, new_len)`, line 298; v2.6.27 304), and only
 * then looks up the vma of the old one: -EFAULT where there is none, -EINVAL
 * for a hugetlb vma, -EFAULT across a vma's end (lines 321-331; v2.6.27
 * 327-337). `copy_vma()` links the new vma with `vma_link()` (mm/mmap.c:2140;
 * v2.6.27 2177), which takes the file's `i_mmap_lock` and sets
 * `vm_truncate_count` to the mapping's `truncate_count` (line 438; v2.6.27
 * 456).
 */
export const mremapMove = defPath<
  { mm: string; addr: number; len: number; newAddr: number },
  {
    /** How much `move_page_tables` moved. */
    moved?: number;
    /** The range `do_munmap` removes at the end: the old one, or the new one after a failure. */
    unmapAddr?: number;
    /** The new vma, by value, until `vma_link()` puts it in the mm. */
    newVma?: Vma;
    r?: number;
  },
  Kernel
>("sys_mremap", {
  entry(k, f) {
    const { addr, len, newAddr } = f.v;
    if (newAddr % PAGE_SIZE || addr % PAGE_SIZE) return ret(-22);
    // v2.6.24 mm/mremap.c do_mremap(), MREMAP_FIXED: "Check if the location we're moving
    // into overlaps the old location at all, and fail if it does" (-EINVAL).
    if (newAddr <= addr && newAddr + len > addr) return ret(-22);
    if (addr <= newAddr && addr + len > newAddr) return ret(-22);
    return lock(mmapSemName(k.state.mms[f.v.mm].id), "rwsem-write", "locked");
  },
  // MREMAP_FIXED: do_munmap(mm, new_addr, new_len) first.
  locked: (_k, f) => call(doMunmap, { mm: f.v.mm, start: f.v.newAddr, len: f.v.len }, "copy_vma"),
  copy_vma(k, f) {
    const { addr, len, newAddr } = f.v;
    const mm = k.state.mms[f.v.mm];
    const vma = findVma(mm, addr);
    if (!vma) {
      f.v.r = -14; // -EFAULT
      return go("unlock");
    }
    if (vma.kind === "hugetlb") {
      f.v.r = -22; // -EINVAL
      return go("unlock");
    }
    // "We can't remap across vm area boundaries".
    if (addr + len > vma.end) {
      f.v.r = -14; // -EFAULT
      return go("unlock");
    }
    // copy_vma(): the new vma (vma_merge is not modelled).
    f.v.newVma = {
      ...vma,
      start: newAddr,
      end: newAddr + len,
      pgoff: vma.pgoff + (addr - vma.start) / PAGE_SIZE,
    };
    if (vma.file !== undefined) return lock(immapName(vma.file), rmapWriteKind(k), "vma_link");
    return go("vma_link");
  },
  // vma_link(): a file's vma takes the mapping's truncate_count under its i_mmap_lock.
  vma_link(k, f) {
    const { addr, len, newAddr } = f.v;
    const mm = k.state.mms[f.v.mm];
    // A copy: the frame's value may be frozen by a copy of the run.
    const newVma: Vma = { ...f.v.newVma! };
    delete f.v.newVma;
    if (newVma.file !== undefined) {
      newVma.truncateCount = k.state.files[newVma.file].truncateCount ?? 0;
      k.unlock(f.th, immapName(newVma.file));
    }
    mm.vmas.push(newVma);
    sortVmas(mm);
    f.v.r = newAddr;
    f.v.unmapAddr = addr;
    return call(
      movePageTables,
      { mm: mm.id, vma: findVma(mm, addr)!.start, oldAddr: addr, newAddr, len },
      "moved",
      "moved",
    );
  },
  moved: () => point("move_vma:moved", "check"),
  check(_k, f) {
    const { addr, len, newAddr } = f.v;
    if (f.v.moved! < len) {
      // On error, move entries back from new area to old, then unmap the new area.
      f.v.unmapAddr = newAddr;
      f.v.r = -12;
      return call(
        movePageTables,
        { mm: f.v.mm, vma: newAddr, oldAddr: newAddr, newAddr: addr, len: f.v.moved! },
        "unmap",
      );
    }
    return go("unmap");
  },
  unmap: (_k, f) => call(doMunmap, { mm: f.v.mm, start: f.v.unmapAddr!, len: f.v.len }, "unlock"),
  unlock(k, f) {
    k.unlock(f.th, mmapSemName(f.v.mm));
    return ret(f.v.r);
  },
});
