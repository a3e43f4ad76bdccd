/**
 * A GRU secondary MMU (000_485f2de10ae1e46b.txt, V5 cover letter): "Simple
 * additional hardware TLB ... Needs TLB shootdown when the VM unmaps pages.
 * Determines page address via follow_page (from interrupt context) but can
 * fall back to get_user_pages(). No page reference possible since no page
 * status is kept." Between a range begin and its end it holds off new TLB
 * fills, as [patch 1/4] requires of every driver.
 *
 * @module
 */
import type { CalloutEvent, Kernel, KGen } from "../kernel/context.ts";
import { followPage, getUserPage } from "../kernel/fault.ts";
import { mmapSemName } from "../kernel/pgtable.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { hex, putPage, vpn } from "../model/state.ts";
import type { Secondary, SecondaryMapping } from "../notifier/chain.ts";
import { holdersOf, mappingsOf } from "./_translations.ts";

/** Fill attempts after which a GRU fault is reported as making no progress. */
export const GRU_FILL_RETRY_BOUND = 8;

/** The GRU TLB of one mm. */
export class Gru implements Secondary {
  /** Driver name. */
  readonly driver: string = "gru";
  /** Whether a translation holds a page reference (XPmem) or not (GRU). */
  protected readonly holdsReferences: boolean = false;
  /** Whether invalidation callbacks sleep (XPmem waits for remote acknowledgements). */
  protected readonly sleeps: boolean = false;
  /** TLB entries by virtual page number: no page reference is held. */
  readonly tlb: Record<number, { pfn: number; write: boolean; accessed: boolean }> = {};
  /** Open invalidations (begin without end yet): fills are held off while it is not zero. */
  active = 0;
  /** TLB fills made, and fills that fell back to get_user_pages. */
  fills = 0;
  /** Fills that had to fall back to get_user_pages. */
  fallbacks = 0;

  /**
   * @param id Notifier name.
   * @param mm The mm whose addresses the GRU translates.
   */
  constructor(readonly id: string, readonly mm: string) {}

  /** Every TLB entry. */
  mappings(): SecondaryMapping[] {
    return mappingsOf(this.tlb);
  }

  /** The page references its translations hold (none for the GRU). */
  refHolders(): Record<string, number> {
    return this.holdsReferences ? holdersOf(this.mappings(), (a) => this.holder(a)) : {};
  }

  /** Reference holder name of the translation at `addr`. */
  holder(addr: number): string {
    return `${this.driver}:${this.id}:${hex(addr)}`;
  }

  /** Counters for the outcome. */
  summary(): Record<string, number | string | string[]> {
    return {
      entries: Object.keys(this.tlb).length,
      active: this.active,
      fills: this.fills,
      fallbacks: this.fallbacks,
    };
  }

  /** Drops the translations of `[start, end)`, putting their references. */
  protected flush(k: Kernel, start: number, end: number): void {
    for (const key of Object.keys(this.tlb)) {
      const a = Number(key) * PAGE_SIZE;
      if (a + PAGE_SIZE <= start || a >= end) continue;
      const e = this.tlb[Number(key)];
      delete this.tlb[Number(key)];
      if (this.holdsReferences) putPage(k.state, e.pfn, this.holder(a));
    }
  }

  /** Called after a translation of `pfn` is installed (XPmem marks the page exported). */
  protected *exported(_k: Kernel, _th: string, _pfn: number): KGen {}

  /** TLB shootdown on every invalidation callout; begin also holds off fills until the end. */
  *callback(k: Kernel, th: string, ev: CalloutEvent): KGen<boolean> {
    // XPmem sleeps where it clears remote ptes and waits for the acknowledgements.
    k.noteCallback(th, this.id, ev.call, this.sleeps && ev.kind !== "young" && ev.kind !== "end");
    const lock = `gru_tlb_lock:${this.id}`;
    yield* k.lock(th, lock, "spin");
    let young = false;
    switch (ev.kind) {
      case "page":
        this.flush(k, ev.address!, ev.address! + PAGE_SIZE);
        break;
      case "range":
        this.flush(k, ev.range![0], ev.range![1]);
        break;
      case "begin":
        this.active++;
        if (ev.range) this.flush(k, ev.range[0], ev.range[1]);
        break;
      case "end":
        this.active--;
        break;
      case "young": {
        const e = this.tlb[vpn(ev.address!)];
        if (e) {
          young = e.accessed;
          e.accessed = false;
        }
        break;
      }
      case "all":
      case "release":
        this.flush(k, 0, 2 ** 48);
        break;
    }
    k.unlock(th, lock);
    return young;
  }

  /** `->release`: drops the whole TLB. */
  *release(k: Kernel, th: string): KGen {
    const lock = `gru_tlb_lock:${this.id}`;
    k.noteCallback(th, this.id, "release", this.sleeps);
    yield* k.lock(th, lock, "spin");
    this.flush(k, 0, 2 ** 48);
    k.unlock(th, lock);
  }

  /**
   * A GRU access: a TLB hit, or a TLB miss filled through `follow_page()` from
   * interrupt context (no mmap_sem, no fault), falling back to
   * `get_user_pages()` from the driver's thread. No reference is kept.
   */
  *access(k: Kernel, th: string, addr: number, write: boolean): KGen<string> {
    const a = addr - (addr % PAGE_SIZE);
    for (let attempt = 0;; attempt++) {
      const e = this.tlb[vpn(a)];
      if (e && (!write || e.write)) {
        k.noteAccess(this.id, this.mm, a, write, e.pfn);
        e.accessed = true;
        const page = k.state.pages[e.pfn];
        if (write && page) page.data++;
        return attempt === 0 ? "hit" : "filled";
      }
      if (attempt > GRU_FILL_RETRY_BOUND) {
        k.emit({
          type: "no-progress",
          step: k.step,
          thread: th,
          what: `${this.id}: TLB fill at ${
            hex(a)
          } held off ${GRU_FILL_RETRY_BOUND} times (active=${this.active})`,
        });
        return "no-progress";
      }
      if (this.active !== 0) {
        yield { thread: th, label: `${this.id}:fill held off`, wait: true, locals: attempt };
        continue;
      }
      const mm = k.state.mms[this.mm];
      if (!mm || mm.exited) return "EFAULT";
      const holder = `${this.driver}-fill:${this.id}`;
      // [patch 1/4]: "If all invalidate_xx notifier calls take the driver lock then it is
      // possible to run follow_page() under the same lock", so no page is removed meanwhile.
      const lock = `gru_tlb_lock:${this.id}`;
      yield* k.lock(th, lock, "spin");
      const pfn = this.active === 0 ? yield* followPage(k, th, mm, a, write, holder) : null;
      if (pfn !== null) {
        if (this.tlb[vpn(a)]) this.flush(k, a, a + PAGE_SIZE);
        this.tlb[vpn(a)] = { pfn, write, accessed: true };
        this.fills++;
      }
      k.unlock(th, lock);
      if (pfn !== null) {
        yield* this.exported(k, th, pfn);
        if (this.holdsReferences) {
          // XPmem: the lookup's reference becomes the translation's.
          const page = k.state.pages[pfn];
          if (--page.refs[holder] === 0) delete page.refs[holder];
          page.refs[this.holder(a)] = (page.refs[this.holder(a)] ?? 0) + 1;
        } else {
          // GRU: no page status is kept, the reference taken for the lookup is dropped at once.
          putPage(k.state, pfn, holder);
        }
        continue;
      }
      if (this.active !== 0) continue;
      // follow_page found nothing: fall back to get_user_pages to fault the page in, then retry.
      this.fallbacks++;
      const sem = mmapSemName(this.mm);
      yield* k.lock(th, sem, "rwsem-read");
      const r = yield* getUserPage(k, th, mm, a, write, holder);
      k.unlock(th, sem);
      if ("error" in r) return "EFAULT";
      putPage(k.state, r.pfn, holder);
    }
  }
}
