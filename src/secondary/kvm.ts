/**
 * A KVM secondary MMU modelled on the mmu-notifier client of Linux 2.6.27
 * (virt/kvm/kvm_main.c, arch/x86/kvm/mmu.c): shadow ptes that hold a page
 * reference, `mmu_notifier_count` and `mmu_notifier_seq`, `BUG_ON(count < 0)`
 * at range end, and a fault path that retries while an invalidation is open
 * or the sequence moved since it started.
 *
 * @module
 */
import { type CalloutEvent, type Kernel, lock } from "../kernel/context.ts";
import { getUserPage, type GupResult } from "../kernel/fault.ts";
import { mmapSemName } from "../kernel/pgtable.ts";
import { call, defPath, go, type PathRef, point, ret } from "../kernel/steps.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { hex, putPage, vpn } from "../model/state.ts";
import { chainOf, type Secondary, type SecondaryMapping } from "../notifier/chain.ts";
import { holdersOf, mappingsOf } from "./_translations.ts";

/** One shadow pte. */
export interface Spte {
  pfn: number;
  write: boolean;
  accessed: boolean;
  dirty: boolean;
}

/** Retries after which a KVM fault is reported as making no progress. */
export const KVM_FAULT_RETRY_BOUND = 8;

/** What a guest access through KVM returned. */
export type KvmAccessResult = "hit" | "faulted" | "EFAULT" | "no-progress" | "BUG";

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

  constructor(readonly id: string, readonly mm: string) {}

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
    return mappingsOf(this.sptes);
  }

  /** The references its shadow ptes hold. */
  refHolders(): Record<string, number> {
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
    };
  }

  /** Drops the shadow pte at `addr` (`kvm_unmap_rmapp`): dirty goes to the page, the reference is put. */
  zap(k: Kernel, addr: number): void {
    const key = vpn(addr);
    const s = this.sptes[key];
    if (!s) return;
    delete this.sptes[key];
    const page = k.state.pages[s.pfn];
    if (s.dirty && page && !page.freed) page.dirty = true;
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

/** `kvm_mmu_notifier_release`: `kvm_arch_flush_shadow`. */
const kvmRelease = defPath<{ sec: string }, Record<never, never>, Kernel>("kvm.release", {
  entry(k, f) {
    const kvm = kvmOf(k, f.v.sec);
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
 * A guest access to `addr` through KVM `sec`: through the shadow pte when it
 * allows it, otherwise the KVM fault path (`mmu_seq = seq; gfn_to_pfn();
 * spin_lock(mmu_lock); if (mmu_notifier_retry()) goto out_unlock;` then map
 * the spte). Returns a {@link KvmAccessResult}.
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
  entry(_k, f) {
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
      if (write) {
        s.dirty = true;
        const page = k.state.pages[s.pfn];
        if (page) page.data++;
      }
      return ret(f.v.faulted ? "faulted" : "hit");
    }
    if (f.v.attempt! > KVM_FAULT_RETRY_BOUND) {
      k.emit({
        type: "no-progress",
        step: k.step,
        thread: f.th,
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
    const args = { mm: kvm.mm, addr: f.v.a!, write: f.v.write, holder: `gup:${kvm.id}` };
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
    const { write } = f.v;
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
    kvm.sptes[vpn(a)] = { pfn, write, accessed: true, dirty: false };
    // The gup reference becomes the spte's reference.
    const page = k.state.pages[pfn];
    page.refs[gupHolder]--;
    if (page.refs[gupHolder] === 0) delete page.refs[gupHolder];
    page.refs[kvm.holder(a)] = (page.refs[kvm.holder(a)] ?? 0) + 1;
    k.unlock(f.th, lockName);
    return go("attempt");
  },
});
