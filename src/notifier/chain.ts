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
  lock,
  type LockKind,
} from "../kernel/context.ts";
import type { CalloutKind, CalloutName } from "../kernel/hooks.ts";
import { anonVmaLock, immapName, mmapSemName, rmapWriteKind } from "../kernel/pgtable.ts";
import {
  call,
  defPath,
  type Frame,
  go,
  type Next,
  type PathRef,
  point,
  ret,
  type Vars,
} from "../kernel/steps.ts";
import { dict } from "../model/_dict.ts";
import { updatePage } from "../model/state.ts";

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
  "srcu-release-del-init-sync",
] as const;
/** What `mmu_notifier_release` does with the list and the callback. */
export const RELEASE_VARIANTS = [
  "rcu-release-then-del",
  "rcu-safe-release-then-del-rcu",
  "del-rcu-sync-then-release",
  "del-init-then-release",
  "del-init-rcu-release-then-sync",
  "rwlock-read-release-then-del",
  "srcu-release-then-del-init-sync",
] as const;

/** A revision's notifier-chain behaviour (data). */
export interface ChainConfig {
  /** List protection of dispatch. */
  list: typeof LIST_PROTECTIONS[number];
  /** Register/unregister locking. */
  register: typeof REGISTER_LOCKINGS[number];
  /**
   * How `mmu_notifier_release()` takes the notifiers off at exit:
   * `rcu-release-then-del` (EMMU V1: under rcu_read_lock,
   * `hlist_for_each_entry_rcu` with `->release` then `hlist_del` in its
   * body, so the loop's next step reads the next pointer hlist_del has just
   * poisoned), `rcu-safe-release-then-del-rcu` (the RCU version of #v3:
   * `hlist_for_each_entry_safe_rcu`, `->release`, `hlist_del_rcu`, which
   * leaves the next pointer), `del-rcu-sync-then-release` (each entry
   * `hlist_del_rcu`, synchronize_rcu, then `->release`),
   * `del-init-then-release` (V4/V5: `hlist_del_init` with no lock, then
   * `->release`), `del-init-rcu-release-then-sync` (2.6.27: each entry off
   * the list under the notifier spinlock, `->release` under rcu_read_lock,
   * then synchronize_rcu), `rwlock-read-release-then-del` (#v3: `->release`
   * then `hlist_del` under the read side of the notifier rwlock, with the
   * `_safe` iterator), `srcu-release-then-del-init-sync` (4.9).
   */
  release: typeof RELEASE_VARIANTS[number];
  /**
   * Unregistration: `hlist-del` (plain hlist_del, next pointer poisoned),
   * `del-rcu` (hlist_del_rcu, no wait), `del-rcu-sync` (hlist_del_rcu, then
   * synchronize_rcu before returning), `del-rcu-release-sync` (2.6.27: under
   * the mm's notifier spinlock only, hlist_del_rcu, `->release`, then
   * synchronize_rcu), `srcu-release-del-init-sync` (4.9: `->release` under
   * srcu_read_lock, then hlist_del_init_rcu under the notifier spinlock, then
   * synchronize_srcu; v4.9 mm/mmu_notifier.c:349-382).
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

/**
 * A secondary MMU as the chain sees it: a set of callbacks. The callbacks are
 * paths the chain calls with the secondary's id; a driver's path finds its
 * instance with `chainOf(k).secondaries[f.v.sec]`.
 */
export interface Secondary {
  /** Notifier name, unique in a scenario. */
  readonly id: string;
  /** The mm it is registered on. */
  readonly mm: string;
  /** Driver name (kvm, gru, xpmem, hmm). */
  readonly driver: string;
  /** Handles one callout; returns the young answer (boolean) for age callouts. */
  readonly callbackPath: PathRef<{ sec: string; ev: CalloutEvent }>;
  /** `->release`. */
  readonly releasePath: PathRef<{ sec: string }>;
  /** Every translation it holds now (address in its mm -> pfn), for the checkers. */
  mappings(): SecondaryMapping[];
  /** The page references it holds legitimately now: holder name -> pfn. */
  refHolders(): Record<string, number>;
  /** Driver state worth showing in an outcome. */
  summary(): Record<string, number | string | string[]>;
  /** The rmap notifier's `invalidate_page(mrn, page)`: drop every remote pte of the page. */
  readonly rmapInvalidatePath?: PathRef<{ sec: string; pfn: number }>;
  /** Lists of the driver whose entries must stay alive while listed (list-corruption). */
  lists?(): { name: string; entries: { id: string; alive: boolean }[] }[];
  /**
   * Whether its translations and page references outlive `exit_mmap` until
   * the driver tears it down (KVM: until `kvm_destroy_vm`). Nothing uses
   * them meanwhile: only the mm's own threads drive it.
   */
  readonly outlivesMm?: boolean;
}

/** One translation a secondary MMU holds. */
export interface SecondaryMapping {
  /** Virtual address in the mm it mirrors. */
  addr: number;
  /** The page frame it points at. */
  pfn: number;
  /** Whether it allows writes. */
  write: boolean;
  /**
   * The write permission came from a forced write fault over a read-only
   * primary pte (`get_user_pages(..., write=1, force=1)`), not from the pte.
   */
  forced?: boolean;
}

/** Name of the RCU read-side "lock" as the model tracks it. */
const RCU = "rcu_read_lock";
/** Name of the (global) SRCU read section of the mmu notifiers. */
const SRCU = "srcu_read_lock";

/**
 * The chain of every mm in a run. Implements the kernel's {@link CalloutSink}.
 * Its paths find it with {@link chainOf}.
 */
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

  /** Dispatches a callout to every registered notifier of the mm (see {@link dispatch}). */
  get dispatchPath(): PathRef<{ ev: CalloutEvent }> {
    return dispatch;
  }

  /** `mmu_notifier_release()` in the revision's variant (see {@link release}). */
  get releasePath(): PathRef<{ ev: CalloutEvent }> {
    return release;
  }

  /** Adds a secondary the scenario will register later. */
  add(sec: Secondary): void {
    this.secondaries[sec.id] = sec;
  }

  /** Registered secondaries of an mm. */
  registered(mm: string): Secondary[] {
    return (this.lists[mm] ?? []).map((id) => this.secondaries[id]);
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
}

/** The notifier chain of the kernel `k` (its callout sink), for the chain's and the drivers' steps. */
export function chainOf(k: Kernel): NotifierChain {
  return k.sink as NotifierChain;
}

/** The list change a {@link listUpdate} makes. */
type ListOp = "register" | "unregister";

/** Applies a list change to the chain (the body that runs under the register locking). */
function applyListOp(c: NotifierChain, op: ListOp, id: string): void {
  const mm = c.secondaries[id].mm;
  if (op === "register") {
    const list = c.lists[mm] ?? (c.lists[mm] = []);
    if (list.includes(id)) {
      throw new KernelBug("mmu_notifier_register", `${id} registered twice`);
    }
    list.unshift(id);
    c.poisoned.delete(id);
    c.truncated.delete(id);
  } else void unregisterRemove(c, id);
}

/** Removes a notifier from its mm's list the way the revision's unregistration does; whether it was there. */
function unregisterRemove(c: NotifierChain, id: string): boolean {
  const list = c.lists[c.secondaries[id].mm] ?? [];
  const i = list.indexOf(id);
  if (i >= 0) list.splice(i, 1);
  // hlist_del poisons the entry's next pointer; hlist_del_rcu leaves it for readers.
  if (c.config.unregister === "hlist-del") c.poisoned.add(id);
  return i >= 0;
}

/**
 * The one lock a list update takes under the revision's register locking, for
 * the lockings that take exactly one (not `caller-holds-mmap-sem` nor
 * `takes-mmap-sem-all-locks`).
 */
function updateLock(c: NotifierChain, mm: string): { name: string; kind: LockKind } {
  switch (c.config.register) {
    case "takes-mmap-sem":
      return { name: mmapSemName(mm), kind: "rwsem-write" };
    case "rwlock-write":
      // mmu notifiers #v3: write_lock(&mm->mmu_notifier.lock) against the read_lock of dispatch.
      return { name: `mmu_notifier_rwlock:${mm}`, kind: "spin" };
    case "mm-spinlock":
      // Peter Zijlstra's RCU variant of #v3: spin_lock + hlist_add_head_rcu, readers take no lock.
      return { name: `mmu_notifier_lock:${mm}`, kind: "spin" };
    default:
      return { name: "mmu_notifier_list_lock", kind: "spin" };
  }
}

/**
 * Runs a list change (`op` on notifier `sec`) under the revision's register
 * locking, on the list of `mm`. `callerHolds`: the caller holds mmap_sem for
 * write around it.
 */
const listUpdate = defPath<
  { mm: string; callerHolds: boolean; op: ListOp; sec: string },
  { locks?: string[]; i?: number },
  Kernel
>("mmu_notifier.list_update", {
  entry(_k, f) {
    if (f.v.callerHolds) return lock(mmapSemName(f.v.mm), "rwsem-write", "held");
    return go("held");
  },
  held(k, f) {
    const c = chainOf(k);
    switch (c.config.register) {
      case "caller-holds-mmap-sem":
        return go("update");
      case "takes-mmap-sem-all-locks":
        // mm_take_all_locks(): every i_mmap_lock and anon_vma lock of the mm's vmas, so
        // that no invalidate_range_start/end of a path that holds one of them is in flight.
        // A caller that holds mmap_sem calls __mmu_notifier_register(), which does not take it
        // again ('if (take_mmap_sem) down_write(&mm->mmap_sem);', v2.6.27
        // mm/mmu_notifier.c:158-159 and 218-221).
        if (f.v.callerHolds) return go("all_locks");
        return lock(mmapSemName(f.v.mm), "rwsem-write", "all_locks");
      default: {
        const { name, kind } = updateLock(c, f.v.mm);
        return lock(name, kind, "update");
      }
    }
  },
  all_locks(k, f) {
    // The mappings' locks in vma order, then the anon_vmas' (v2.6.27 mm/mmap.c:2361-2374), each
    // once: vm_lock_mapping() and vm_lock_anon_vma() skip one already taken (a bit set in it).
    const vmas = k.state.mms[f.v.mm]?.vmas ?? [];
    f.v.locks = [
      ...new Set([
        ...vmas.flatMap((v) => v.file ? [immapName(v.file)] : []),
        ...vmas.flatMap((v) => v.anonVma ? [anonVmaLock(v.anonVma)] : []),
      ]),
    ];
    f.v.i = 0;
    return go("all_locks.next");
  },
  "all_locks.next"(k, f) {
    const locks = f.v.locks!;
    if (f.v.i! < locks.length) return lock(locks[f.v.i!++], rmapWriteKind(k), "all_locks.next");
    return go("update");
  },
  update(k, f) {
    const c = chainOf(k);
    applyListOp(c, f.v.op, f.v.sec);
    switch (c.config.register) {
      case "caller-holds-mmap-sem":
        break;
      case "takes-mmap-sem-all-locks":
        for (const name of [...f.v.locks!].reverse()) k.unlock(f.th, name);
        if (!f.v.callerHolds) k.unlock(f.th, mmapSemName(f.v.mm));
        f.v.locks = f.v.i = undefined;
        break;
      default:
        k.unlock(f.th, updateLock(c, f.v.mm).name);
    }
    if (f.v.callerHolds) k.unlock(f.th, mmapSemName(f.v.mm));
    return ret();
  },
});

/**
 * `mmu_notifier_register()` of notifier `sec`. `callerHoldsMmapSem` says
 * whether the driver calls it with mmap_sem held for write.
 */
export const mmuNotifierRegister: PathRef<{ sec: string; callerHoldsMmapSem: boolean }> = defPath<
  { sec: string; callerHoldsMmapSem: boolean },
  Record<never, never>,
  Kernel
>("mmu_notifier_register", {
  entry(k, f) {
    const mm = chainOf(k).secondaries[f.v.sec].mm;
    return call(
      listUpdate,
      { mm, callerHolds: f.v.callerHoldsMmapSem, op: "register", sec: f.v.sec },
      "done",
    );
  },
  done: () => ret(),
});

/**
 * `mmu_notifier_unregister()` of notifier `sec`; with `free`, the driver frees
 * its struct mmu_notifier (with the structure embedding it) on return.
 */
export const mmuNotifierUnregister: PathRef<
  { sec: string; callerHoldsMmapSem: boolean; free: boolean }
> = defPath<
  { sec: string; callerHoldsMmapSem: boolean; free: boolean },
  Record<never, never>,
  Kernel
>("mmu_notifier_unregister", {
  entry(k, f) {
    const c = chainOf(k);
    const mm = c.secondaries[f.v.sec].mm;
    if (c.config.unregister === "srcu-release-del-init-sync") {
      // v4.9 mm/mmu_notifier.c:353-375: 'if (!hlist_unhashed(&mn->hlist)) { id =
      // srcu_read_lock(&srcu); ... mn->ops->release(mn, mm); srcu_read_unlock(&srcu, id);
      // spin_lock(...); hlist_del_init_rcu(&mn->hlist); spin_unlock(...); }'
      if (!(c.lists[mm] ?? []).includes(f.v.sec)) return go("removed");
      return lock(SRCU, "srcu", "srcu.release");
    }
    if (c.config.unregister === "del-rcu-release-sync") {
      // 2.6.27 mmu_notifier_unregister: spin_lock(&mm->mmu_notifier_mm->lock), hlist_del_rcu,
      // ->release under rcu_read_lock, then synchronize_rcu(); no mmap_sem.
      return lock(`mmu_notifier_lock:${mm}`, "spin", "locked");
    }
    return call(
      listUpdate,
      { mm, callerHolds: f.v.callerHoldsMmapSem, op: "unregister", sec: f.v.sec },
      "removed",
    );
  },
  locked(k, f) {
    const c = chainOf(k);
    const mm = c.secondaries[f.v.sec].mm;
    const was = unregisterRemove(c, f.v.sec);
    // 'rcu_read_lock(); spin_unlock(&mm->mmu_notifier_mm->lock);' (v2.6.27
    // mm/mmu_notifier.c:254-255): the read section starts before the spinlock is dropped, "RCU
    // here will force exit_mmap to wait ->release to finish before freeing the pages".
    if (was) k.acquire(f.th, RCU, "rcu");
    k.unlock(f.th, `mmu_notifier_lock:${mm}`);
    if (was) return go("release");
    return go("removed");
  },
  release(k, f) {
    const sec = chainOf(k).secondaries[f.v.sec];
    k.emit({ type: "release", step: k.step, mm: sec.mm, notifier: sec.id });
    return call(sec.releasePath, { sec: sec.id }, "released");
  },
  released(k, f) {
    k.unlock(f.th, RCU);
    return go("removed");
  },
  "srcu.release"(k, f) {
    const sec = chainOf(k).secondaries[f.v.sec];
    k.emit({ type: "release", step: k.step, mm: sec.mm, notifier: sec.id });
    return call(sec.releasePath, { sec: sec.id }, "srcu.released");
  },
  "srcu.released"(k, f) {
    k.unlock(f.th, SRCU);
    return lock(`mmu_notifier_lock:${chainOf(k).secondaries[f.v.sec].mm}`, "spin", "srcu.del");
  },
  "srcu.del"(k, f) {
    const c = chainOf(k);
    const mm = c.secondaries[f.v.sec].mm;
    const list = c.lists[mm] ?? [];
    // hlist_del_init_rcu(): a release may have taken it off meanwhile.
    if (list.includes(f.v.sec)) list.splice(list.indexOf(f.v.sec), 1);
    k.unlock(f.th, `mmu_notifier_lock:${mm}`);
    return go("removed");
  },
  removed(k, _f) {
    if (chainOf(k).config.unregister.endsWith("-sync")) return call(synchronizeRcu, {}, "synced");
    return go("synced");
  },
  synced(k, f) {
    // The driver frees its struct mmu_notifier (with the structure embedding it) on return.
    if (f.v.free) chainOf(k).freed.add(f.v.sec);
    return ret();
  },
});

/** The lock dispatch takes around its walk of the list of `mm`, or null. */
function listLock(c: NotifierChain, mm: string): { name: string; kind: LockKind } | null {
  // An SRCU read section may sleep, so it is not atomic context.
  switch (c.config.list) {
    case "rcu":
      return { name: RCU, kind: "rcu" };
    case "srcu":
      return { name: SRCU, kind: "srcu" };
    case "rwlock":
      return { name: `mmu_notifier_rwlock:${mm}`, kind: "spin-read" };
    case "none":
      return null;
  }
}

/**
 * Dispatches a callout to every registered notifier of the mm; returns the OR
 * of the young answers. The walk goes over a copy of the list taken under the
 * list lock, kept in the frame across every callback (hlist_for_each_entry).
 *
 * A `rmap` callout is `mmu_rmap_notifier(invalidate_page, page)` then
 * `ClearPageExternalRmap(page)` (EMMU V5 4/4): the macro walks the global
 * list under rcu_read_lock (steps `rmap.*`).
 */
const dispatch = defPath<
  { ev: CalloutEvent },
  { list?: string[]; i?: number; young?: boolean; answer?: boolean },
  Kernel
>("mmu_notifier", {
  entry(k, f) {
    const { ev } = f.v;
    if (ev.kind === "rmap") return lock(RCU, "rcu", "rmap.locked");
    const c = chainOf(k);
    // if (unlikely(!hlist_empty(&mm->mmu_notifier.head))): no lock when nobody listens.
    if ((c.lists[ev.mm] ?? []).length === 0) {
      k.emit({ type: "callout", ev, listeners: [] });
      return ret(false);
    }
    const l = listLock(c, ev.mm);
    if (l) return lock(l.name, l.kind, "locked");
    return go("locked");
  },
  locked(k, f) {
    const { ev } = f.v;
    const list = [...(chainOf(k).lists[ev.mm] ?? [])];
    k.emit({ type: "callout", ev, listeners: list });
    f.v.list = list;
    f.v.i = 0;
    f.v.young = false;
    return go("walk");
  },
  walk(k, f) {
    const c = chainOf(k);
    const { ev } = f.v;
    const list = f.v.list!;
    for (let i = f.v.i!; i < list.length; i++) {
      const id = list[i];
      // hlist_for_each_entry: the walk reaches entry i through entry i-1's next pointer.
      const prev = i > 0 ? list[i - 1] : "";
      const broken = c.poisoned.has(prev)
        ? `follows the next pointer of ${prev}, which hlist_del poisoned`
        : c.truncated.has(prev)
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
      if (c.freed.has(id)) {
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
      f.v.i = i + 1;
      return call(c.secondaries[id].callbackPath, { sec: id, ev }, "answered", "answer");
    }
    return go("unlock");
  },
  answered(_k, f) {
    if (f.v.answer) f.v.young = true;
    f.v.answer = undefined;
    return go("walk");
  },
  unlock(k, f) {
    const l = listLock(chainOf(k), f.v.ev.mm);
    if (l) k.unlock(f.th, l.name);
    const young = f.v.young!;
    f.v.list = f.v.i = f.v.young = undefined;
    return ret(young);
  },
  "rmap.locked"(k, f) {
    const { ev } = f.v;
    const list = [...chainOf(k).rmapList];
    k.emit({ type: "callout", ev, listeners: list });
    f.v.list = list;
    f.v.i = 0;
    return go("rmap.walk");
  },
  "rmap.walk"(k, f) {
    const c = chainOf(k);
    const list = f.v.list!;
    while (f.v.i! < list.length) {
      const sec = c.secondaries[list[f.v.i!++]];
      if (sec.rmapInvalidatePath) {
        return call(sec.rmapInvalidatePath, { sec: sec.id, pfn: f.v.ev.pfn! }, "rmap.walk");
      }
    }
    k.unlock(f.th, RCU);
    f.v.list = f.v.i = undefined;
    const page = k.state.pages[f.v.ev.pfn!];
    if (page) updatePage(k.state, page.pfn, { externalRmap: false });
    return ret(false);
  },
});

/** `mmu_rmap_notifier_register()` of notifier `sec`: under mmu_notifier_list_lock, onto the global list. */
export const mmuRmapNotifierRegister: PathRef<{ sec: string }> = defPath<
  { sec: string },
  Record<never, never>,
  Kernel
>(
  "mmu_rmap_notifier_register",
  {
    entry: () => lock("mmu_notifier_list_lock", "spin", "locked"),
    locked(k, f) {
      const c = chainOf(k);
      if (!c.rmapList.includes(f.v.sec)) c.rmapList.unshift(f.v.sec);
      k.unlock(f.th, "mmu_notifier_list_lock");
      return ret();
    },
  },
);

/** `synchronize_rcu()` (`synchronize_srcu()` for an SRCU list): waits for the readers already inside. */
const synchronizeRcu = defPath<Record<never, never>, Record<never, never>, Kernel>(
  "synchronize_rcu",
  {
    entry(k, f) {
      const kind = chainOf(k).config.list === "srcu" ? "srcu" : "rcu";
      if (
        Object.entries(k.held).some(([t, locks]) =>
          t !== f.th && locks.some((l) => l.kind === kind)
        )
      ) {
        return point("synchronize_rcu", "entry", { wait: true });
      }
      return ret();
    },
  },
);

/**
 * Calls notifier `id`'s `->release` and records that it was called, then goes
 * on at step `to`.
 */
function callRelease(k: Kernel, mm: string, id: string, to: string): Next {
  const sec = chainOf(k).secondaries[id];
  k.emit({ type: "release", step: k.step, mm, notifier: sec.id });
  return call(sec.releasePath, { sec: sec.id }, to);
}

/**
 * The live list of `mm` as `mmu_notifier_release()` works on it. Once an mm
 * has a list, the chain keeps that array (it never replaces it), so looking it
 * up again in each step finds the array the release started on. When the mm
 * had none at the start, the release works on an empty list of its own
 * (`detached` in its frame).
 */
function liveList(k: Kernel, mm: string): string[] {
  return chainOf(k).lists[mm] ?? [];
}

/** The values {@link release} keeps. */
interface ReleaseVars extends Vars {
  /** The list of the mm did not exist when the release started. */
  detached?: boolean;
  /** The copy of the list a loop walks. */
  ids?: string[];
  /** The position in `ids`. */
  i?: number;
  /** The entry being released (del-init-rcu-release-then-sync). */
  id?: string;
}

/** The frame of {@link release}. */
type ReleaseFrame = { ev: CalloutEvent } & ReleaseVars;

/**
 * `mmu_notifier_release()` in the revision's variant. `ids` is the copy of the
 * list the loops walk (`for (const id of [...list])`), `i` the position in it;
 * removals go to the live list.
 */
const release = defPath<{ ev: CalloutEvent }, ReleaseVars, Kernel>("mmu_notifier_release", {
  entry(k, f) {
    const { ev } = f.v;
    const list = liveList(k, ev.mm);
    k.emit({ type: "callout", ev, listeners: [...list] });
    // A release on an mm that has no list works on an empty one of its own, whatever
    // registers meanwhile: `detached` remembers it until the walk copies the list.
    if (!chainOf(k).lists[ev.mm]) f.v.detached = true;
    switch (chainOf(k).config.release) {
      case "rcu-release-then-del":
      case "rcu-safe-release-then-del-rcu":
        // V1 and #v3's RCU version: ->release, then the entry off the list, inside one RCU
        // read section.
        return lock(RCU, "rcu", "rcu_release_del.locked");
      case "del-rcu-sync-then-release":
        return copyList(k, f, "del_sync_release");
      case "del-init-then-release":
        // V4/V5: "we know on release that we are the only executing thread": hlist_del_init
        // with no lock; a reader still walking finds a NULL next pointer and stops there.
        return copyList(k, f, "del_init_release");
      case "rwlock-read-release-then-del":
        // mmu notifiers #v3: ->release then hlist_del, both under read_lock(&mm->mmu_notifier.lock).
        return lock(`mmu_notifier_rwlock:${ev.mm}`, "spin-read", "rwlock_release_del.locked");
      case "del-init-rcu-release-then-sync":
        return go("del_init_rcu_release");
      case "srcu-release-then-del-init-sync":
        // v4.9 mm/mmu_notifier.c:56-102: every ->release under srcu_read_lock while the
        // entries are still listed, then hlist_del_init_rcu of each under the notifier
        // spinlock, then synchronize_srcu().
        return lock(SRCU, "srcu", "srcu_release.locked");
    }
  },

  // srcu-release-then-del-init-sync
  "srcu_release.locked": (k, f) => copyList(k, f, "srcu_release"),
  srcu_release(k, f) {
    const ids = f.v.ids!;
    if (f.v.i! < ids.length) return callRelease(k, f.v.ev.mm, ids[f.v.i!++], "srcu_release");
    return lock(`mmu_notifier_lock:${f.v.ev.mm}`, "spin", "srcu_release.del");
  },
  "srcu_release.del"(k, f) {
    liveList(k, f.v.ev.mm).splice(0); // while (!hlist_empty(...)) hlist_del_init_rcu(...)
    k.unlock(f.th, `mmu_notifier_lock:${f.v.ev.mm}`);
    k.unlock(f.th, SRCU);
    return call(synchronizeRcu, {}, "done");
  },

  // rcu-release-then-del
  "rcu_release_del.locked": (k, f) => copyList(k, f, "rcu_release_del"),
  rcu_release_del(k, f) {
    const ids = f.v.ids!;
    if (f.v.i! < ids.length) return callRelease(k, f.v.ev.mm, ids[f.v.i!], "rcu_release_del.del");
    k.unlock(f.th, RCU);
    return go("done");
  },
  "rcu_release_del.del"(k, f) {
    const c = chainOf(k);
    const list = liveList(k, f.v.ev.mm);
    const id = f.v.ids![f.v.i!++];
    list.splice(list.indexOf(id), 1);
    if (c.config.release === "rcu-safe-release-then-del-rcu") return go("rcu_release_del");
    // hlist_del(): 'n->next = LIST_POISON1;' (v2.6.24 include/linux/list.h:739). V1's loop is
    // hlist_for_each_entry_rcu (list.h:988-992), not the _safe one: its next step is
    // 'pos = pos->next', then 'prefetch(pos->next)' and the body read through LIST_POISON1,
    // whatever follows the entry (an oops: release stops there).
    c.poisoned.add(id);
    k.emit({
      type: "list-walk",
      step: k.step,
      thread: f.v.ev.thread,
      list: `mmu_notifier list of ${f.v.ev.mm}`,
      what: `mmu_notifier_release follows the next pointer of ${id}, which its own hlist_del ` +
        "poisoned",
    });
    k.unlock(f.th, RCU);
    return go("done");
  },

  // del-rcu-sync-then-release
  del_sync_release(k, f) {
    const ids = f.v.ids!;
    if (f.v.i! >= ids.length) return go("done");
    const list = liveList(k, f.v.ev.mm);
    list.splice(list.indexOf(ids[f.v.i!]), 1);
    return call(synchronizeRcu, {}, "del_sync_release.release");
  },
  "del_sync_release.release"(k, f) {
    return callRelease(k, f.v.ev.mm, f.v.ids![f.v.i!++], "del_sync_release");
  },

  // del-init-then-release
  del_init_release(k, f) {
    const ids = f.v.ids!;
    if (f.v.i! >= ids.length) return go("done");
    const list = liveList(k, f.v.ev.mm);
    const id = ids[f.v.i!++];
    list.splice(list.indexOf(id), 1);
    chainOf(k).truncated.add(id);
    return callRelease(k, f.v.ev.mm, id, "del_init_release");
  },

  // rwlock-read-release-then-del
  "rwlock_release_del.locked": (k, f) => copyList(k, f, "rwlock_release_del"),
  rwlock_release_del(k, f) {
    const ids = f.v.ids!;
    if (f.v.i! < ids.length) {
      return callRelease(k, f.v.ev.mm, ids[f.v.i!], "rwlock_release_del.del");
    }
    k.unlock(f.th, `mmu_notifier_rwlock:${f.v.ev.mm}`);
    return go("done");
  },
  "rwlock_release_del.del"(k, f) {
    const list = liveList(k, f.v.ev.mm);
    const id = f.v.ids![f.v.i!++];
    list.splice(list.indexOf(id), 1);
    chainOf(k).poisoned.add(id); // hlist_del under a read lock other readers share
    return go("rwlock_release_del");
  },

  // del-init-rcu-release-then-sync (v2.6.27 mm/mmu_notifier.c:32-78): under the mm's notifier
  // spinlock, each entry in turn is taken off (hlist_del_init_rcu) and rcu_read_lock() taken
  // before the spinlock is dropped (lines 36-53); ->release runs in the RCU read section, the
  // spinlock is taken again (64); once the list is empty, synchronize_rcu() (77) waits for an
  // unregister's ->release that runs in its own read section, "prevents mmu_notifier_release
  // to return to exit_mmap (which would proceed freeing all pages in the mm) until the
  // ->release method returns".
  del_init_rcu_release(_k, f) {
    return lock(`mmu_notifier_lock:${f.v.ev.mm}`, "spin", "del_init_rcu_release.spin");
  },
  "del_init_rcu_release.spin"(k, f) {
    const list = f.v.detached ? [] : liveList(k, f.v.ev.mm);
    if (f.v.i === undefined) {
      // The first look at the list under the spinlock.
      f.v.i = 0;
      k.emit({ type: "release-walk", step: k.step, mm: f.v.ev.mm, notifiers: [...list] });
    }
    if (list.length === 0) {
      k.unlock(f.th, `mmu_notifier_lock:${f.v.ev.mm}`);
      return call(synchronizeRcu, {}, "done");
    }
    f.v.id = list.shift()!;
    k.acquire(f.th, RCU, "rcu");
    k.unlock(f.th, `mmu_notifier_lock:${f.v.ev.mm}`);
    return callRelease(k, f.v.ev.mm, f.v.id!, "del_init_rcu_release.released");
  },
  "del_init_rcu_release.released"(k, f) {
    k.unlock(f.th, RCU);
    f.v.id = undefined;
    return go("del_init_rcu_release");
  },

  done(_k, f) {
    f.v.ids = f.v.i = undefined;
    f.v.detached = undefined;
    return ret();
  },
});

/**
 * `for (const id of [...list])` of {@link release}: copies the list into the
 * frame (`ids`, position `i`), then goes on at step `to`.
 */
function copyList(k: Kernel, f: Frame<ReleaseFrame>, to: string): Next {
  f.v.ids = f.v.detached ? [] : [...liveList(k, f.v.ev.mm)];
  k.emit({ type: "release-walk", step: k.step, mm: f.v.ev.mm, notifiers: [...f.v.ids] });
  f.v.i = 0;
  f.v.detached = undefined;
  return go(to);
}

/** Whether a callout tells its callback that it may sleep. */
export function toldMaySleep(config: ChainConfig, ev: CalloutEvent): boolean {
  if (ev.atomic !== null) return ev.atomic === 0;
  return config.sleepable[ev.kind] ?? false;
}

/** The kind of a callout name (re-exported for drivers). */
export type { CalloutKind, CalloutName };
