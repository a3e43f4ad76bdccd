/**
 * An HMM device mirror (seed 002_dd31b232dedec89e.txt): a device page table
 * that snapshots the CPU page table, with no page references of its own,
 * and the two snapshot strategies the seed weighs:
 *
 * - `sequence-retry`: wait until no callback is active, read the sequence,
 *   snapshot, then, with the device page table locked, check that the
 *   sequence did not move and no callback is active; otherwise start again.
 * - `range-lock`: the patch as posted: `hmm_vma_range_lock()` serialises the
 *   snapshot with invalidations (`hmm_invalidate_range()`), each waiting on
 *   the other in the order they happen. The code is modelled as written,
 *   including the early `return` of an invalidation that waited and the
 *   stack `struct hmm_range` it leaves on `hmm->ranges`.
 *
 * @module
 */
import type { CalloutEvent, Kernel, KGen } from "../kernel/context.ts";
import { ptlName } from "../kernel/pgtable.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { findVma, hex, vpn } from "../model/state.ts";
import type { Secondary, SecondaryMapping } from "../notifier/chain.ts";
import { mappingsOf } from "./_translations.ts";

/** The snapshot strategies of the seed. */
export const HMM_STRATEGIES = ["sequence-retry", "range-lock"] as const;
/** A snapshot strategy. */
export type HmmStrategy = typeof HMM_STRATEGIES[number];

/** Snapshot attempts after which a mirror is reported as making no progress. */
export const HMM_SNAPSHOT_RETRY_BOUND = 3;
/** Scheduling points a wait_event may pass, with nobody else able to run, before it is reported as hung. */
export const HMM_WAIT_BOUND = 3;

/** One `struct hmm_range` on `hmm->ranges`. */
export interface HmmRange {
  id: number;
  start: number;
  end: number;
  /** Id of the range waiting on this one (`range->waiting`). */
  waiting: number | null;
  wakeup: boolean;
  /** Whether the frame or object holding it still exists (a stack range dies when its function returns). */
  alive: boolean;
  owner: string;
}

/** The HMM mirror of one mm. */
export class HmmMirror implements Secondary {
  readonly driver = "hmm";
  /** Device page table: vpn -> entry. */
  readonly devPt: Record<number, { pfn: number; write: boolean }> = {};
  /** `hmm->sequence`. */
  sequence = 0;
  /** `hmm->notifier_count`. */
  notifierCount = 0;
  /** `hmm->ranges`, in list order (list_add puts new ones first). */
  ranges: HmmRange[] = [];
  private nextRange = 1;
  /** Snapshot attempts restarted because the sequence moved (sequence-retry). */
  retries = 0;
  /** Scheduling points invalidations spent waiting on a range lock. */
  stalls = 0;
  /** Scheduling points snapshots spent waiting for notifier_count to reach 0. */
  snapshotWaits = 0;
  /** Invalidations that returned without updating the mirror. */
  skippedUpdates = 0;

  constructor(readonly id: string, readonly mm: string, readonly strategy: HmmStrategy) {}

  /** Every device page-table entry. */
  mappings(): SecondaryMapping[] {
    return mappingsOf(this.devPt);
  }

  /** A device mirror holds no page references. */
  refHolders(): Record<string, number> {
    return {};
  }

  /** Lists whose entries may outlive their owners, for the list-corruption checker. */
  lists(): { name: string; entries: { id: string; alive: boolean }[] }[] {
    return [{
      name: `${this.id}:hmm->ranges`,
      entries: this.ranges.map((r) => ({
        id: `range ${r.id} [${hex(r.start)}-${hex(r.end)}) of ${r.owner}`,
        alive: r.alive,
      })),
    }];
  }

  /** Counters for the outcome. */
  summary(): Record<string, number | string | string[]> {
    return {
      strategy: this.strategy,
      entries: Object.keys(this.devPt).length,
      sequence: this.sequence,
      notifier_count: this.notifierCount,
      ranges: this.ranges.length,
      snapshot_retries: this.retries,
      invalidation_stalls: this.stalls,
      snapshot_waits: this.snapshotWaits,
      skipped_updates: this.skippedUpdates,
    };
  }

  private clear(start: number, end: number): void {
    for (const key of Object.keys(this.devPt)) {
      const a = Number(key) * PAGE_SIZE;
      if (a + PAGE_SIZE > start && a < end) delete this.devPt[Number(key)];
    }
  }

  /** A `struct hmm_range` owned by thread `th` (on its stack, or the driver's). */
  private newRange(th: string, start: number, end: number): HmmRange {
    return {
      id: this.nextRange++,
      start,
      end,
      waiting: null,
      wakeup: false,
      alive: true,
      owner: th,
    };
  }

  /** `hmm_invalidate_range()` as posted (range-lock) or a plain update (sequence-retry). */
  private *invalidateRange(k: Kernel, th: string, start: number, end: number): KGen {
    const lock = `hmm->lock:${this.id}`;
    if (this.strategy === "range-lock") {
      const range = this.newRange(th, start, end);
      yield* k.lock(th, lock, "spin");
      for (const tmp0 of this.ranges) {
        if (range.start >= tmp0.end || range.end <= tmp0.start) continue;
        let tmp = tmp0;
        while (tmp.waiting !== null) tmp = this.ranges.find((r) => r.id === tmp.waiting) ?? tmp;
        this.ranges.unshift(range); // list_add(&range.list, &hmm->ranges)
        tmp.waiting = range.id;
        range.wakeup = false;
        k.unlock(th, lock);
        // wait_event(hmm->wait_queue, range.wakeup);
        let waited = 0;
        while (!range.wakeup) {
          this.stalls++;
          if (++waited > HMM_WAIT_BOUND) {
            k.emit({
              type: "no-progress",
              step: k.step,
              thread: th,
              what: `${this.id}: invalidation of ${hex(start)}-${
                hex(end)
              } waits on range ${tmp.id}, which nobody will unlock`,
            });
            range.alive = false;
            return;
          }
          yield { thread: th, label: `${this.id}:wait range.wakeup`, wait: true, locals: range.id };
        }
        this.skippedUpdates++;
        range.alive = false; // return: the stack struct hmm_range is gone, still on the list
        return;
      }
      this.ranges.unshift(range);
      k.unlock(th, lock);
      this.notifierCount++;
      this.sequence++;
      yield* this.update(k, th, start, end);
      yield* this.rangeUnlock(k, th, range);
      range.alive = false;
      return;
    }
    this.notifierCount++;
    this.sequence++;
    yield* this.update(k, th, start, end);
  }

  /** `mirror->ops->update()`: the device driver clears its entries under its page-table lock. */
  private *update(k: Kernel, th: string, start: number, end: number): KGen {
    const devLock = `hmm-device-pt:${this.id}`;
    yield* k.lock(th, devLock, "spin");
    this.clear(start, end);
    k.unlock(th, devLock);
  }

  /** `hmm_vma_range_unlock()`. */
  private *rangeUnlock(k: Kernel, th: string, range: HmmRange): KGen {
    const lock = `hmm->lock:${this.id}`;
    yield* k.lock(th, lock, "spin");
    this.ranges = this.ranges.filter((r) => r.id !== range.id);
    if (range.waiting !== null) {
      const w = this.ranges.find((r) => r.id === range.waiting);
      if (w) w.wakeup = true;
    }
    k.unlock(th, lock);
  }

  /** The mmu-notifier callbacks of hmm.c. */
  *callback(k: Kernel, th: string, ev: CalloutEvent): KGen<boolean> {
    k.noteCallback(
      th,
      this.id,
      ev.call,
      this.strategy === "range-lock" &&
        (ev.kind === "begin" || ev.kind === "page" || ev.kind === "range"),
    );
    switch (ev.kind) {
      case "page": // hmm_invalidate_page
      case "range": {
        const [s, e] = ev.range ?? [ev.address!, ev.address! + PAGE_SIZE];
        yield* this.invalidateRange(k, th, s, e);
        this.notifierCount--;
        break;
      }
      case "begin": // hmm_invalidate_range_start
        yield* this.invalidateRange(k, th, ev.range![0], ev.range![1]);
        break;
      case "end": // hmm_invalidate_range_end: atomic_dec(notifier_count); wake_up
        this.notifierCount--;
        break;
      case "all":
        this.clear(0, 2 ** 48);
        break;
      default:
        break;
    }
    return false;
  }

  /** `->release`: the mirror drops its device page table. */
  *release(k: Kernel, th: string): KGen {
    yield* k.lock(th, `hmm->lock:${this.id}`, "spin");
    this.clear(0, 2 ** 48);
    k.unlock(th, `hmm->lock:${this.id}`);
  }

  /** Walks the CPU page table of `[start, end)` under each PTE lock (no faulting). */
  private *walk(
    k: Kernel,
    th: string,
    start: number,
    end: number,
  ): KGen<Record<number, { pfn: number; write: boolean }>> {
    const mm = k.state.mms[this.mm];
    const out: Record<number, { pfn: number; write: boolean }> = {};
    for (let a = start; a < end; a += PAGE_SIZE) {
      if (!mm || !findVma(mm, a)) continue;
      const ptl = ptlName(this.mm, a);
      yield* k.lock(th, ptl, "spin");
      const pte = mm.ptes[vpn(a)];
      if (pte && pte.t === "present" && !pte.special) {
        out[vpn(a)] = { pfn: pte.pfn, write: pte.write };
      }
      k.unlock(th, ptl);
    }
    return out;
  }

  /**
   * The device snapshots `[start, end)` of the CPU page table into its own.
   * Returns "mirrored", or "no-progress" when sequence-retry gives up.
   */
  *snapshot(k: Kernel, th: string, start: number, end: number): KGen<string> {
    const devLock = `hmm-device-pt:${this.id}`;
    if (this.strategy === "range-lock") {
      const range = this.newRange(th, start, end);
      yield* k.lock(th, `hmm->lock:${this.id}`, "spin");
      this.ranges.unshift(range);
      k.unlock(th, `hmm->lock:${this.id}`);
      // wait_event(hmm->wait_queue, !atomic_read(&hmm->notifier_count));
      let waited = 0;
      while (this.notifierCount !== 0) {
        this.snapshotWaits++;
        if (++waited > HMM_WAIT_BOUND) {
          k.emit({
            type: "no-progress",
            step: k.step,
            thread: th,
            what:
              `${this.id}: hmm_vma_range_lock waits for notifier_count=${this.notifierCount} to reach 0`,
          });
          return "no-progress";
        }
        yield { thread: th, label: `${this.id}:wait notifier_count`, wait: true };
      }
      const snap = yield* this.walk(k, th, start, end);
      yield* k.lock(th, devLock, "spin");
      Object.assign(this.devPt, snap);
      k.unlock(th, devLock);
      yield* this.rangeUnlock(k, th, range);
      range.alive = false;
      return "mirrored";
    }
    for (let attempt = 0;; attempt++) {
      if (attempt >= HMM_SNAPSHOT_RETRY_BOUND) {
        k.emit({
          type: "no-progress",
          step: k.step,
          thread: th,
          what: `${this.id}: snapshot of ${hex(start)}-${
            hex(end)
          } restarted ${HMM_SNAPSHOT_RETRY_BOUND} times`,
        });
        return "no-progress";
      }
      // Keep track of active callbacks: start only when none is between start and end.
      while (this.notifierCount !== 0) {
        this.snapshotWaits++;
        yield { thread: th, label: `${this.id}:wait notifier_count`, wait: true, locals: attempt };
      }
      const seq = this.sequence;
      const snap = yield* this.walk(k, th, start, end);
      yield* k.lock(th, devLock, "spin");
      if (this.sequence === seq && this.notifierCount === 0) {
        Object.assign(this.devPt, snap);
        k.unlock(th, devLock);
        return "mirrored";
      }
      k.unlock(th, devLock);
      this.retries++;
      yield { thread: th, label: `${this.id}:snapshot retry`, locals: attempt };
    }
  }

  /** A device access through its page table: "hit", or "miss" when the entry is absent. */
  access(k: Kernel, addr: number, write: boolean): string {
    const e = this.devPt[vpn(addr)];
    if (!e || (write && !e.write)) return "miss";
    k.noteAccess(this.id, this.mm, addr, write, e.pfn);
    const page = k.state.pages[e.pfn];
    if (write && page) page.data++;
    return "hit";
  }
}
