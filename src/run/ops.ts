/**
 * Scenario operations of the 2.6.24 tree mapped onto kernel paths and
 * drivers: `runOp` is the path a thread runs for one operation; its return
 * value is the operation's result. (The 2.5.42 tree's are in
 * `v2.5.42/ops.ts`; `kernel_tree.ts` says which a run uses.)
 *
 * @module
 */
import { type Kernel, lock } from "../kernel/context.ts";
import { call, defPath, go, type Next, type PathRef, ret, type Vars } from "../kernel/steps.ts";
import type { Vma } from "../model/types.ts";
import { errnoName, findVma, newMm, updatePte, vpn, writePage } from "../model/state.ts";
import { writable } from "../model/_cow.ts";
import { faultOk, type FaultResult, handleMmFault } from "../kernel/fault.ts";
import { dupMmap } from "../kernel/fork.ts";
import { doMunmap, mmapRegion, mprotectFixup } from "../kernel/mmap.ts";
import { mremapMove } from "../kernel/mremap.ts";
import { applyToPageRange, remapPfnRange } from "../kernel/pfnmap.ts";
import { sysRemapFilePages } from "../kernel/fremap.ts";
import { pfnAt, shrinkPage, writebackPage } from "../kernel/rmap.ts";
import { exitMmap, hugetlbVmtruncate, madviseDontneed } from "../kernel/unmap.ts";
import { vmtruncate } from "../kernel/truncate.ts";
import { xipWrite } from "../kernel/xip.ts";
import { mmapSemName, pteAddr } from "../kernel/pgtable.ts";
import { putPage } from "../model/state.ts";
import {
  chainOf,
  mmuNotifierRegister,
  mmuNotifierUnregister,
  mmuRmapNotifierRegister,
  type NotifierChain,
} from "../notifier/chain.ts";
import { Kvm, kvmAccess, kvmArchDestroy, kvmDestroyVm } from "../secondary/kvm.ts";
import { HmmMirror, hmmSnapshot } from "../secondary/hmm.ts";
import { Gru, gruAccess } from "../secondary/gru.ts";
import { Xpmem } from "../secondary/xpmem.ts";
import type { Step } from "./scenario.ts";

/** What an operation returned, as the outcome records it. */
export type OpResult = string | number;

/** Everything an operation can reach. */
export interface World {
  /** The primary MMU: model state, locks and the revision's kernel paths. */
  kernel: Kernel;
  /** The mmu notifier chain and the secondary MMUs (KVM, HMM) on it. */
  chain: NotifierChain;
}

/** Returns the mm named `id`, creating it on first use (a new process). */
function mmOf(w: World, id: string) {
  return w.kernel.state.mms[id] ?? (w.kernel.state.mms[id] = newMm(id));
}

function errno(n: number): OpResult {
  return n < 0 ? errnoName(n) : n;
}

/** A path called by name with its arguments (see {@link withMmapSem}). */
interface Body {
  path: string;
  args: Vars;
}

/** Runs a kernel path under the mm's mmap_sem, for read or for write. */
const withMmapSem = defPath<
  { mm: string; write: boolean; body: Body },
  { r?: unknown },
  Kernel
>("mmap_sem", {
  entry: (_k, f) => lock(mmapSemName(f.v.mm), f.v.write ? "rwsem-write" : "rwsem-read", "locked"),
  locked: (_k, f) => call({ name: f.v.body.path } as PathRef<Vars>, f.v.body.args, "unlock", "r"),
  unlock(k, f) {
    const sem = mmapSemName(f.v.mm);
    if (k.holds(f.th, sem)) k.unlock(f.th, sem);
    return ret(f.v.r);
  },
});

/** Calls `path` under mmap_sem (for write when `write`), then goes on at `to` with the result in `v.r`. */
function underMmapSem<A extends Vars>(
  mm: string,
  write: boolean,
  path: PathRef<A>,
  args: A,
  to = "done",
): Next {
  return call(withMmapSem, { mm, write, body: { path: path.name, args } }, to, "r");
}

/** The vma an `mmap` step creates. */
function mmapVma(k: Kernel, a: Step["args"]): Vma {
  const file = a.file === undefined ? undefined : k.state.files[String(a.file)];
  const addr = Number(a.addr);
  return {
    start: addr,
    end: addr + Number(a.len),
    read: a.prot !== "none",
    write: a.prot === "rw",
    shared: a.share === "shared",
    mayWrite: a.share === "private" || a.prot === "rw",
    file: file?.name,
    pgoff: Number(a.pgoff ?? 0),
    kind: !file
      ? "anon"
      : file.kind === "hugetlbfs"
      ? "hugetlb"
      : file.kind === "xip"
      ? "xip"
      : "file",
    nonlinear: false,
    locked: a.locked === true,
    anonVma: false,
  };
}

/** How an operation's result reads in the outcome, from what its kernel path returned. */
function result(op: Step["op"], r: unknown): OpResult {
  switch (op) {
    case "mmap":
      return "0x" + (r as number).toString(16);
    case "mremap":
      return (r as number) < 0 ? errno(r as number) : "0x" + (r as number).toString(16);
    case "munmap":
    case "madvise_dontneed":
    case "fork":
    case "mprotect":
    case "remap_pfn_range":
    case "apply_to_page_range":
    case "xip_write":
    case "remap_file_pages":
      return errno(r as number);
    case "exit":
    case "register":
    case "unregister":
    case "destroy_vm":
      return 0;
    case "writeback":
      return r ? "written" : "clean";
    default:
      return r as OpResult;
  }
}

/**
 * The path of one operation of the 2.6.24 tree: `{ op }` is the scenario
 * step; returns the operation's result.
 */
export const runOp: PathRef<{ op: Step }> = defPath<
  { op: Step },
  { r?: unknown },
  Kernel
>("op", {
  entry(k, f) {
    const w = worldOf(k);
    const step = f.v.op;
    const a = step.args;
    const addr = Number(a.addr);
    const len = Number(a.len);
    switch (step.op) {
      case "mmap": {
        const mm = mmOf(w, String(a.mm));
        const args = { mm: mm.id, vma: mmapVma(k, a), locked: a.locked === true };
        return underMmapSem(mm.id, true, mmapRegion, args);
      }
      case "munmap": {
        const mm = mmOf(w, String(a.mm));
        return underMmapSem(mm.id, true, doMunmap, { mm: mm.id, start: addr, len });
      }
      case "touch": {
        const mm = mmOf(w, String(a.mm));
        return call(touch, { mm: mm.id, addr, write: a.access === "write" }, "done", "r");
      }
      case "guest": {
        const sec = w.chain.secondaries[String(a.secondary)];
        const args = { sec: sec?.id, addr, write: a.access === "write" };
        if (sec instanceof Kvm) return call(kvmAccess, args, "done", "r");
        if (sec instanceof Gru) return call(gruAccess, args, "done", "r");
        if (sec instanceof HmmMirror) return ret(sec.access(k, addr, a.access === "write"));
        return ret("unsupported");
      }
      case "snapshot": {
        const sec = w.chain.secondaries[String(a.secondary)];
        if (!(sec instanceof HmmMirror)) return ret("unsupported");
        return underMmapSem(sec.mm, false, hmmSnapshot, {
          sec: sec.id,
          start: addr,
          end: addr + len,
        });
      }
      case "register":
      case "unregister": {
        const sec = w.chain.secondaries[String(a.secondary)];
        const callerHoldsMmapSem = a.holding_mmap_sem === undefined
          ? w.chain.config.register === "caller-holds-mmap-sem"
          : a.holding_mmap_sem === true;
        if (step.op === "register") {
          mmOf(w, sec.mm);
          return call(mmuNotifierRegister, { sec: sec.id, callerHoldsMmapSem }, "registered");
        }
        return call(
          mmuNotifierUnregister,
          { sec: sec.id, callerHoldsMmapSem, free: a.free === true },
          "unregistered",
        );
      }
      case "destroy_vm": {
        // The VM's last file descriptor closes: kvm_put_kvm() -> kvm_destroy_vm().
        const sec = w.chain.secondaries[String(a.secondary)];
        if (!(sec instanceof Kvm)) return ret("unsupported");
        const callerHoldsMmapSem = w.chain.config.register === "caller-holds-mmap-sem";
        return call(kvmDestroyVm, { sec: sec.id, callerHoldsMmapSem }, "done", "r");
      }
      case "fork": {
        const parent = mmOf(w, String(a.mm));
        return call(dupMmap, { parent: parent.id, childId: String(a.child) }, "done", "r");
      }
      case "exit": {
        const mm = mmOf(w, String(a.mm));
        k.emit({
          type: "mm-exit",
          step: k.step,
          mm: mm.id,
          notifiers: [...(w.chain.lists[mm.id] ?? [])],
        });
        return call(exitMmap, { mm: mm.id }, "done");
      }
      case "mremap": {
        const mm = mmOf(w, String(a.mm));
        return call(mremapMove, { mm: mm.id, addr, len, newAddr: Number(a.new_addr) }, "done", "r");
      }
      case "madvise_dontneed": {
        const mm = mmOf(w, String(a.mm));
        return underMmapSem(mm.id, false, madviseDontneed, { mm: mm.id, start: addr, len });
      }
      case "truncate": {
        const file = String(a.file);
        const pages = Number(a.pages);
        // vmtruncate() and hugetlb_vmtruncate() write i_size first (v2.6.24 mm/memory.c:1925,
        // fs/hugetlbfs/inode.c:456; v2.6.27 mm/memory.c:2194 and inode.c:463): a fault that
        // looks at the size after this finds the page past the end (SIGBUS), and so does
        // filemap_fault() when it looks again under the page lock. vmtruncate() then unmaps,
        // truncates the cache under the page locks and unmaps again.
        k.state.files[file].size = pages;
        if (k.state.files[file].kind === "hugetlbfs") {
          return call(hugetlbVmtruncate, { file, firstIndex: pages }, "truncated");
        }
        const args = { file, firstIndex: pages, contended: a.contended === true };
        return call(vmtruncate, args, "done", "r");
      }
      case "mprotect": {
        const mm = mmOf(w, String(a.mm));
        return underMmapSem(mm.id, true, mprotectFixup, {
          mm: mm.id,
          start: addr,
          end: addr + len,
          read: a.prot !== "none",
          write: a.prot === "rw",
        });
      }
      case "remap_pfn_range": {
        const mm = mmOf(w, String(a.mm));
        return underMmapSem(mm.id, true, remapPfnRange, {
          mm: mm.id,
          addr,
          pfn: Number(a.pfn),
          size: len,
        });
      }
      case "apply_to_page_range": {
        const mm = mmOf(w, String(a.mm));
        return underMmapSem(mm.id, false, applyToPageRange, { mm: mm.id, addr, size: len });
      }
      case "xip_write":
        return call(xipWrite, { file: String(a.file), index: Number(a.index) }, "done", "r");
      case "remap_file_pages": {
        const mm = mmOf(w, String(a.mm));
        return call(
          sysRemapFilePages,
          {
            mm: mm.id,
            startIn: addr,
            sizeIn: len,
            prot: 0,
            pgoff: Number(a.pgoff),
            flags: { nonblock: a.nonblock === true },
          },
          "done",
          "r",
        );
      }
      case "reclaim": {
        const pfn = pfnAt(mmOf(w, String(a.mm)), addr);
        if (pfn === undefined) return ret("not-mapped");
        return call(shrinkPage, { pfn }, "done", "r");
      }
      case "writeback": {
        const pfn = k.state.files[String(a.file)].cache[Number(a.index)];
        if (pfn === undefined) return ret("not-cached");
        return call(writebackPage, { pfn }, "done", "r");
      }
    }
    throw new Error(`unknown operation ${step.op}`);
  },
  registered(k, f) {
    const sec = worldOf(k).chain.secondaries[String(f.v.op.args.secondary)];
    if (sec instanceof Xpmem && sec.rmapNotifier) {
      return call(mmuRmapNotifierRegister, { sec: sec.id }, "done");
    }
    return go("done");
  },
  unregistered(k, f) {
    const sec = worldOf(k).chain.secondaries[String(f.v.op.args.secondary)];
    // KVM unregisters only in kvm_destroy_vm(), and kvm_arch_destroy_vm() then drops every
    // spte; the other drivers tear down as their ->release does.
    if (sec instanceof Kvm) return call(kvmArchDestroy, { sec: sec.id, free: false }, "done");
    return call(sec.releasePath, { sec: sec.id }, "done");
  },
  // truncate_hugepages() (v2.6.24 fs/hugetlbfs/inode.c:461, v2.6.27 468), after the one unmap.
  // Its lock_page() (line 361) is not modelled, nor is hugetlb_no_page()'s find_lock_page():
  // that fault looks at i_size again under page_table_lock (v2.6.24 mm/hugetlb.c:882), after the
  // i_size_write() above, so it maps no page past the end without them.
  truncated(k, f) {
    const file = k.state.files[String(f.v.op.args.file)];
    const pages = Number(f.v.op.args.pages);
    for (const key of Object.keys(file.cache)) {
      const i = Number(key);
      if (i < pages) continue;
      const pfn = file.cache[i];
      delete file.cache[i];
      putPage(k.state, pfn, `cache:${file.name}`);
    }
    return ret(0);
  },
  done: (_k, f) => ret(result(f.v.op.op, f.v.r)),
});

/** The kernel and its chain, as operations see them. */
function worldOf(k: Kernel): World {
  return { kernel: k, chain: chainOf(k) };
}

/**
 * A CPU access: through the pte where the pte allows it, with no lock (the
 * MMU sets the pte's young and dirty bits); otherwise a page fault,
 * `do_page_fault()` taking mmap_sem for read around `handle_mm_fault()`
 * (v2.6.24 arch/x86/mm/fault_32.c:375-450; v2.6.27 arch/x86/mm/fault.c:698-777),
 * then the access again, until it goes through. A pte of a PROT_NONE
 * mapping is present for the kernel but not for the MMU (`protNone`).
 */
const touch = defPath<
  { mm: string; addr: number; write: boolean },
  { tries?: number; r?: FaultResult },
  Kernel
>("touch", {
  entry(k, f) {
    const { addr, write } = f.v;
    const mm = k.state.mms[f.v.mm];
    const tries = f.v.tries ?? 0;
    if (tries >= 3) return ret("no-progress");
    const vma = findVma(mm, addr);
    const pte = vma ? mm.ptes[vpn(pteAddr(vma, addr))] : undefined;
    if (pte && pte.t === "present" && !pte.protNone && (!write || pte.write)) {
      const key = vpn(pteAddr(vma!, addr));
      updatePte(mm, key, write ? { young: true, dirty: true } : { young: true });
      if (write && k.state.pages[pte.pfn] && !pte.special) writePage(k.state, pte.pfn);
      return ret(tries === 0 ? "hit" : "faulted");
    }
    return lock(mmapSemName(mm.id), "rwsem-read", "fault");
  },
  fault(_k, f) {
    const { mm, addr, write } = f.v;
    return call(handleMmFault, { mm, addr, write }, "faulted", "r");
  },
  faulted(k, f) {
    k.unlock(f.th, mmapSemName(f.v.mm));
    if (!faultOk(f.v.r!)) return ret(f.v.r);
    f.v.tries = (f.v.tries ?? 0) + 1;
    return go("entry");
  },
});

/**
 * The path of a `race` thread: its operations one after another, each run by
 * `runOp` (the tree's operation path); returns their results joined.
 */
export const sequence: PathRef<{ ops: Step[]; runOp: PathRef<{ op: Step }> }> = defPath<
  { ops: Step[]; runOp: PathRef<{ op: Step }> },
  { i?: number; out?: string[]; r?: unknown },
  Kernel
>("ops", {
  entry(_k, f) {
    f.v.i = 0;
    f.v.out = [];
    return go("next");
  },
  next(_k, f) {
    if (f.v.i! >= f.v.ops.length) return ret(f.v.out!.join(","));
    return call(f.v.runOp, { op: f.v.ops[f.v.i!] }, "ran", "r");
  },
  ran(_k, f) {
    (f.v.out = writable(f.v.out!)).push(String(f.v.r));
    f.v.i!++;
    return go("next");
  },
});
