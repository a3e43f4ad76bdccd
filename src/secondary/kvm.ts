/**
 * A KVM secondary MMU modelled on the mmu-notifier client of Linux 2.6.27
 * (virt/kvm/kvm_main.c, arch/x86/kvm/mmu.c): shadow ptes that hold a page
 * reference, `mmu_notifier_count` and `mmu_notifier_seq`, `BUG_ON(count < 0)`
 * at range end, and a fault path that retries while an invalidation is open
 * or the sequence moved since it started.
 *
 * @module
 */
import type { CalloutEvent, Kernel, KGen } from "../kernel/context.ts";
import { getUserPage } from "../kernel/fault.ts";
import { mmapSemName } from "../kernel/pgtable.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { hex, putPage, vpn } from "../model/state.ts";
import type { Secondary, SecondaryMapping } from "../notifier/chain.ts";
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
  private zap(k: Kernel, addr: number): void {
    const key = vpn(addr);
    const s = this.sptes[key];
    if (!s) return;
    delete this.sptes[key];
    const page = k.state.pages[s.pfn];
    if (s.dirty && page && !page.freed) page.dirty = true;
    putPage(k.state, s.pfn, this.holder(addr));
  }

  private zapRange(k: Kernel, start: number, end: number): void {
    for (const key of Object.keys(this.sptes)) {
      const addr = Number(key) * PAGE_SIZE;
      if (addr + PAGE_SIZE > start && addr < end) this.zap(k, addr);
    }
  }

  /** Handles a callout in the way the 2.6.27 client does for that kind. */
  *callback(k: Kernel, th: string, ev: CalloutEvent): KGen<boolean> {
    k.noteCallback(th, this.id, ev.call, false);
    const lock = `kvm->mmu_lock:${this.id}`;
    yield* k.lock(th, lock, "spin");
    let young = false;
    switch (ev.kind) {
      case "page": // kvm_mmu_notifier_invalidate_page
        this.seq++;
        this.zap(k, ev.address!);
        break;
      case "range": // a single range callout: unmap the range, bump the sequence
        this.seq++;
        this.zapRange(k, ev.range![0], ev.range![1]);
        break;
      case "begin": // kvm_mmu_notifier_invalidate_range_start
        this.count++;
        if (ev.range) this.zapRange(k, ev.range[0], ev.range[1]);
        break;
      case "end": // kvm_mmu_notifier_invalidate_range_end
        this.seq++;
        this.count--;
        if (this.count < 0) {
          const what = "BUG_ON(kvm->mmu_notifier_count < 0)";
          this.bugs.push(`step ${k.step}: ${what}`);
          k.emit({ type: "secondary-bug", step: k.step, secondary: this.id, what });
        }
        break;
      case "young": { // kvm_mmu_notifier_clear_flush_young
        const s = this.sptes[vpn(ev.address!)];
        if (s) {
          young = s.accessed;
          s.accessed = false;
        }
        break;
      }
      case "all":
        this.zapRange(k, 0, 2 ** 48);
        break;
      case "release":
        break;
    }
    k.unlock(th, lock);
    return young;
  }

  /** `kvm_mmu_notifier_release`: `kvm_arch_flush_shadow`. */
  *release(k: Kernel, th: string): KGen {
    k.noteCallback(th, this.id, "release", false);
    const lock = `kvm->mmu_lock:${this.id}`;
    yield* k.lock(th, lock, "spin");
    this.zapRange(k, 0, 2 ** 48);
    k.unlock(th, lock);
  }

  /**
   * A guest access to `addr`: through the shadow pte when it allows it,
   * otherwise the KVM fault path (`mmu_seq = seq; gfn_to_pfn(); spin_lock(mmu_lock);
   * if (mmu_notifier_retry()) goto out_unlock;` then map the spte).
   */
  *access(k: Kernel, th: string, addr: number, write: boolean): KGen<KvmAccessResult> {
    const a = addr - (addr % PAGE_SIZE);
    let faulted = false;
    for (let attempt = 0;; attempt++) {
      const s = this.sptes[vpn(a)];
      if (s && (!write || s.write)) {
        k.noteAccess(this.id, this.mm, a, write, s.pfn);
        s.accessed = true;
        if (write) {
          s.dirty = true;
          const page = k.state.pages[s.pfn];
          if (page) page.data++;
        }
        return faulted ? "faulted" : "hit";
      }
      if (attempt > KVM_FAULT_RETRY_BOUND) {
        k.emit({
          type: "no-progress",
          step: k.step,
          thread: th,
          what: `${this.id}: fault at ${hex(a)} retried ${KVM_FAULT_RETRY_BOUND} times ` +
            `(mmu_notifier_count=${this.count}, seq=${this.seq})`,
        });
        return "no-progress";
      }
      faulted = true;
      this.faults++;
      const mmuSeq = this.seq;
      const mm = k.state.mms[this.mm];
      if (!mm || mm.exited) return "EFAULT";
      const sem = mmapSemName(this.mm);
      yield* k.lock(th, sem, "rwsem-read");
      const gupHolder = `gup:${this.id}`;
      const r = yield* getUserPage(k, th, mm, a, write, gupHolder);
      k.unlock(th, sem);
      if ("error" in r) return "EFAULT";
      yield { thread: th, label: `${this.id}:after-gfn_to_pfn` };
      const lock = `kvm->mmu_lock:${this.id}`;
      yield* k.lock(th, lock, "spin");
      if (this.count !== 0 || this.seq !== mmuSeq) {
        // mmu_notifier_retry(): kvm_release_pfn_clean() and let the guest fault again.
        k.unlock(th, lock);
        putPage(k.state, r.pfn, gupHolder);
        this.retries++;
        yield { thread: th, label: `${this.id}:retry`, wait: true };
        continue;
      }
      const old = this.sptes[vpn(a)];
      if (old) this.zap(k, a);
      this.sptes[vpn(a)] = { pfn: r.pfn, write, accessed: true, dirty: false };
      // The gup reference becomes the spte's reference.
      const page = k.state.pages[r.pfn];
      page.refs[gupHolder]--;
      if (page.refs[gupHolder] === 0) delete page.refs[gupHolder];
      page.refs[this.holder(a)] = (page.refs[this.holder(a)] ?? 0) + 1;
      k.unlock(th, lock);
    }
  }
}
