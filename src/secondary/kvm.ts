/**
 * A KVM secondary MMU modelled on the mmu-notifier client of Linux 2.6.27
 * (virt/kvm/kvm_main.c, arch/x86/kvm/mmu.c, paging_tmpl.h at v2.6.27): shadow
 * ptes that hold a page reference, `mmu_notifier_count` and
 * `mmu_notifier_seq`, `BUG_ON(count < 0)` at range end, and a fault path that
 * retries while an invalidation is open or the sequence moved since it
 * started.
 *
 * What the 2.6.27 source fixes, line by line:
 * - the fault: `gfn_to_pfn()` calls `get_user_pages(current, current->mm,
 *   addr, 1, 1, 1, page, NULL)` (kvm_main.c gfn_to_pfn(), line 729), a write
 *   with force for every guest access, read or write: the host breaks COW on
 *   a guest read, even over a read-only private mapping;
 * - the spte's permission: the direct path (`nonpaging_map()`,
 *   `tdp_page_fault()`) maps with `mmu_set_spte(..., ACC_ALL, ACC_ALL, 0,
 *   write, 1, ...)` (mmu.c __direct_map(), line 1248), so every spte is
 *   writable whatever the access that faulted (mmu.c mmu_set_spte(), lines
 *   1179-1183); the shadow path takes the guest pte's access and dirty bit
 *   instead (paging_tmpl.h FNAME(fetch), line 351), and the model's guest
 *   has no page tables of its own;
 * - the release of a page: `rmap_remove()` puts a writable spte's page with
 *   `kvm_release_pfn_dirty()` (mmu.c, lines 541-544), which `SetPageDirty`s
 *   it (kvm_main.c kvm_set_pfn_dirty());
 * - the ops: `kvm_mmu_notifier_ops` has `invalidate_page`,
 *   `invalidate_range_start`, `invalidate_range_end` and
 *   `clear_flush_young`, no `release` (kvm_main.c, lines 304-309): the sptes
 *   and their page references outlive `exit_mmap` until the VM is destroyed
 *   (`kvm_destroy_vm()`, lines 394-412: `mmu_notifier_unregister()`, then
 *   `kvm_arch_destroy_vm()`, which frees the vcpus' shadow pages and so
 *   every spte: x86.c kvm_free_vcpus() line 3956, mmu.c kvm_mmu_destroy()
 *   and free_mmu_pages(), line 1984). A later kernel's release method that
 *   flushes the shadow is the `flush-shadow` variant ({@link KVM_RELEASES}).
 *
 * @module
 */
import { type CalloutEvent, type Kernel, lock } from "../kernel/context.ts";
import { getUserPage, type GupResult } from "../kernel/fault.ts";
import { mmapSemName, primaryPte } from "../kernel/pgtable.ts";
import { call, defPath, go, type PathRef, point, ret } from "../kernel/steps.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { hex, moveRefs, putPage, updatePage, vpn, writePage } from "../model/state.ts";
import {
  chainOf,
  mmuNotifierUnregister,
  type Secondary,
  type SecondaryMapping,
} from "../notifier/chain.ts";
import { holdersOf } from "./_translations.ts";

/**
 * What KVM's `->release` does when `exit_mmap` (or an unregister) calls it:
 * `none`, 2.6.27's `kvm_mmu_notifier_ops` has no release method (the sptes
 * stay until `kvm_destroy_vm`); `flush-shadow`, a release that zaps every
 * spte (`kvm_arch_flush_shadow()`, as later kernels' `kvm_mmu_notifier_release`
 * does).
 */
export const KVM_RELEASES = ["none", "flush-shadow"] as const;
/** A KVM release variant (see {@link KVM_RELEASES}). */
export type KvmRelease = typeof KVM_RELEASES[number];

/** One shadow pte. */
export interface Spte {
  /** The host page it maps. */
  pfn: number;
  /** Writable: always, on the direct path (`ACC_ALL`). */
  write: boolean;
  /** The accessed bit (set when the fault maps it, cleared by aging). */
  accessed: boolean;
  /**
   * Whether the host pte was read-only when the spte was made, so that its
   * write permission comes from the forced write fault (`force=1`).
   */
  forced: boolean;
}

/** Retries after which a KVM fault is reported as making no progress. */
export const KVM_FAULT_RETRY_BOUND = 8;

/**
 * What a guest access through KVM returned: `EIO` when no vcpu can run (the
 * mm has exited or the VM was destroyed: `kvm_vcpu_ioctl()` returns `-EIO`
 * to a caller whose mm is not the VM's, kvm_main.c line 1122).
 */
export type KvmAccessResult = "hit" | "faulted" | "EFAULT" | "EIO" | "no-progress" | "BUG";

/** The KVM secondary MMU of one VM (one mm). */
export class Kvm implements Secondary {
  readonly driver = "kvm";
  /** Shadow ptes by guest-visible (host virtual) page number. */
  readonly sptes: Record<number, Spte> = {};
  /** `kvm->mmu_notifier_count`. */
  count = 0;
  /** `kvm->mmu_notifier_seq`. */
  seq = 0;
  /** BUG()s hit (the host would oops here). */
  readonly bugs: string[] = [];
  /** Faults taken and retries made. */
  faults = 0;
  retries = 0;
  /** `kvm_destroy_vm()` has run: the VM is gone. */
  destroyed = false;
  /** Its sptes and their page references stay after `exit_mmap` until `kvm_destroy_vm`. */
  readonly outlivesMm = true;

  /**
   * A VM on mm `mm`.
   *
   * @param id Notifier id.
   * @param mm The mm whose memory the guest uses.
   * @param release What its `->release` does (see {@link KVM_RELEASES}).
   */
  constructor(readonly id: string, readonly mm: string, readonly release: KvmRelease = "none") {}

  /** Handles a callout (see {@link kvmCallback}). */
  get callbackPath(): PathRef<{ sec: string; ev: CalloutEvent }> {
    return kvmCallback;
  }

  /** `kvm_mmu_notifier_release` (see {@link kvmRelease}). */
  get releasePath(): PathRef<{ sec: string }> {
    return kvmRelease;
  }

  /** Reference holder name for the spte at `addr`. */
  holder(addr: number): string {
    return `kvm:${this.id}:${hex(addr)}`;
  }

  /** Every mapping it holds, for the checkers. */
  mappings(): SecondaryMapping[] {
    return Object.entries(this.sptes).map(([key, s]) => ({
      addr: Number(key) * PAGE_SIZE,
      pfn: s.pfn,
      write: s.write,
      ...(s.forced ? { forced: true } : {}),
    }));
  }

  /** The references its shadow ptes hold; none once the VM is destroyed (a reference left is a leak). */
  refHolders(): Record<string, number> {
    if (this.destroyed) return {};
    return holdersOf(this.mappings(), (a) => this.holder(a));
  }

  /** Counters and BUGs for the outcome. */
  summary(): Record<string, number | string | string[]> {
    return {
      sptes: Object.keys(this.sptes).length,
      mmu_notifier_count: this.count,
      mmu_notifier_seq: this.seq,
      faults: this.faults,
      retries: this.retries,
      bugs: [...this.bugs],
      vm: this.destroyed ? "destroyed" : "live",
    };
  }

  /**
   * Drops the shadow pte at `addr` (`kvm_unmap_rmapp` -> `rmap_remove`): a
   * writable spte's page is released dirty, `kvm_release_pfn_dirty()` (mmu.c
   * lines 541-544; `kvm_set_pfn_dirty()` leaves a reserved page such as the
   * zero page alone), whether or not the guest wrote it.
   */
  zap(k: Kernel, addr: number): void {
    const key = vpn(addr);
    const s = this.sptes[key];
    if (!s) return;
    delete this.sptes[key];
    const page = k.state.pages[s.pfn];
    if (s.write && page && !page.freed && page.owner.kind !== "zero") {
      updatePage(k.state, s.pfn, { dirty: true });
    }
    putPage(k.state, s.pfn, this.holder(addr));
  }

  /** Drops every shadow pte of `[start, end)` (see {@link Kvm.zap}). */
  zapRange(k: Kernel, start: number, end: number): void {
    for (const key of Object.keys(this.sptes)) {
      const addr = Number(key) * PAGE_SIZE;
      if (addr + PAGE_SIZE > start && addr < end) this.zap(k, addr);
    }
  }
}

/** The Kvm instance `id` of the kernel's chain. */
function kvmOf(k: Kernel, id: string): Kvm {
  return chainOf(k).secondaries[id] as Kvm;
}

/** Handles a callout in the way the 2.6.27 client does for that kind. */
const kvmCallback = defPath<
  { sec: string; ev: CalloutEvent },
  Record<never, never>,
  Kernel
>("kvm.callback", {
  entry(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    k.noteCallback(f.th, kvm.id, f.v.ev.call, false);
    return lock(`kvm->mmu_lock:${kvm.id}`, "spin", "locked");
  },
  locked(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    const { ev } = f.v;
    let young = false;
    switch (ev.kind) {
      case "page": // kvm_mmu_notifier_invalidate_page
        kvm.seq++;
        kvm.zap(k, ev.address!);
        break;
      case "range": // a single range callout: unmap the range, bump the sequence
        kvm.seq++;
        kvm.zapRange(k, ev.range![0], ev.range![1]);
        break;
      case "begin": // kvm_mmu_notifier_invalidate_range_start
        kvm.count++;
        if (ev.range) kvm.zapRange(k, ev.range[0], ev.range[1]);
        break;
      case "end": // kvm_mmu_notifier_invalidate_range_end
        kvm.seq++;
        kvm.count--;
        if (kvm.count < 0) {
          const what = "BUG_ON(kvm->mmu_notifier_count < 0)";
          kvm.bugs.push(`step ${k.step}: ${what}`);
          k.emit({ type: "secondary-bug", step: k.step, secondary: kvm.id, what });
        }
        break;
      case "young": { // kvm_mmu_notifier_clear_flush_young
        const s = kvm.sptes[vpn(ev.address!)];
        if (s) {
          young = s.accessed;
          s.accessed = false;
        }
        break;
      }
      case "all":
        kvm.zapRange(k, 0, 2 ** 48);
        break;
      case "release":
        break;
    }
    k.unlock(f.th, `kvm->mmu_lock:${kvm.id}`);
    return ret(young);
  },
});

/**
 * `->release` in the revision's variant: `none` calls nothing (2.6.27's ops
 * have no release, kvm_main.c lines 304-309, and `__mmu_notifier_release()`
 * calls it only `if (mn->ops->release)`); `flush-shadow` zaps every spte
 * under mmu_lock (`kvm_arch_flush_shadow()`).
 */
const kvmRelease = defPath<{ sec: string }, Record<never, never>, Kernel>("kvm.release", {
  entry(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    if (kvm.release === "none") return ret();
    k.noteCallback(f.th, kvm.id, "release", false);
    return lock(`kvm->mmu_lock:${kvm.id}`, "spin", "locked");
  },
  locked(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    kvm.zapRange(k, 0, 2 ** 48);
    k.unlock(f.th, `kvm->mmu_lock:${kvm.id}`);
    return ret();
  },
});

/**
 * `kvm_arch_destroy_vm()`'s effect on the shadow MMU: every vcpu's roots are
 * put under mmu_lock (x86.c kvm_free_vcpus(), line 3956 -> kvm_mmu_unload()
 * -> mmu.c mmu_free_roots(), line 1332), and the shadow pages are freed, so
 * every spte is dropped through `rmap_remove()` (kvm_mmu_destroy() ->
 * free_mmu_pages(), line 1984 -> kvm_mmu_zap_page()). With `free`,
 * `kfree(kvm)` frees the embedded struct mmu_notifier too (x86.c, line 3962).
 */
export const kvmArchDestroy: PathRef<{ sec: string; free: boolean }> = defPath<
  { sec: string; free: boolean },
  Record<never, never>,
  Kernel
>("kvm_arch_destroy_vm", {
  entry: (_k, f) => lock(`kvm->mmu_lock:${f.v.sec}`, "spin", "locked"),
  locked(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    kvm.zapRange(k, 0, 2 ** 48);
    kvm.destroyed = true;
    k.unlock(f.th, `kvm->mmu_lock:${kvm.id}`);
    if (f.v.free) chainOf(k).freed.add(kvm.id);
    return ret();
  },
});

/**
 * `kvm_destroy_vm()` (kvm_main.c, lines 394-412), when the last reference to
 * the VM goes (its file descriptors closed): `mmu_notifier_unregister()`,
 * then {@link kvmArchDestroy}, which frees the struct kvm. `callerHoldsMmapSem`
 * is for the revisions whose unregistration needs mmap_sem held.
 */
export const kvmDestroyVm: PathRef<{ sec: string; callerHoldsMmapSem: boolean }> = defPath<
  { sec: string; callerHoldsMmapSem: boolean },
  Record<never, never>,
  Kernel
>("kvm_destroy_vm", {
  entry(_k, f) {
    const args = { sec: f.v.sec, callerHoldsMmapSem: f.v.callerHoldsMmapSem, free: false };
    return call(mmuNotifierUnregister, args, "unregistered");
  },
  unregistered: (_k, f) => call(kvmArchDestroy, { sec: f.v.sec, free: true }, "done"),
  done: () => ret(0),
});

/**
 * A guest access to `addr` through KVM `sec`: through the shadow pte when it
 * allows it, otherwise the KVM fault path (`mmu_seq = seq; gfn_to_pfn();
 * spin_lock(mmu_lock); if (mmu_notifier_retry()) goto out_unlock;` then map
 * the spte). Returns a {@link KvmAccessResult}; `EIO` at once when the mm has
 * exited or the VM is destroyed.
 *
 * Frame: `a` the page address, `attempt` the fault attempts so far,
 * `faulted` whether one was taken; within an attempt, `mmuSeq` the sequence
 * it started at, `r` what gfn_to_pfn (get_user_pages) returned and `pfn` the
 * page it got.
 */
export const kvmAccess: PathRef<{ sec: string; addr: number; write: boolean }> = defPath<
  { sec: string; addr: number; write: boolean },
  { a?: number; attempt?: number; faulted?: boolean; mmuSeq?: number; r?: GupResult; pfn?: number },
  Kernel
>("kvm.access", {
  entry(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    const mm = k.state.mms[kvm.mm];
    // kvm_vcpu_ioctl(): 'if (vcpu->kvm->mm != current->mm) return -EIO;' (kvm_main.c, line 1122):
    // once the mm has exited no thread has it, so no vcpu runs.
    if (kvm.destroyed || !mm || mm.exited) return ret("EIO");
    f.v.a = f.v.addr - (f.v.addr % PAGE_SIZE);
    f.v.faulted = false;
    f.v.attempt = 0;
    return go("attempt");
  },
  attempt(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    const { write } = f.v;
    const a = f.v.a!;
    const s = kvm.sptes[vpn(a)];
    if (s && (!write || s.write)) {
      k.noteAccess(kvm.id, kvm.mm, a, write, s.pfn);
      s.accessed = true;
      if (write && k.state.pages[s.pfn]) writePage(k.state, s.pfn);
      return ret(f.v.faulted ? "faulted" : "hit");
    }
    if (f.v.attempt! > KVM_FAULT_RETRY_BOUND) {
      k.emit({
        type: "no-progress",
        step: k.step,
        thread: f.th,
        secondary: kvm.id,
        what: `${kvm.id}: fault at ${hex(a)} retried ${KVM_FAULT_RETRY_BOUND} times ` +
          `(mmu_notifier_count=${kvm.count}, seq=${kvm.seq})`,
      });
      return ret("no-progress");
    }
    f.v.faulted = true;
    kvm.faults++;
    f.v.mmuSeq = kvm.seq;
    const mm = k.state.mms[kvm.mm];
    if (!mm || mm.exited) return ret("EFAULT");
    return lock(mmapSemName(kvm.mm), "rwsem-read", "gfn_to_pfn");
  },
  gfn_to_pfn(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    // get_user_pages(current, current->mm, addr, 1, 1, 1, page, NULL): write=1, force=1 for
    // every guest access, read or write (kvm_main.c gfn_to_pfn(), line 729).
    const args = { mm: kvm.mm, addr: f.v.a!, write: true, force: true, holder: `gup:${kvm.id}` };
    return call(getUserPage, args, "gfn_to_pfn.done", "r");
  },
  "gfn_to_pfn.done"(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    k.unlock(f.th, mmapSemName(kvm.mm));
    const r = f.v.r!;
    f.v.r = undefined;
    if ("error" in r) return ret("EFAULT");
    f.v.pfn = r.pfn;
    return point(`${kvm.id}:after-gfn_to_pfn`, "after-gfn_to_pfn");
  },
  "after-gfn_to_pfn"(_k, f) {
    return lock(`kvm->mmu_lock:${f.v.sec}`, "spin", "mmu_lock");
  },
  mmu_lock(k, f) {
    const kvm = kvmOf(k, f.v.sec);
    const a = f.v.a!;
    const pfn = f.v.pfn!;
    const lockName = `kvm->mmu_lock:${kvm.id}`;
    const gupHolder = `gup:${kvm.id}`;
    const mmuSeq = f.v.mmuSeq;
    f.v.pfn = f.v.mmuSeq = undefined;
    f.v.attempt!++;
    if (kvm.count !== 0 || kvm.seq !== mmuSeq) {
      // mmu_notifier_retry(): kvm_release_pfn_clean() and let the guest fault again.
      k.unlock(f.th, lockName);
      putPage(k.state, pfn, gupHolder);
      kvm.retries++;
      return point(`${kvm.id}:retry`, "attempt", { wait: true });
    }
    const old = kvm.sptes[vpn(a)];
    if (old) kvm.zap(k, a);
    // __direct_map(): mmu_set_spte(vcpu, &table[index], ACC_ALL, ACC_ALL, 0, write, 1, ...)
    // (mmu.c, line 1248): writable whatever the access, with the accessed bit set.
    const pte = primaryPte(k.state.mms[kvm.mm], a);
    const forced = !(pte && pte.t === "present" && pte.pfn === pfn && pte.write);
    kvm.sptes[vpn(a)] = { pfn, write: true, accessed: true, forced };
    // The gup reference becomes the spte's reference.
    moveRefs(k.state, pfn, gupHolder, kvm.holder(a), 1);
    k.unlock(f.th, lockName);
    return go("attempt");
  },
});
