/**
 * A GRU secondary MMU (000_485f2de10ae1e46b.txt, V5 cover letter): "Simple
 * additional hardware TLB ... Needs TLB shootdown when the VM unmaps pages.
 * Determines page address via follow_page (from interrupt context) but can
 * fall back to get_user_pages(). No page reference possible since no page
 * status is kept." Between a range begin and its end it holds off new TLB
 * fills, as [patch 1/4] requires of every driver.
 *
 * The model is the driver those letters describe, and it serialises a fill
 * with the callouts the way [patch 1/4] proposes ("If all invalidate_xx
 * notifier calls take the driver lock then it is possible to run
 * follow_page() under the same lock"): one driver spinlock around the
 * lookup and the TLB write, and around every callout. The driver merged
 * for v2.6.27 (drivers/misc/sgi-gru) does it otherwise, and the model does
 * not follow it there:
 *
 * - A fill runs with `mmap_sem` held for read: the fault interrupt takes
 *   it with `down_read_trylock()` and leaves the fault to user context when
 *   it cannot (grufault.c:444-449); the user path takes it with
 *   `down_read()` (`gru_find_lock_gts()`, grufault.c:71-85).
 * - No driver lock: a fill reads `ms_range_active` once and gives up while
 *   a range is open (grufault.c:310-317), then looks the pte up with
 *   interrupts off and no pte lock (`atomic_pte_lookup()`, lines 224-265),
 *   or through `get_user_pages()` and `put_page()`
 *   (`non_atomic_pte_lookup()`, lines 198-214). The user path waits for
 *   `ms_range_active` to reach 0 before each try (`wait_event()`, lines
 *   463-464).
 * - `invalidate_range_start` increments `ms_range_active` and purges the
 *   range, `invalidate_range_end` decrements it and wakes the waiters,
 *   `invalidate_page` purges one page, `release` only marks the mm released
 *   (grutlbpurge.c:231-234, 245-247, 258, 267).
 * - Huge pages: the atomic lookup reads a 2 MB pmd as its pte on x86-64
 *   (grufault.c:246-249); the fallback refuses a hugetlb vma with -EFAULT
 *   ("ZZZ Need to handle HUGE pages", lines 204-206). The model's GRU fill
 *   calls `follow_page()` without FOLL_GET, as the seed's driver keeps no
 *   page reference: on a huge pmd v2.6.24 then returns the huge page from
 *   `follow_huge_pmd()` without the pte lock (mm/memory.c:930-933). XPmem's
 *   fill keeps the lookup's reference, FOLL_GET, which is the `BUG_ON(flags
 *   & FOLL_GET)` there (`tests/follow_page_test.ts`); no shipped scenario
 *   maps a huge page that a GRU or XPmem mirrors.
 *
 * @module
 */
import { type CalloutEvent, type Kernel, lock } from "../kernel/context.ts";
import { followPage, getUserPage, type GupResult } from "../kernel/fault.ts";
import { mmapSemName } from "../kernel/pgtable.ts";
import { call, defPath, go, type PathRef, point, ret } from "../kernel/steps.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { hex, moveRefs, putPage, vpn, writePage } from "../model/state.ts";
import { chainOf, type Secondary, type SecondaryMapping } from "../notifier/chain.ts";
import { holdersOf, mappingsOf } from "./_translations.ts";

/** Fill attempts after which a GRU fault is reported as making no progress. */
export const GRU_FILL_RETRY_BOUND = 8;

/** The GRU TLB of one mm. */
export class Gru implements Secondary {
  /** Driver name. */
  readonly driver: string = "gru";
  /** Whether a translation holds a page reference (XPmem) or not (GRU). */
  readonly holdsReferences: boolean = false;
  /** Whether invalidation callbacks sleep (XPmem waits for remote acknowledgements). */
  readonly sleeps: boolean = false;
  /**
   * TLB entries by virtual page number: no page reference is held, and no
   * accessed bit ("no page status is kept"; see {@link gruCallback}).
   */
  readonly tlb: Record<number, { pfn: number; write: boolean }> = {};
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

  /** TLB shootdown on every invalidation callout (see {@link gruCallback}). */
  get callbackPath(): PathRef<{ sec: string; ev: CalloutEvent }> {
    return gruCallback;
  }

  /** `->release` (see {@link gruRelease}). */
  get releasePath(): PathRef<{ sec: string }> {
    return gruRelease;
  }

  /**
   * What {@link gruAccess} calls after a translation of `pfn` is installed
   * (XPmem marks the page exported), or null when nothing.
   */
  get exportedPath(): PathRef<{ sec: string; pfn: number }> | null {
    return null;
  }

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
  flush(k: Kernel, start: number, end: number): void {
    for (const key of Object.keys(this.tlb)) {
      const a = Number(key) * PAGE_SIZE;
      if (a + PAGE_SIZE <= start || a >= end) continue;
      const e = this.tlb[Number(key)];
      delete this.tlb[Number(key)];
      if (this.holdsReferences) putPage(k.state, e.pfn, this.holder(a));
    }
  }
}

/** The Gru (or Xpmem) instance `id` of the kernel's chain. */
function gruOf(k: Kernel, id: string): Gru {
  return chainOf(k).secondaries[id] as Gru;
}

/** TLB shootdown on every invalidation callout; begin also holds off fills until the end. */
export const gruCallback: PathRef<{ sec: string; ev: CalloutEvent }> = defPath<
  { sec: string; ev: CalloutEvent },
  Record<never, never>,
  Kernel
>("gru.callback", {
  entry(k, f) {
    const gru = gruOf(k, f.v.sec);
    const { ev } = f.v;
    // Aging: the GRU keeps no page status (the V5 cover letter), and 2.6.27's gru_mmuops have
    // no clear_flush_young (drivers/misc/sgi-gru/grutlbpurge.c:272-277): nothing is called,
    // and the page is not young for it. XPmem's translations work as the GRU's.
    if (ev.kind === "young") return ret(false);
    // XPmem sleeps where it clears remote ptes and waits for the acknowledgements.
    k.noteCallback(f.th, gru.id, ev.call, gru.sleeps && ev.kind !== "end");
    return lock(`gru_tlb_lock:${gru.id}`, "spin", "locked");
  },
  locked(k, f) {
    const gru = gruOf(k, f.v.sec);
    const { ev } = f.v;
    switch (ev.kind) {
      case "page":
        gru.flush(k, ev.address!, ev.address! + PAGE_SIZE);
        break;
      case "range":
        gru.flush(k, ev.range![0], ev.range![1]);
        break;
      case "begin":
        gru.active++;
        if (ev.range) gru.flush(k, ev.range[0], ev.range[1]);
        break;
      case "end":
        gru.active--;
        break;
      case "all":
      case "release":
        gru.flush(k, 0, 2 ** 48);
        break;
    }
    k.unlock(f.th, `gru_tlb_lock:${gru.id}`);
    return ret(false);
  },
});

/** `->release`: drops the whole TLB. */
const gruRelease = defPath<{ sec: string }, Record<never, never>, Kernel>("gru.release", {
  entry(k, f) {
    const gru = gruOf(k, f.v.sec);
    k.noteCallback(f.th, gru.id, "release", gru.sleeps);
    return lock(`gru_tlb_lock:${gru.id}`, "spin", "locked");
  },
  locked(k, f) {
    const gru = gruOf(k, f.v.sec);
    gru.flush(k, 0, 2 ** 48);
    k.unlock(f.th, `gru_tlb_lock:${gru.id}`);
    return ret();
  },
});

/**
 * A GRU (or XPmem) access to `addr` through secondary `sec`: a TLB hit, or a
 * TLB miss filled through `follow_page()` from interrupt context (no
 * mmap_sem, no fault), falling back to `get_user_pages()` from the driver's
 * thread. The GRU's lookup takes no reference; XPmem's takes one (FOLL_GET)
 * and keeps it as the translation's. Returns "hit",
 * "filled", "no-progress" or "EFAULT".
 *
 * Frame: `a` the page address, `attempt` the fill attempts so far; within an
 * attempt, `pfn` what follow_page found and `r` what get_user_pages returned.
 */
export const gruAccess: PathRef<{ sec: string; addr: number; write: boolean }> = defPath<
  { sec: string; addr: number; write: boolean },
  { a?: number; attempt?: number; pfn?: number | null; r?: GupResult },
  Kernel
>("gru.access", {
  entry(_k, f) {
    f.v.a = f.v.addr - (f.v.addr % PAGE_SIZE);
    f.v.attempt = 0;
    return go("attempt");
  },
  attempt(k, f) {
    const gru = gruOf(k, f.v.sec);
    const { write } = f.v;
    const a = f.v.a!;
    const e = gru.tlb[vpn(a)];
    if (e && (!write || e.write)) {
      k.noteAccess(gru.id, gru.mm, a, write, e.pfn);
      if (write && k.state.pages[e.pfn]) writePage(k.state, e.pfn);
      return ret(f.v.attempt === 0 ? "hit" : "filled");
    }
    if (f.v.attempt! > GRU_FILL_RETRY_BOUND) {
      k.emit({
        type: "no-progress",
        step: k.step,
        thread: f.th,
        what: `${gru.id}: TLB fill at ${
          hex(a)
        } held off ${GRU_FILL_RETRY_BOUND} times (active=${gru.active})`,
      });
      return ret("no-progress");
    }
    if (gru.active !== 0) {
      f.v.attempt!++;
      return point(`${gru.id}:fill held off`, "attempt", { wait: true });
    }
    const mm = k.state.mms[gru.mm];
    if (!mm || mm.exited) return ret("EFAULT");
    // [patch 1/4]: "If all invalidate_xx notifier calls take the driver lock then it is
    // possible to run follow_page() under the same lock", so no page is removed meanwhile.
    return lock(`gru_tlb_lock:${gru.id}`, "spin", "locked");
  },
  locked(k, f) {
    const gru = gruOf(k, f.v.sec);
    if (gru.active !== 0) {
      f.v.pfn = null;
      return go("followed");
    }
    // The GRU keeps "no page reference" (V5 cover letter): follow_page without FOLL_GET. XPmem
    // keeps the lookup's reference as its translation's.
    const holder = gru.holdsReferences ? { holder: fillHolder(gru) } : {};
    return call(
      followPage,
      { mm: gru.mm, addr: f.v.a!, write: f.v.write, ...holder },
      "followed",
      "pfn",
    );
  },
  followed(k, f) {
    const gru = gruOf(k, f.v.sec);
    const { write } = f.v;
    const a = f.v.a!;
    const pfn = f.v.pfn ?? null;
    if (pfn !== null) {
      if (gru.tlb[vpn(a)]) gru.flush(k, a, a + PAGE_SIZE);
      gru.tlb[vpn(a)] = { pfn, write };
      gru.fills++;
    }
    k.unlock(f.th, `gru_tlb_lock:${gru.id}`);
    if (pfn !== null) {
      const exported = gru.exportedPath;
      if (exported) return call(exported, { sec: gru.id, pfn }, "exported");
      return go("exported");
    }
    f.v.pfn = undefined;
    if (gru.active !== 0) {
      f.v.attempt!++;
      return go("attempt");
    }
    // follow_page found nothing: fall back to get_user_pages to fault the page in, then retry.
    gru.fallbacks++;
    return lock(mmapSemName(gru.mm), "rwsem-read", "get_user_pages");
  },
  exported(k, f) {
    const gru = gruOf(k, f.v.sec);
    const a = f.v.a!;
    const pfn = f.v.pfn!;
    const holder = fillHolder(gru);
    f.v.pfn = undefined;
    // XPmem: the lookup's reference becomes the translation's (the GRU's lookup took none).
    if (gru.holdsReferences) moveRefs(k.state, pfn, holder, gru.holder(a), 1);
    f.v.attempt!++;
    return go("attempt");
  },
  get_user_pages(k, f) {
    const gru = gruOf(k, f.v.sec);
    const args = { mm: gru.mm, addr: f.v.a!, write: f.v.write, holder: fillHolder(gru) };
    return call(getUserPage, args, "get_user_pages.done", "r");
  },
  "get_user_pages.done"(k, f) {
    const gru = gruOf(k, f.v.sec);
    k.unlock(f.th, mmapSemName(gru.mm));
    const r = f.v.r!;
    f.v.r = undefined;
    if ("error" in r) return ret("EFAULT");
    putPage(k.state, r.pfn, fillHolder(gru));
    f.v.attempt!++;
    return go("attempt");
  },
});

/** Reference holder name of a fill's page lookup. */
function fillHolder(gru: Gru): string {
  return `${gru.driver}-fill:${gru.id}`;
}
