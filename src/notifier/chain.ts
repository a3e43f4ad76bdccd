/**
 * The notifier chain: registration, unregistration, dispatch and release,
 * with the list protection and locking each revision describes.
 *
 * @module
 */
import {
  type CalloutEvent,
  type CalloutSink,
  type Kernel,
  KernelBug,
  type KGen,
} from "../kernel/context.ts";
import type { CalloutKind, CalloutName } from "../kernel/hooks.ts";
import { immapName, mmapSemName } from "../kernel/pgtable.ts";
import { dict } from "../model/_dict.ts";

/** How dispatch protects its walk of the list. */
export const LIST_PROTECTIONS = ["rcu", "srcu", "rwlock", "none"] as const;
/** How (un)registration is serialised. */
export const REGISTER_LOCKINGS = [
  "global-spinlock",
  "takes-mmap-sem",
  "caller-holds-mmap-sem",
  "takes-mmap-sem-all-locks",
  "rwlock-write",
  "mm-spinlock",
] as const;
/** How unregistration removes an entry, and whether it waits for readers. */
export const UNREGISTER_VARIANTS = [
  "hlist-del",
  "del-rcu",
  "del-rcu-sync",
  "del-rcu-release-sync",
] as const;
/** What `mmu_notifier_release` does with the list and the callback. */
export const RELEASE_VARIANTS = [
  "rcu-release-then-del",
  "del-rcu-sync-then-release",
  "del-init-then-release",
  "del-init-rcu-release-then-sync",
  "rwlock-read-release-then-del",
] as const;

/** A revision's notifier-chain behaviour (data). */
export interface ChainConfig {
  /** List protection of dispatch. */
  list: typeof LIST_PROTECTIONS[number];
  /** Register/unregister locking. */
  register: typeof REGISTER_LOCKINGS[number];
  /** Release variant. */
  release: typeof RELEASE_VARIANTS[number];
  /**
   * Unregistration: `hlist-del` (plain hlist_del, next pointer poisoned),
   * `del-rcu` (hlist_del_rcu, no wait), `del-rcu-sync` (hlist_del_rcu, then
   * synchronize_rcu before returning), `del-rcu-release-sync` (2.6.27: under
   * the mm's notifier spinlock only, hlist_del_rcu, `->release`, then
   * synchronize_rcu).
   */
  unregister: typeof UNREGISTER_VARIANTS[number];
  /** Whether the per-page rmap notifier of EMMU V5 4/4 exists (`mmu_rmap_notifier_register`). */
  rmapNotifier?: boolean;
  /**
   * For callouts that carry no `atomic` argument: whether the API tells the
   * callback it may sleep (from the revision's own comments).
   */
  sleepable: Partial<Record<CalloutKind, boolean>>;
  /** Where each setting comes from. */
  cite: string;
}

/** A secondary MMU as the chain sees it: a set of callbacks. */
export interface Secondary {
  /** Notifier name, unique in a scenario. */
  readonly id: string;
  /** The mm it is registered on. */
  readonly mm: string;
  /** Driver name (kvm, gru, xpmem, hmm). */
  readonly driver: string;
  /** Handles one callout; returns the young answer for age callouts. */
  callback(k: Kernel, th: string, ev: CalloutEvent): KGen<boolean>;
  /** `->release`. */
  release(k: Kernel, th: string): KGen<void>;
  /** Every translation it holds now (address in its mm -> pfn), for the checkers. */
  mappings(): SecondaryMapping[];
  /** The page references it holds legitimately now: holder name -> pfn. */
  refHolders(): Record<string, number>;
  /** Driver state worth showing in an outcome. */
  summary(): Record<string, number | string | string[]>;
  /** The rmap notifier's `invalidate_page(mrn, page)`: drop every remote pte of the page. */
  rmapInvalidate?(k: Kernel, th: string, pfn: number): KGen<void>;
  /** Lists of the driver whose entries must stay alive while listed (list-corruption). */
  lists?(): { name: string; entries: { id: string; alive: boolean }[] }[];
}

/** One translation a secondary MMU holds. */
export interface SecondaryMapping {
  /** Virtual address in the mm it mirrors. */
  addr: number;
  /** The page frame it points at. */
  pfn: number;
  /** Whether it allows writes. */
  write: boolean;
}

/** Name of the RCU read-side "lock" as the model tracks it. */
const RCU = "rcu_read_lock";

/** The chain of every mm in a run. Implements the kernel's {@link CalloutSink}. */
export class NotifierChain implements CalloutSink {
  /** Registered notifier ids per mm, in list order (hlist_add_head puts new ones first). */
  readonly lists: Record<string, string[]> = dict();
  /** Every secondary by id, registered or not. */
  readonly secondaries: Record<string, Secondary> = dict();
  /** The global rmap notifier list of EMMU V5 4/4 (`mmu_rmap_notifier_list`), newest first. */
  readonly rmapList: string[] = [];
  /** Notifiers whose struct the driver has freed. */
  readonly freed: Set<string> = new Set();
  /** Notifiers removed with a plain hlist_del (next pointer poisoned). */
  readonly poisoned: Set<string> = new Set();
  /** Notifiers removed with hlist_del_init (next pointer NULL: a walker stops there). */
  readonly truncated: Set<string> = new Set();

  /**
   * Creates a chain with no notifier registered.
   *
   * @param config The revision's list protection, register locking and release variant.
   */
  constructor(readonly config: ChainConfig) {}

  /** Adds a secondary the scenario will register later. */
  add(sec: Secondary): void {
    this.secondaries[sec.id] = sec;
  }

  /** Registered secondaries of an mm. */
  registered(mm: string): Secondary[] {
    return (this.lists[mm] ?? []).map((id) => this.secondaries[id]);
  }

  /**
   * `mmu_notifier_register()`. `callerHoldsMmapSem` says whether the driver
   * calls it with mmap_sem held for write.
   */
  *register(k: Kernel, th: string, sec: Secondary, callerHoldsMmapSem: boolean): KGen {
    yield* this.listUpdate(k, th, sec.mm, callerHoldsMmapSem, () => {
      const list = this.lists[sec.mm] ?? (this.lists[sec.mm] = []);
      if (list.includes(sec.id)) {
        throw new KernelBug("mmu_notifier_register", `${sec.id} registered twice`);
      }
      list.unshift(sec.id);
      this.poisoned.delete(sec.id);
      this.truncated.delete(sec.id);
    });
  }

  /** `mmu_notifier_unregister()`. */
  *unregister(
    k: Kernel,
    th: string,
    sec: Secondary,
    callerHoldsMmapSem: boolean,
    free = false,
  ): KGen {
    const remove = () => {
      const list = this.lists[sec.mm] ?? [];
      const i = list.indexOf(sec.id);
      if (i >= 0) list.splice(i, 1);
      // hlist_del poisons the entry's next pointer; hlist_del_rcu leaves it for readers.
      if (this.config.unregister === "hlist-del") this.poisoned.add(sec.id);
      return i >= 0;
    };
    if (this.config.unregister === "del-rcu-release-sync") {
      // 2.6.27 mmu_notifier_unregister: spin_lock(&mm->mmu_notifier_mm->lock), hlist_del_rcu,
      // ->release under rcu_read_lock, then synchronize_rcu(); no mmap_sem.
      const lock = `mmu_notifier_lock:${sec.mm}`;
      yield* k.lock(th, lock, "spin");
      const was = remove();
      k.unlock(th, lock);
      if (was) {
        yield* k.lock(th, RCU, "rcu");
        k.emit({ type: "release", step: k.step, mm: sec.mm, notifier: sec.id });
        yield* sec.release(k, th);
        k.unlock(th, RCU);
      }
    } else {
      yield* this.listUpdate(k, th, sec.mm, callerHoldsMmapSem, () => void remove());
    }
    if (this.config.unregister.endsWith("-sync")) yield* this.synchronizeRcu(k, th);
    // The driver frees its struct mmu_notifier (with the structure embedding it) on return.
    if (free) this.freed.add(sec.id);
  }

  /** Runs a list update under the revision's register locking. */
  private *listUpdate(
    k: Kernel,
    th: string,
    mm: string,
    callerHolds: boolean,
    update: () => void,
  ): KGen {
    const sem = mmapSemName(mm);
    if (callerHolds) yield* k.lock(th, sem, "rwsem-write");
    switch (this.config.register) {
      case "global-spinlock":
        yield* k.lock(th, "mmu_notifier_list_lock", "spin");
        update();
        k.unlock(th, "mmu_notifier_list_lock");
        break;
      case "takes-mmap-sem":
        yield* k.lock(th, sem, "rwsem-write");
        update();
        k.unlock(th, sem);
        break;
      case "takes-mmap-sem-all-locks": {
        // mm_take_all_locks(): every i_mmap_lock (and anon_vma lock) of the mm's vmas, so
        // that no invalidate_range_start/end of a path that holds one of them is in flight.
        yield* k.lock(th, sem, "rwsem-write");
        const files = [
          ...new Set((k.state.mms[mm]?.vmas ?? []).flatMap((v) => v.file ? [v.file] : [])),
        ]
          .sort();
        for (const f of files) yield* k.lock(th, immapName(f), "spin");
        update();
        for (const f of files.reverse()) k.unlock(th, immapName(f));
        k.unlock(th, sem);
        break;
      }
      case "caller-holds-mmap-sem":
        update();
        break;
      case "rwlock-write":
        // mmu notifiers #v3: write_lock(&mm->mmu_notifier.lock) against the read_lock of dispatch.
        yield* k.lock(th, `mmu_notifier_rwlock:${mm}`, "spin");
        update();
        k.unlock(th, `mmu_notifier_rwlock:${mm}`);
        break;
      case "mm-spinlock":
        // Peter Zijlstra's RCU variant of #v3: spin_lock + hlist_add_head_rcu, readers take no lock.
        yield* k.lock(th, `mmu_notifier_lock:${mm}`, "spin");
        update();
        k.unlock(th, `mmu_notifier_lock:${mm}`);
        break;
    }
    if (callerHolds) k.unlock(th, sem);
  }

  /** Dispatches a callout to every registered notifier of the mm. */
  *dispatch(k: Kernel, ev: CalloutEvent): KGen<boolean> {
    if (ev.kind === "rmap") return yield* this.rmapDispatch(k, ev);
    // if (unlikely(!hlist_empty(&mm->mmu_notifier.head))): no lock when nobody listens.
    if ((this.lists[ev.mm] ?? []).length === 0) {
      k.emit({ type: "callout", ev, listeners: [] });
      return false;
    }
    // An SRCU read section may sleep, so it is not atomic context.
    const lock = this.config.list === "rcu"
      ? RCU
      : this.config.list === "srcu"
      ? "srcu_read_lock"
      : this.config.list === "rwlock"
      ? `mmu_notifier_rwlock:${ev.mm}`
      : null;
    const kind = this.config.list === "rcu" || this.config.list === "srcu"
      ? this.config.list
      : "spin-read";
    if (lock) yield* k.lock(ev.thread, lock, kind);
    const list = [...(this.lists[ev.mm] ?? [])];
    k.emit({ type: "callout", ev, listeners: list });
    let young = false;
    for (let i = 0; i < list.length; i++) {
      const id = list[i];
      // hlist_for_each_entry: the walk reaches entry i through entry i-1's next pointer.
      const prev = i > 0 ? list[i - 1] : "";
      const broken = this.poisoned.has(prev)
        ? `follows the next pointer of ${prev}, which hlist_del poisoned`
        : this.truncated.has(prev)
        ? `stops at ${prev}, whose next pointer hlist_del_init cleared, and skips ${id}`
        : "";
      if (broken) {
        k.emit({
          type: "list-walk",
          step: k.step,
          thread: ev.thread,
          list: `mmu_notifier list of ${ev.mm}`,
          what: `${broken} while the walk was under way`,
        });
        break;
      }
      if (this.freed.has(id)) {
        k.emit({
          type: "notifier-use",
          step: k.step,
          thread: ev.thread,
          notifier: id,
          what:
            `${ev.call} from ${ev.path}:${ev.at} calls ${id}'s ops after its struct mmu_notifier was freed`,
        });
        continue;
      }
      const sec = this.secondaries[id];
      if (yield* sec.callback(k, ev.thread, ev)) young = true;
    }
    if (lock) k.unlock(ev.thread, lock);
    return young;
  }

  /**
   * `mmu_rmap_notifier(invalidate_page, page)` then `ClearPageExternalRmap(page)`
   * (EMMU V5 4/4): the macro walks the global list under rcu_read_lock.
   */
  private *rmapDispatch(k: Kernel, ev: CalloutEvent): KGen<boolean> {
    yield* k.lock(ev.thread, RCU, "rcu");
    const list = [...this.rmapList];
    k.emit({ type: "callout", ev, listeners: list });
    for (const id of list) {
      const sec = this.secondaries[id];
      if (sec.rmapInvalidate) yield* sec.rmapInvalidate(k, ev.thread, ev.pfn!);
    }
    k.unlock(ev.thread, RCU);
    const page = k.state.pages[ev.pfn!];
    if (page) page.externalRmap = false;
    return false;
  }

  /** `mmu_rmap_notifier_register()`: under mmu_notifier_list_lock, onto the global list. */
  *registerRmap(k: Kernel, th: string, sec: Secondary): KGen {
    yield* k.lock(th, "mmu_notifier_list_lock", "spin");
    if (!this.rmapList.includes(sec.id)) this.rmapList.unshift(sec.id);
    k.unlock(th, "mmu_notifier_list_lock");
  }

  /** What the chain remembers beyond the lists (for the explorer's state hash). */
  snapshot(): unknown {
    return {
      freed: [...this.freed].sort(),
      poisoned: [...this.poisoned].sort(),
      truncated: [...this.truncated].sort(),
      rmap: this.rmapList,
    };
  }

  /** `synchronize_rcu()` (`synchronize_srcu()` for an SRCU list): waits for the readers already inside. */
  private *synchronizeRcu(k: Kernel, th: string): KGen {
    const kind = this.config.list === "srcu" ? "srcu" : "rcu";
    while (
      Object.entries(k.held).some(([t, locks]) => t !== th && locks.some((l) => l.kind === kind))
    ) {
      yield { thread: th, label: "synchronize_rcu", wait: true };
    }
  }

  /** `mmu_notifier_release()` in the revision's variant. */
  *release(k: Kernel, ev: CalloutEvent): KGen {
    const list = this.lists[ev.mm] ?? [];
    k.emit({ type: "callout", ev, listeners: [...list] });
    const th = ev.thread;
    const call = (sec: Secondary): KGen => this.callRelease(k, th, ev, sec);
    switch (this.config.release) {
      case "rcu-release-then-del": {
        // V1: ->release, then hlist_del, inside one RCU read section.
        yield* k.lock(th, RCU, "rcu");
        for (const id of [...list]) {
          yield* call(this.secondaries[id]);
          list.splice(list.indexOf(id), 1);
          this.poisoned.add(id); // hlist_del
        }
        k.unlock(th, RCU);
        break;
      }
      case "del-rcu-sync-then-release": {
        for (const id of [...list]) {
          list.splice(list.indexOf(id), 1);
          yield* this.synchronizeRcu(k, th);
          yield* call(this.secondaries[id]);
        }
        break;
      }
      case "del-init-then-release": {
        // V4/V5: "we know on release that we are the only executing thread": hlist_del_init
        // with no lock; a reader still walking finds a NULL next pointer and stops there.
        for (const id of [...list]) {
          list.splice(list.indexOf(id), 1);
          this.truncated.add(id);
          yield* call(this.secondaries[id]);
        }
        break;
      }
      case "rwlock-read-release-then-del": {
        // mmu notifiers #v3: ->release then hlist_del, both under read_lock(&mm->mmu_notifier.lock).
        const lock = `mmu_notifier_rwlock:${ev.mm}`;
        yield* k.lock(th, lock, "spin-read");
        for (const id of [...list]) {
          yield* call(this.secondaries[id]);
          list.splice(list.indexOf(id), 1);
          this.poisoned.add(id); // hlist_del under a read lock other readers share
        }
        k.unlock(th, lock);
        break;
      }
      case "del-init-rcu-release-then-sync": {
        while (list.length > 0) {
          const id = list.shift()!;
          yield* k.lock(th, RCU, "rcu");
          yield* call(this.secondaries[id]);
          k.unlock(th, RCU);
        }
        yield { thread: th, label: "synchronize_rcu" };
        break;
      }
    }
  }

  /** Calls one notifier's `->release` and records that it was called. */
  private *callRelease(k: Kernel, th: string, ev: CalloutEvent, sec: Secondary): KGen {
    k.emit({ type: "release", step: k.step, mm: ev.mm, notifier: sec.id });
    yield* sec.release(k, th);
  }
}

/** Whether a callout tells its callback that it may sleep. */
export function toldMaySleep(config: ChainConfig, ev: CalloutEvent): boolean {
  if (ev.atomic !== null) return ev.atomic === 0;
  return config.sleepable[ev.kind] ?? false;
}

/** The kind of a callout name (re-exported for drivers). */
export type { CalloutKind, CalloutName };
