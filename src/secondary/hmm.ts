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
import { type CalloutEvent, type Kernel, lock } from "../kernel/context.ts";
import { ptlName } from "../kernel/pgtable.ts";
import { call, defPath, go, type PathRef, point, ret } from "../kernel/steps.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { findVma, hex, vpn, writePage } from "../model/state.ts";
import { writable } from "../model/_cow.ts";
import { chainOf, type Secondary, type SecondaryMapping } from "../notifier/chain.ts";
import { mappingsOf } from "./_translations.ts";
import { addTo } from "../model/_count.ts";

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

  /** The mmu-notifier callbacks of hmm.c (see {@link hmmCallback}). */
  get callbackPath(): PathRef<{ sec: string; ev: CalloutEvent }> {
    return hmmCallback;
  }

  /** `->release` (see {@link hmmRelease}). */
  get releasePath(): PathRef<{ sec: string }> {
    return hmmRelease;
  }

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

  /** Drops the device page-table entries of `[start, end)`. */
  clear(start: number, end: number): void {
    for (const key of Object.keys(this.devPt)) {
      const a = Number(key) * PAGE_SIZE;
      if (a + PAGE_SIZE > start && a < end) delete this.devPt[Number(key)];
    }
  }

  /** A `struct hmm_range` owned by thread `th` (on its stack, or the driver's). */
  newRange(th: string, start: number, end: number): HmmRange {
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

  /** The range `id` on `hmm->ranges` (a path keeps a listed range by id). */
  range(id: number): HmmRange | undefined {
    return this.ranges.find((r) => r.id === id);
  }

  /** The stack `struct hmm_range` `id` is gone (its function returned); it may still be listed. */
  endRange(id: number): void {
    const r = this.range(id);
    if (r) r.alive = false;
  }

  /** A device access through its page table: "hit", or "miss" when the entry is absent. */
  access(k: Kernel, addr: number, write: boolean): string {
    const e = this.devPt[vpn(addr)];
    if (!e || (write && !e.write)) return "miss";
    k.noteAccess(this.id, this.mm, addr, write, e.pfn);
    if (write && k.state.pages[e.pfn]) writePage(k.state, e.pfn);
    return "hit";
  }
}

/** The HmmMirror instance `id` of the kernel's chain. */
function hmmOf(k: Kernel, id: string): HmmMirror {
  return chainOf(k).secondaries[id] as HmmMirror;
}

/**
 * `hmm_invalidate_range()` of `[start, end)` as posted (range-lock) or a plain
 * update (sequence-retry).
 *
 * Frame: `range` the new stack `struct hmm_range` until it is listed, then
 * `rangeId`; when it waits on an overlapping range, `tmpId` the range it
 * waits on and `waited` the scheduling points it waited.
 */
const invalidateRange = defPath<
  { sec: string; start: number; end: number },
  { range?: HmmRange; rangeId?: number; tmpId?: number; waited?: number },
  Kernel
>("hmm_invalidate_range", {
  entry(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    if (hmm.strategy === "range-lock") {
      f.v.range = hmm.newRange(f.th, f.v.start, f.v.end);
      return lock(`hmm->lock:${hmm.id}`, "spin", "locked");
    }
    addTo(hmm, "notifierCount", 1);
    hmm.sequence++;
    return call(update, { sec: hmm.id, start: f.v.start, end: f.v.end }, "done");
  },
  locked(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    // From here the range is on hmm->ranges, a record of its own (the frame's is a value): the
    // frame keeps its id.
    const range = { ...f.v.range! };
    f.v.range = undefined;
    f.v.rangeId = range.id;
    for (const tmp0 of hmm.ranges) {
      if (range.start >= tmp0.end || range.end <= tmp0.start) continue;
      let tmp = tmp0;
      while (tmp.waiting !== null) tmp = hmm.ranges.find((r) => r.id === tmp.waiting) ?? tmp;
      hmm.ranges.unshift(range); // list_add(&range.list, &hmm->ranges)
      tmp.waiting = range.id;
      range.wakeup = false;
      k.unlock(f.th, `hmm->lock:${hmm.id}`);
      // wait_event(hmm->wait_queue, range.wakeup);
      f.v.tmpId = tmp.id;
      f.v.waited = 0;
      return go("wait");
    }
    hmm.ranges.unshift(range);
    k.unlock(f.th, `hmm->lock:${hmm.id}`);
    addTo(hmm, "notifierCount", 1);
    hmm.sequence++;
    return call(update, { sec: hmm.id, start: f.v.start, end: f.v.end }, "updated");
  },
  wait(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    const range = hmm.range(f.v.rangeId!)!;
    if (!range.wakeup) {
      addTo(hmm, "stalls", 1);
      if (++f.v.waited! > HMM_WAIT_BOUND) {
        k.emit({
          type: "no-progress",
          step: k.step,
          thread: f.th,
          secondary: hmm.id,
          what: `${hmm.id}: invalidation of ${hex(f.v.start)}-${
            hex(f.v.end)
          } waits on range ${f.v.tmpId}, which nobody will unlock`,
        });
        range.alive = false;
        return ret();
      }
      return point(`${hmm.id}:wait range.wakeup`, "wait", { wait: true });
    }
    hmm.skippedUpdates++;
    range.alive = false; // return: the stack struct hmm_range is gone, still on the list
    return ret();
  },
  updated(_k, f) {
    return call(rangeUnlock, { sec: f.v.sec, range: f.v.rangeId! }, "unlocked");
  },
  unlocked(k, f) {
    hmmOf(k, f.v.sec).endRange(f.v.rangeId!);
    return ret();
  },
  done: () => ret(),
});

/** `mirror->ops->update()`: the device driver clears its entries of `[start, end)` under its page-table lock. */
const update = defPath<{ sec: string; start: number; end: number }, Record<never, never>, Kernel>(
  "hmm.update",
  {
    entry: (_k, f) => lock(`hmm-device-pt:${f.v.sec}`, "spin", "locked"),
    locked(k, f) {
      hmmOf(k, f.v.sec).clear(f.v.start, f.v.end);
      k.unlock(f.th, `hmm-device-pt:${f.v.sec}`);
      return ret();
    },
  },
);

/** `hmm_vma_range_unlock()` of the range with id `range`. */
const rangeUnlock = defPath<{ sec: string; range: number }, Record<never, never>, Kernel>(
  "hmm_vma_range_unlock",
  {
    entry: (_k, f) => lock(`hmm->lock:${f.v.sec}`, "spin", "locked"),
    locked(k, f) {
      const hmm = hmmOf(k, f.v.sec);
      const range = hmm.range(f.v.range)!;
      hmm.ranges = hmm.ranges.filter((r) => r.id !== range.id);
      if (range.waiting !== null) {
        const w = hmm.ranges.find((r) => r.id === range.waiting);
        if (w) w.wakeup = true;
      }
      k.unlock(f.th, `hmm->lock:${hmm.id}`);
      return ret();
    },
  },
);

/** The mmu-notifier callbacks of hmm.c. */
const hmmCallback = defPath<{ sec: string; ev: CalloutEvent }, Record<never, never>, Kernel>(
  "hmm.callback",
  {
    entry(k, f) {
      const hmm = hmmOf(k, f.v.sec);
      const { ev } = f.v;
      k.noteCallback(
        f.th,
        hmm.id,
        ev.call,
        hmm.strategy === "range-lock" &&
          (ev.kind === "begin" || ev.kind === "page" || ev.kind === "range"),
      );
      switch (ev.kind) {
        case "page": // hmm_invalidate_page
        case "range": {
          const [start, end] = ev.range ?? [ev.address!, ev.address! + PAGE_SIZE];
          return call(invalidateRange, { sec: hmm.id, start, end }, "invalidated");
        }
        case "begin": // hmm_invalidate_range_start
          return call(
            invalidateRange,
            { sec: hmm.id, start: ev.range![0], end: ev.range![1] },
            "done",
          );
        case "end": // hmm_invalidate_range_end: atomic_dec(notifier_count); wake_up
          addTo(hmm, "notifierCount", -1);
          break;
        case "all":
          hmm.clear(0, 2 ** 48);
          break;
        default:
          break;
      }
      return ret(false);
    },
    invalidated(k, f) {
      addTo(hmmOf(k, f.v.sec), "notifierCount", -1);
      return ret(false);
    },
    done: () => ret(false),
  },
);

/** `->release`: the mirror drops its device page table. */
const hmmRelease = defPath<{ sec: string }, Record<never, never>, Kernel>("hmm.release", {
  entry: (_k, f) => lock(`hmm->lock:${f.v.sec}`, "spin", "locked"),
  locked(k, f) {
    hmmOf(k, f.v.sec).clear(0, 2 ** 48);
    k.unlock(f.th, `hmm->lock:${f.v.sec}`);
    return ret();
  },
});

/**
 * Walks the CPU page table of `[start, end)` of the mirror's mm under each PTE
 * lock (no faulting); returns what it found, vpn -> entry.
 *
 * Frame: `a` the address it is at, `out` what it found so far.
 */
const walk = defPath<
  { sec: string; start: number; end: number },
  { a?: number; out?: Record<number, { pfn: number; write: boolean }> },
  Kernel
>("hmm.walk", {
  entry(_k, f) {
    f.v.a = f.v.start;
    f.v.out = {};
    return go("loop");
  },
  loop(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    const mm = k.state.mms[hmm.mm];
    for (let a = f.v.a!; a < f.v.end; a += PAGE_SIZE) {
      if (!mm || !findVma(mm, a)) continue;
      f.v.a = a;
      return lock(ptlName(hmm.mm, a), "spin", "locked");
    }
    const out = f.v.out!;
    f.v.a = f.v.out = undefined;
    return ret(out);
  },
  locked(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    const a = f.v.a!;
    const pte = k.state.mms[hmm.mm]?.ptes[vpn(a)];
    if (pte && pte.t === "present" && !pte.special) {
      (f.v.out = writable(f.v.out!))[vpn(a)] = { pfn: pte.pfn, write: pte.write };
    }
    k.unlock(f.th, ptlName(hmm.mm, a));
    f.v.a = a + PAGE_SIZE;
    return go("loop");
  },
});

/**
 * The device mirror `sec` snapshots `[start, end)` of the CPU page table into
 * its own. Returns "mirrored", or "no-progress" when a wait or sequence-retry
 * gives up.
 *
 * Frame: `range` the new stack `struct hmm_range` until it is listed, then
 * `rangeId`, and `waited` the points waited (range-lock); `attempt` the
 * attempts so far and `seq` the sequence the current one started at
 * (sequence-retry); `snap` what the walk found.
 */
export const hmmSnapshot: PathRef<{ sec: string; start: number; end: number }> = defPath<
  { sec: string; start: number; end: number },
  {
    range?: HmmRange;
    rangeId?: number;
    waited?: number;
    attempt?: number;
    seq?: number;
    snap?: Record<number, { pfn: number; write: boolean }>;
  },
  Kernel
>("hmm.snapshot", {
  entry(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    if (hmm.strategy === "range-lock") {
      f.v.range = hmm.newRange(f.th, f.v.start, f.v.end);
      return lock(`hmm->lock:${hmm.id}`, "spin", "range_lock.locked");
    }
    f.v.attempt = 0;
    return go("attempt");
  },

  // range-lock: hmm_vma_range_lock(), walk, update, hmm_vma_range_unlock().
  "range_lock.locked"(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    // From here the range is on hmm->ranges, a record of its own (the frame's is a value): the
    // frame keeps its id.
    const range = { ...f.v.range! };
    f.v.range = undefined;
    f.v.rangeId = range.id;
    hmm.ranges.unshift(range);
    k.unlock(f.th, `hmm->lock:${hmm.id}`);
    // wait_event(hmm->wait_queue, !atomic_read(&hmm->notifier_count));
    f.v.waited = 0;
    return go("range_lock.wait");
  },
  "range_lock.wait"(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    if (hmm.notifierCount !== 0) {
      hmm.snapshotWaits++;
      if (++f.v.waited! > HMM_WAIT_BOUND) {
        k.emit({
          type: "no-progress",
          step: k.step,
          thread: f.th,
          secondary: hmm.id,
          what:
            `${hmm.id}: hmm_vma_range_lock waits for notifier_count=${hmm.notifierCount} to reach 0`,
        });
        return ret("no-progress");
      }
      return point(`${hmm.id}:wait notifier_count`, "range_lock.wait", { wait: true });
    }
    f.v.waited = undefined;
    return call(walk, { sec: hmm.id, start: f.v.start, end: f.v.end }, "range_lock.walked", "snap");
  },
  "range_lock.walked": (_k, f) => lock(`hmm-device-pt:${f.v.sec}`, "spin", "range_lock.update"),
  "range_lock.update"(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    Object.assign(hmm.devPt, f.v.snap!);
    f.v.snap = undefined;
    k.unlock(f.th, `hmm-device-pt:${hmm.id}`);
    return call(rangeUnlock, { sec: hmm.id, range: f.v.rangeId! }, "range_lock.unlocked");
  },
  "range_lock.unlocked"(k, f) {
    hmmOf(k, f.v.sec).endRange(f.v.rangeId!);
    return ret("mirrored");
  },

  // sequence-retry
  attempt(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    if (f.v.attempt! >= HMM_SNAPSHOT_RETRY_BOUND) {
      k.emit({
        type: "no-progress",
        step: k.step,
        thread: f.th,
        what: `${hmm.id}: snapshot of ${hex(f.v.start)}-${
          hex(f.v.end)
        } restarted ${HMM_SNAPSHOT_RETRY_BOUND} times`,
      });
      return ret("no-progress");
    }
    return go("wait");
  },
  wait(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    // Keep track of active callbacks: start only when none is between start and end.
    if (hmm.notifierCount !== 0) {
      hmm.snapshotWaits++;
      return point(`${hmm.id}:wait notifier_count`, "wait", { wait: true });
    }
    f.v.seq = hmm.sequence;
    return call(walk, { sec: hmm.id, start: f.v.start, end: f.v.end }, "walked", "snap");
  },
  walked: (_k, f) => lock(`hmm-device-pt:${f.v.sec}`, "spin", "update"),
  update(k, f) {
    const hmm = hmmOf(k, f.v.sec);
    const { seq, snap } = f.v;
    f.v.seq = f.v.snap = undefined;
    if (hmm.sequence === seq && hmm.notifierCount === 0) {
      Object.assign(hmm.devPt, snap!);
      k.unlock(f.th, `hmm-device-pt:${hmm.id}`);
      return ret("mirrored");
    }
    k.unlock(f.th, `hmm-device-pt:${hmm.id}`);
    hmm.retries++;
    f.v.attempt!++;
    return point(`${hmm.id}:snapshot retry`, "attempt");
  },
});
