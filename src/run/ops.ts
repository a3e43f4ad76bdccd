/**
 * Scenario operations mapped onto kernel paths and drivers: each returns a
 * kernel generator whose return value is the operation's result.
 *
 * @module
 */
import type { Kernel, KGen } from "../kernel/context.ts";
import type { Vma } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { errnoName, findVma, newMm, vpn } from "../model/state.ts";
import { faultOk, handleMmFault } from "../kernel/fault.ts";
import { dupMmap } from "../kernel/fork.ts";
import { doMmap, doMunmap, mprotectFixup } from "../kernel/mmap.ts";
import { mremapMove } from "../kernel/mremap.ts";
import { applyToPageRange, remapPfnRange } from "../kernel/pfnmap.ts";
import { sysRemapFilePages } from "../kernel/fremap.ts";
import { pfnAt, shrinkPage, writebackPage } from "../kernel/rmap.ts";
import { exitMmap, hugetlbVmtruncate, unmapMappingRange, zapPageRange } from "../kernel/unmap.ts";
import { xipWrite } from "../kernel/xip.ts";
import { mmapSemName, pteAddr } from "../kernel/pgtable.ts";
import { putPage } from "../model/state.ts";
import type { NotifierChain } from "../notifier/chain.ts";
import { Kvm } from "../secondary/kvm.ts";
import { HmmMirror } from "../secondary/hmm.ts";
import { Gru } from "../secondary/gru.ts";
import { Xpmem } from "../secondary/xpmem.ts";
import type { Step } from "./scenario.ts";
import { runOp2542 } from "./ops_2542.ts";

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

/** Runs a kernel path under the mm's mmap_sem. */
function* withMmapSem<T>(
  k: Kernel,
  th: string,
  mm: string,
  write: boolean,
  body: KGen<T>,
): KGen<T> {
  const sem = mmapSemName(mm);
  yield* k.lock(th, sem, write ? "rwsem-write" : "rwsem-read");
  try {
    return yield* body;
  } finally {
    if (k.holds(th, sem)) k.unlock(th, sem);
  }
}

/** The generator of one operation. */
export function* runOp(w: World, step: Step): KGen<OpResult> {
  const k = w.kernel;
  if (k.nonlinear) return yield* runOp2542(w, step);
  const th = step.thread;
  const a = step.args;
  const addr = Number(a.addr);
  const len = Number(a.len);
  switch (step.op) {
    case "mmap": {
      const mm = mmOf(w, String(a.mm));
      const file = a.file === undefined ? undefined : k.state.files[String(a.file)];
      const vma: Vma = {
        start: addr,
        end: addr + len,
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
      const r = yield* withMmapSem(k, th, mm.id, true, doMmap(k, th, mm, vma));
      if (a.locked) {
        // MAP_LOCKED: make_pages_present()
        for (let p = addr; p < addr + len; p += PAGE_SIZE) {
          yield* handleMmFault(k, th, mm, p, false);
        }
      }
      return "0x" + r.toString(16);
    }
    case "munmap": {
      const mm = mmOf(w, String(a.mm));
      return errno(yield* withMmapSem(k, th, mm.id, true, doMunmap(k, th, mm, addr, len)));
    }
    case "touch": {
      const mm = mmOf(w, String(a.mm));
      const write = a.access === "write";
      const r = yield* withMmapSem(k, th, mm.id, false, touch(k, th, mm.id, addr, write));
      return r;
    }
    case "guest": {
      const sec = w.chain.secondaries[String(a.secondary)];
      if (sec instanceof Kvm || sec instanceof Gru) {
        return yield* sec.access(k, th, addr, a.access === "write");
      }
      if (sec instanceof HmmMirror) return sec.access(k, addr, a.access === "write");
      return "unsupported";
    }
    case "snapshot": {
      const sec = w.chain.secondaries[String(a.secondary)];
      if (!(sec instanceof HmmMirror)) return "unsupported";
      const sem = mmapSemName(sec.mm);
      yield* k.lock(th, sem, "rwsem-read");
      const r = yield* sec.snapshot(k, th, addr, addr + len);
      k.unlock(th, sem);
      return r;
    }
    case "register":
    case "unregister": {
      const sec = w.chain.secondaries[String(a.secondary)];
      const holding = a.holding_mmap_sem === undefined
        ? w.chain.config.register === "caller-holds-mmap-sem"
        : a.holding_mmap_sem === true;
      if (step.op === "register") {
        mmOf(w, sec.mm);
        yield* w.chain.register(k, th, sec, holding);
        if (sec instanceof Xpmem && sec.rmapNotifier) yield* w.chain.registerRmap(k, th, sec);
      } else {
        yield* w.chain.unregister(k, th, sec, holding, a.free === true);
        yield* sec.release(k, th);
      }
      return 0;
    }
    case "fork": {
      const parent = mmOf(w, String(a.mm));
      return errno(yield* dupMmap(k, th, parent, String(a.child)));
    }
    case "exit": {
      const mm = mmOf(w, String(a.mm));
      k.emit({
        type: "mm-exit",
        step: k.step,
        mm: mm.id,
        notifiers: [...(w.chain.lists[mm.id] ?? [])],
      });
      yield* exitMmap(k, th, mm);
      return 0;
    }
    case "mremap": {
      const mm = mmOf(w, String(a.mm));
      const r = yield* mremapMove(k, th, mm, addr, len, Number(a.new_addr));
      return r < 0 ? errno(r) : "0x" + r.toString(16);
    }
    case "madvise_dontneed": {
      const mm = mmOf(w, String(a.mm));
      yield* withMmapSem(k, th, mm.id, false, zapPageRange(k, th, mm, addr, len));
      return 0;
    }
    case "truncate": {
      const f = k.state.files[String(a.file)];
      const pages = Number(a.pages);
      if (f.kind === "hugetlbfs") yield* hugetlbVmtruncate(k, th, f.name, pages);
      else yield* unmapMappingRange(k, th, f.name, pages, a.contended === true);
      for (const key of Object.keys(f.cache)) {
        const i = Number(key);
        if (i < pages) continue;
        const pfn = f.cache[i];
        delete f.cache[i];
        putPage(k.state, pfn, `cache:${f.name}`);
      }
      f.size = pages;
      return 0;
    }
    case "mprotect": {
      const mm = mmOf(w, String(a.mm));
      return errno(
        yield* withMmapSem(
          k,
          th,
          mm.id,
          true,
          mprotectFixup(k, th, mm, addr, addr + len, a.prot === "rw"),
        ),
      );
    }
    case "remap_pfn_range": {
      const mm = mmOf(w, String(a.mm));
      return errno(
        yield* withMmapSem(k, th, mm.id, true, remapPfnRange(k, th, mm, addr, Number(a.pfn), len)),
      );
    }
    case "apply_to_page_range": {
      const mm = mmOf(w, String(a.mm));
      return errno(yield* withMmapSem(k, th, mm.id, false, applyToPageRange(k, th, mm, addr, len)));
    }
    case "xip_write":
      return errno(yield* xipWrite(k, th, String(a.file), Number(a.index)));
    case "remap_file_pages": {
      const mm = mmOf(w, String(a.mm));
      return errno(
        yield* sysRemapFilePages(k, th, mm, addr, len, 0, Number(a.pgoff), {
          nonblock: a.nonblock === true,
        }),
      );
    }
    case "reclaim": {
      const mm = mmOf(w, String(a.mm));
      const pfn = pfnAt(mm, addr);
      if (pfn === undefined) return "not-mapped";
      return yield* shrinkPage(k, th, pfn);
    }
    case "writeback": {
      const f = k.state.files[String(a.file)];
      const pfn = f.cache[Number(a.index)];
      if (pfn === undefined) return "not-cached";
      return (yield* writebackPage(k, th, pfn)) ? "written" : "clean";
    }
  }
  throw new Error(`unknown operation ${step.op}`);
}

/** A CPU access: through the pte if it allows it, else `handle_mm_fault` until it does. */
function* touch(k: Kernel, th: string, mmId: string, addr: number, write: boolean): KGen<OpResult> {
  const mm = k.state.mms[mmId];
  for (let tries = 0; tries < 3; tries++) {
    const vma = findVma(mm, addr);
    const pte = vma ? mm.ptes[vpn(pteAddr(vma, addr))] : undefined;
    if (pte && pte.t === "present" && (!write || pte.write)) {
      pte.young = true;
      if (write) {
        pte.dirty = true;
        const page = k.state.pages[pte.pfn];
        if (page && !pte.special) page.data++;
      }
      return tries === 0 ? "hit" : "faulted";
    }
    const r = yield* handleMmFault(k, th, mm, addr, write);
    if (!faultOk(r)) return r;
  }
  return "no-progress";
}
