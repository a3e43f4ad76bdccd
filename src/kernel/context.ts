/**
 * The execution context every kernel path runs in: the model state, the locks
 * each thread holds, allocation points that a scenario can make fail, and the
 * hook points where a revision's callouts are dispatched.
 *
 * Kernel paths are tables of atomic steps (see `steps.ts`); taking a lock and
 * dispatching a hook point are paths too ({@link lock}, {@link hook}).
 *
 * @module
 */
import type { MmState } from "../model/types.ts";
import { hexRange } from "../model/state.ts";
import { dict } from "../model/_dict.ts";
import { CALLOUT_KIND, type CalloutKind, type CalloutName } from "./hooks.ts";
import { call, defPath, go, type Next, type PathRef, point, type PointInfo, ret } from "./steps.ts";
import type { NonlinearConfig, ReadResult } from "./v2.5.42/types.ts";

/** A scheduling point: where another thread may run, and which thread stopped there. */
export interface SchedPoint extends PointInfo {
  /** The thread (task) that stops here. */
  thread: string;
}

/** One callout as a revision places it in a kernel path (data). */
export interface CalloutSpec {
  /** Hook point name, declared in {@link HOOK_POINTS}. */
  at: string;
  /** The callout the code makes. */
  call: CalloutName;
  /** Which range expression the code passes (range callouts). */
  range?: string;
  /** What the `atomic` argument computes: a constant or a declared expression. Absent: the API has no such argument. */
  atomic?: 0 | 1 | string;
  /** A condition the call sits under in the code. */
  guard?: string;
  /** Negate the guard (`if (!x)`). */
  unless?: string;
  /** The code ignores what the callout returns (an age callout used as a notification). */
  discard?: boolean;
  /** Seed file, message and hunk this placement reproduces. */
  cite: string;
}

/** Kernel-path variants a revision selects (each implemented once, beside its siblings). */
export interface KernelVariants {
  /**
   * `follow_page()`: "mark-accessed" (2.6.24: `mark_page_accessed()` on the
   * page) or "mkyoung" (mmu notifiers #v3: also sets the pte young, so an
   * access through a secondary MMU looks like a CPU access to reclaim).
   */
  follow_page: "mark-accessed" | "mkyoung";
  /**
   * The locks the reverse-map walks (`page_referenced`, `try_to_unmap`,
   * `page_mkclean`) hold while they visit each mapping: "spinlock" (2.6.24
   * to 2.6.27: `spin_lock(&anon_vma->lock)`, `spin_lock(&mapping->i_mmap_lock)`)
   * or "rwsem" (4.x: `anon_vma_lock_read()` is `down_read(&anon_vma->root->rwsem)`
   * and `i_mmap_lock_read()` is `down_read(&mapping->i_mmap_rwsem)`, v4.9
   * include/linux/rmap.h:125 and include/linux/fs.h:513), so that a callout
   * made after the PTE lock is dropped may sleep. The paths that change
   * what the locks protect (truncation, linking and unlinking a vma,
   * `mm_take_all_locks()`) hold the same spinlock, or the rwsem for write
   * (`i_mmap_lock_write()`, `anon_vma_lock_write()`, fs.h:503, rmap.h:115),
   * under which a callout may sleep too. The lock keeps its name either
   * way, so a walk still excludes a truncate that holds it. Under "rwsem",
   * `move_ptes()` takes no i_mmap lock: 4.x takes the rmap locks there only
   * when `copy_vma()` merged the new vma into a neighbour ('if
   * (need_rmap_locks) take_rmap_locks(vma);', v4.9 mm/mremap.c:133-134;
   * '*need_rmap_locks = false;' for a new vma, mm/mmap.c:3063), which the
   * model's mremap never does.
   */
  rmap_lock: "spinlock" | "rwsem";
  /**
   * What `do_anonymous_page()` maps on a read fault: "new-page" (2.6.24 to
   * 2.6.27: a private zeroed page, as on a write, made writable and dirty
   * when the vma is writable, `maybe_mkwrite(pte_mkdirty(entry), vma)`,
   * v2.6.24 mm/memory.c:2160-2170 and v2.6.27 2365-2379; the ZERO_PAGE was
   * taken out of the anonymous fault by "remove ZERO_PAGE", commit
   * 557ed1fa26, in 2.6.24) or "zero-page" (4.x: "Use the zero-page for
   * reads", the zero pfn read-only, v4.9 mm/memory.c:2772-2776).
   */
  anonymous_read: "new-page" | "zero-page";
  /**
   * When `do_wp_page()`'s copy takes the old page's reverse mapping off:
   * "remove-before-clear" (2.6.24: `page_remove_rmap(old_page, vma)` before
   * `ptep_clear_flush()` and `set_pte_at()`, v2.6.24 mm/memory.c:1640-1656)
   * or "remove-after-set" (from "mm: fix race in COW logic", commit
   * 945754a175, June 2008: after `set_pte_at()` and
   * `page_add_new_anon_rmap()`, "Only after switching the pte to the new page
   * may we remove the mapcount here", v2.6.27 mm/memory.c:1917). A callout
   * made between the pte's clear and its new value (where the revision puts
   * one) finds the old page's mapcount already down with the first.
   */
  cow_rmap: "remove-before-clear" | "remove-after-set";
  /**
   * What `page_referenced_one()` does in a VM_LOCKED vma: "untested"
   * (2.6.24: it does not look at VM_LOCKED; it clears and counts the young
   * bit as in any vma, v2.6.24 mm/rmap.c:287-288, and `try_to_unmap_one()`
   * fails on the vma later, after `add_to_swap()`) or "referenced" (from
   * "mm: don't waste swap on locked pages", commit 5a9bbdcd29, in
   * 2.6.25-rc1: 'if (vma->vm_flags & VM_LOCKED) { referenced++; *mapcount =
   * 1; ... }', "break early from loop": the young bit left alone and no
   * other vma looked at, v2.6.27 mm/rmap.c:292-296). In both,
   * `page_referenced_file()` counts a VM_LOCKED|VM_MAYSHARE vma as a
   * reference and stops before `page_referenced_one()` (v2.6.24
   * mm/rmap.c:368-372, v2.6.27 393-397).
   */
  referenced_locked: "untested" | "referenced";
  /**
   * When a page leaves the swap cache outside reclaim: "remove-exclusive"
   * (2.6.24 to 2.6.27: `remove_exclusive_swap_page()`, which takes the page
   * out only when the caller's and the cache's are its only references,
   * `page_count(page) != 2`, and no swap pte refers to the slot; a zapped
   * swap pte's `free_swap_and_cache()` when the lookup's and the cache's
   * are, `one_user = (page_count(page) == 2)`; `can_share_swap_page()` only
   * counts; v2.6.24 mm/swapfile.c:310-425) or "try-to-free" (4.x:
   * `try_to_free_swap()` takes out a page no swap pte refers to, whatever
   * holds it, and `free_swap_cache()` tries it on a page no pte maps,
   * `!page_mapped(page)`; `free_swap_and_cache()` takes out a page no pte
   * maps; `reuse_swap_page()`, which `do_wp_page()` and a write fault's
   * `do_swap_page()` call where 2.6 calls `can_share_swap_page()`, takes out
   * the page it lets the caller reuse; v4.9 mm/swap_state.c:242-248,
   * mm/swapfile.c:936-990 and 996-1030). `do_swap_page()`'s
   * `try_to_free_swap()` of a page in a VM_LOCKED vma (v4.9
   * mm/memory.c:2657-2659) is not modelled: a vma is VM_LOCKED from its
   * mmap (MAP_LOCKED) only, and reclaim never swaps out its pages.
   */
  swap_cache: "remove-exclusive" | "try-to-free";
  /**
   * What `do_wp_page()` does with an anonymous page whose lock another
   * thread holds: "trylock" (2.6.24 to 2.6.27: 'if
   * (!TestSetPageLocked(old_page)) { reuse = can_share_swap_page(old_page);
   * ...}', so the page is copied, v2.6.24 mm/memory.c:1564-1567, v2.6.27
   * 1792-1795) or "lock" (4.x: it takes a reference, drops the pte lock,
   * waits in `lock_page()`, relocks and returns 0 if the pte changed
   * meanwhile, and otherwise decides under the page lock, v4.9
   * mm/memory.c:2392-2405). It also says how a shared page it reuses is
   * dirtied after the pte lock is dropped: once the page lock is free
   * ("trylock": 'wait_on_page_locked(dirty_page);', v2.6.24
   * mm/memory.c:1684, v2.6.27 1944) or under it ("lock": 'lock_page(page);
   * dirtied = set_page_dirty(page);', v4.9 mm/memory.c:2102-2108).
   */
  wp_page_lock: "trylock" | "lock";
  /**
   * What a release does for a writer at the front of an rw semaphore's
   * queue: "grant" (2.6.24 to 2.6.27: `__rwsem_do_wake()` gives it the
   * semaphore before it wakes it, 'try to grant a single write lock if
   * there's a writer at the front of the queue', v2.6.24 lib/rwsem.c:71-86)
   * or "wake" (4.x: `__rwsem_mark_wake()` only wakes it, and 'Until the task
   * is actually later awoken later by the caller, other writers are able to
   * steal it. Readers, on the other hand, will block as they will notice the
   * queued writer.', v4.9 kernel/locking/rwsem-xadd.c:138-148; a writer
   * coming then takes the free semaphore, `rwsem_try_write_lock()` and
   * `rwsem_try_write_lock_unqueued()`, lines 273-318). Readers at the front
   * are granted it by the release in both.
   */
  rwsem_wake: "grant" | "wake";
  /**
   * How `unmap_vmas()` paces a long zap: "zap-block" (2.6.24 to 2.6.27: a
   * ZAP_BLOCK_SIZE budget, after which the gather is finished and, with the
   * i_mmap_lock contended, the walk stops so that `unmap_mapping_range()`
   * drops the lock and restarts, v2.6.24 mm/memory.c:808-870 and 1744-1790)
   * or "none" (4.x: `unmap_vmas()` zaps each vma whole, 'unmap_single_vma(tlb,
   * vma, start_addr, end_addr, NULL);', and `unmap_mapping_range()` holds
   * i_mmap_rwsem over its whole walk, v4.9 mm/memory.c:1366-1376 and
   * 2484-2509).
   */
  zap_break: "zap-block" | "none";
  /**
   * What `do_swap_page()` returns to `get_user_pages()` after a write fault:
   * "oom-only" (2.6.24: of the `do_wp_page()` it calls when it cannot reuse
   * the page, only VM_FAULT_OOM, 'if (do_wp_page(mm, vma, address,
   * page_table, pmd, ptl, pte) & VM_FAULT_OOM) ret = VM_FAULT_OOM;', v2.6.24
   * mm/memory.c:2128-2130), "or-wp" (from "memcg: when do_swap's do_wp_page
   * fails", commit 61469f1d51, 2.6.25-rc4: 'ret |= do_wp_page(mm, vma,
   * address, page_table, pmd, ptl, pte); if (ret & VM_FAULT_ERROR) ret &=
   * VM_FAULT_ERROR;', so `do_wp_page()`'s VM_FAULT_WRITE too, v2.6.27
   * mm/memory.c:2331-2335) or "reuse-or-wp" (4.x: that, and VM_FAULT_WRITE
   * when the write fault reuses the page it read in, 'if ((fe->flags &
   * FAULT_FLAG_WRITE) && reuse_swap_page(page, NULL)) { ... ret |=
   * VM_FAULT_WRITE;', v4.9 mm/memory.c:2636-2640 and 2674-2677).
   * `get_user_pages()` reads VM_FAULT_WRITE as "COW is broken" (see
   * {@link KernelVariants.gup_force}).
   */
  swap_write_result: "oom-only" | "or-wp" | "reuse-or-wp";
  /**
   * How `get_user_pages()` makes a forced write (FOLL_FORCE, as KVM's
   * `get_user_pages(..., write=1, force=1, ...)`): "cow-any" (2.6.24 to
   * 2.6.27: the vma needs VM_MAYWRITE only, 'vm_flags &= force ?
   * (VM_MAYREAD | VM_MAYWRITE) : (VM_READ | VM_WRITE);', so a shared vma
   * without VM_WRITE gets a private copy too; and once a fault returns
   * VM_FAULT_WRITE the lookups go on as reads, 'if (ret & VM_FAULT_WRITE)
   * foll_flags &= ~FOLL_WRITE;', v2.6.24 mm/memory.c:988 and 1091-1092,
   * v2.6.27 1146 and 1247-1248) or "foll-cow" (4.x: `check_vma_flags()`
   * refuses a forced write to a vma without VM_WRITE that is not a COW
   * mapping, 'if (!is_cow_mapping(vm_flags)) return -EFAULT;', v4.9
   * mm/gup.c:438-453; a fault that returns VM_FAULT_WRITE in a vma without
   * VM_WRITE sets FOLL_COW, 'if ((ret & VM_FAULT_WRITE) && !(vma->vm_flags &
   * VM_WRITE)) *flags |= FOLL_COW;', lines 424-425, and the lookups stay
   * writes, which a writable pte satisfies, or with FOLL_FORCE and FOLL_COW
   * a dirty one, `can_follow_write_pte()`, lines 67-71 and 108: the Dirty
   * COW fix, "mm: remove gup_flags FOLL_WRITE games from
   * __get_user_pages()", commit 19be0eaffa, 4.9-rc2). With "cow-any" a
   * lookup made as a read after the COW can find whatever a racing zap
   * and read fault left there, the file's own page included.
   */
  gup_force: "cow-any" | "foll-cow";
}

/** The variants of a revision that selects none: the 2.6.24 paths. */
export const DEFAULT_KERNEL_VARIANTS: Readonly<KernelVariants> = Object.freeze({
  follow_page: "mark-accessed",
  rmap_lock: "spinlock",
  anonymous_read: "new-page",
  cow_rmap: "remove-before-clear",
  referenced_locked: "untested",
  swap_cache: "remove-exclusive",
  wp_page_lock: "trylock",
  rwsem_wake: "grant",
  zap_break: "zap-block",
  swap_write_result: "oom-only",
  gup_force: "cow-any",
});

/** A revision's description of one kernel path. */
export interface PathConfig {
  /** Every callout the revision places in the path; those at one hook point are made in this order. */
  callouts: CalloutSpec[];
  /** Seed file, message and hunk the path's callouts come from, when one cite covers them all. */
  cite?: string;
}

/** Lock kinds the model distinguishes. */
export type LockKind =
  | "spin"
  | "spin-read"
  | "rwsem-read"
  | "rwsem-write"
  | "rcu"
  | "srcu"
  | "sleeping";

/** A lock held by a thread. */
export interface HeldLock {
  /** Lock name, e.g. `mmap_sem:<mm>`, `i_mmap_lock:<file>` or `ptl:<mm>:<table>`. */
  name: string;
  /** How it is held (spinlock, rwsem read/write, RCU read section, ...). */
  kind: LockKind;
}

/** A callout as the kernel issues it, before any notifier sees it. */
export interface CalloutEvent {
  /** Scenario step (0-based) during which the kernel made the call. */
  step: number;
  /** The calling thread. */
  thread: string;
  /** The kernel function making the call (a {@link HOOK_POINTS} path). */
  path: string;
  /** The hook point within `path`. */
  at: string;
  /** The callout as the revision's API names it (`mmu_notifier(invalidate_range_begin, ...)`, ...). */
  call: CalloutName;
  /** What the callout does, whatever the lineage calls it. */
  kind: CalloutKind;
  /** The `mm_struct` passed to the callout. */
  mm: string;
  /** The `[start, end)` passed to a range callout. */
  range?: [number, number];
  /** The `address` passed to a per-page or young callout. */
  address?: number;
  /** The page passed to the rmap notifier (EMMU V5 4/4). */
  pfn?: number;
  /** Value of the `atomic` argument, or null when the API passes none. */
  atomic: 0 | 1 | null;
  /** Locks held by the calling thread, outermost first. */
  locks: string[];
  /** Whether the caller holds a spinlock or is in an RCU read section. */
  inAtomic: boolean;
}

/** Where the kernel sends callouts: the notifier chain implements these paths. */
export interface CalloutSink {
  /** Dispatches one callout; returns the OR of every `young` answer. */
  readonly dispatchPath: PathRef<{ ev: CalloutEvent }>;
  /** `mmu_notifier_release()` or its revision's equivalent, at an exit hook. */
  readonly releasePath: PathRef<{ ev: CalloutEvent }>;
}

/** Something checkers observe, emitted synchronously so they see the state at that moment. */
export type Observation =
  | { type: "callout"; ev: CalloutEvent; listeners: string[] }
  | {
    type: "secondary-access";
    step: number;
    secondary: string;
    mm: string;
    addr: number;
    write: boolean;
    pfn: number;
  }
  | {
    type: "secondary-callback";
    step: number;
    secondary: string;
    call: CalloutName;
    sleeps: boolean;
    locks: string[];
    inAtomic: boolean;
  }
  | { type: "secondary-bug"; step: number; secondary: string; what: string }
  | { type: "release"; step: number; mm: string; notifier: string }
  | { type: "mm-exit"; step: number; mm: string; notifiers: string[] }
  /** `mmu_notifier_release()` reads the list it will take the notifiers off. */
  | { type: "release-walk"; step: number; mm: string; notifiers: string[] }
  | {
    type: "no-progress";
    step: number;
    thread: string;
    what: string;
    /** The secondary MMU whose driver gives up (a fault or a wait it retries). */
    secondary?: string;
  }
  | { type: "notifier-use"; step: number; thread: string; notifier: string; what: string }
  | { type: "list-walk"; step: number; thread: string; list: string; what: string }
  | {
    type: "syscall";
    /** Before the call (the state is the caller's) or after it returned. */
    phase: "enter" | "exit";
    step: number;
    thread: string;
    mm: string;
    /** The system call, e.g. `remap_file_pages`. */
    call: string;
    /** Its arguments as the user passed them. */
    args: Record<string, number | boolean | string>;
    /** Its return value (exit only): an address, 0 or a negative errno. */
    ret?: number;
  }
  | {
    type: "user-read";
    step: number;
    thread: string;
    mm: string;
    addr: number;
    result: ReadResult;
  };

/**
 * An mmu_gather: the pages a thread unmaps, whose last pte reference is
 * dropped at `tlb_finish_mmu`.
 */
export interface Gather {
  /** The mm being unmapped. */
  mm: string;
  /** Pfns gathered so far. */
  pages: number[];
  /** Whether the whole mm goes (`exit_mmap`): the flush is of the mm. */
  fullmm: boolean;
}

/** Allocation points a scenario can make fail. */
export const ALLOC_KINDS = ["pud", "pmd", "pte", "page", "anon_vma"] as const;
/** An allocation point. */
export type AllocKind = typeof ALLOC_KINDS[number];

/** Values in scope at a hook point. */
export interface HookScope {
  /** The mm the path works on. */
  mm: string;
  /** The address the path works on, for per-page callouts. */
  address?: number;
  /** The page the path works on, for the rmap notifier. */
  pfn?: number;
  /** Values of the range expressions the hook point declares, by name. */
  ranges?: Record<string, [number, number]>;
  /** Values of the conditions the hook point declares, by name. */
  guards?: Record<string, boolean>;
  /** Values of the `atomic` argument expressions the hook point declares, by name. */
  exprs?: Record<string, 0 | 1>;
}

/** Raised when a thread would wait for a lock it already holds (self-deadlock). */
export class KernelDeadlock extends Error {
  /**
   * Records a thread waiting for a lock it holds itself.
   *
   * @param lock The lock the thread waits for.
   * @param thread The thread that already holds it.
   */
  constructor(readonly lock: string, readonly thread: string) {
    super(`Thread ${thread} waits for ${lock}, which it holds`);
    this.name = "KernelDeadlock";
  }
}

/** A BUG() in a kernel path or a driver: the thread stops there. */
export class KernelBug extends Error {
  /**
   * Records a BUG() hit in a kernel path or driver.
   *
   * @param where The kernel function (or `path:point`) that hit the BUG().
   * @param what What went wrong.
   */
  constructor(readonly where: string, readonly what: string) {
    super(`BUG at ${where}: ${what}`);
    this.name = "KernelBug";
  }
}

/** What a run's kernel context is made of; fixed for the run. */
export interface KernelConfig {
  /** The primary MMU state the paths work on. */
  state: MmState;
  /** The revision's callout placements, by kernel path. */
  paths: Readonly<Record<string, PathConfig>>;
  /** Where callouts go: the notifier chain. */
  sink: CalloutSink;
  /** Make every lock acquisition a scheduling point (exhaustive exploration). Default false. */
  preemptive?: boolean;
  /** Named variants of kernel paths the revision selects. Default: 2.6.24's (`mark-accessed`). */
  variants?: KernelVariants;
  /** The 2.5.42 nonlinear-mapping behaviour of the revision, for a 2.5.42 revision. */
  nonlinear?: NonlinearConfig;
  /** Called synchronously on every observation (the run: its trace and its checkers). */
  observer?: { observe(o: Observation): void };
}

/** The context every kernel path runs in. */
export class Kernel {
  /** The primary MMU state the paths work on. */
  readonly state: MmState;
  /** The revision's callout placements, by kernel path. */
  readonly paths: Readonly<Record<string, PathConfig>>;
  /** Where callouts go: the notifier chain. */
  readonly sink: CalloutSink;
  /** When set, every lock acquisition is a scheduling point (exhaustive exploration). */
  readonly preemptive: boolean;
  /** Named variants of kernel paths the revision selects. */
  readonly variants: KernelVariants;
  /** The 2.5.42 nonlinear-mapping behaviour of the revision, for a 2.5.42 revision. */
  readonly nonlinear?: NonlinearConfig;
  /** The observer (the run: its trace and its checkers), called synchronously on every observation. */
  readonly observer?: { observe(o: Observation): void };
  /** Locks held exclusively, by name: who holds each. */
  readonly owners: Record<string, { thread: string; kind: LockKind }> = dict();
  /**
   * Read locks (`rwsem-read`, `spin-read`) by name: how many holds each
   * thread has. A lock's record stays when its last reader leaves (empty:
   * the memo key leaves an empty one out, as if it were not there). RCU and
   * SRCU read sections keep no one out and are in {@link held} alone.
   */
  readonly sharers: Record<string, Record<string, number>> = dict();
  /** Locks per thread, in acquisition order (keyed by thread names, which a scenario chooses). */
  readonly held: Record<string, HeldLock[]> = dict();
  /**
   * Each thread's mmu_gather while it unmaps: the per-CPU `mmu_gathers` of
   * v2.6.27 include/asm-generic/tlb.h:48, which `tlb_gather_mmu()` takes
   * ('&get_cpu_var(mmu_gathers)', line 56) and `unmap_vmas()` fills through
   * its caller's pointer (`struct mmu_gather **tlbp`).
   */
  readonly gathers: Record<string, Gather> = dict();
  /**
   * Each rw semaphore's wait queue, by lock name: the threads that could not
   * take it, in the order they came, each with how it waits. A waiter goes
   * to the tail (v2.6.24 lib/rwsem.c:163, `list_add_tail()` in
   * `rwsem_down_failed_common()`), and leaves it when it takes the lock;
   * a lock's queue is absent while no one waits.
   */
  readonly queued: Record<string, { thread: string; kind: "rwsem-read" | "rwsem-write" }[]> =
    dict();
  /** Current scenario step, for trace and violations. */
  step = 0;
  /** Kernel functions the 2.5.42 paths have run (see {@link Kernel.enter}). */
  readonly ran: Set<string> = new Set();
  /** Allocation ordinals (1-based, per kind, counted within a step) that fail. */
  failPlan: Partial<Record<AllocKind, number[]>> = {};
  private allocSeen: Partial<Record<AllocKind, number>> = {};
  /** Allocations made to fail so far, for the outcome. */
  readonly failedAllocs: { step: number; kind: AllocKind; path: string }[] = [];

  /**
   * Creates the context of one run, with no lock held.
   *
   * @param config The state, the revision's paths and variants, the sink and the observer.
   */
  constructor(config: KernelConfig) {
    this.state = config.state;
    this.paths = config.paths;
    this.sink = config.sink;
    this.preemptive = config.preemptive ?? false;
    this.variants = config.variants ?? DEFAULT_KERNEL_VARIANTS;
    this.nonlinear = config.nonlinear;
    this.observer = config.observer;
  }

  /** Starts a new scenario step with its allocation-failure plan. */
  beginStep(step: number, failPlan: Partial<Record<AllocKind, number[]>> = {}): void {
    this.step = step;
    this.failPlan = failPlan;
    this.allocSeen = {};
  }

  /**
   * Records that a secondary MMU's callback runs on `thread` now, and whether
   * it sleeps, for the sleep-in-atomic checker.
   */
  noteCallback(thread: string, secondary: string, call: CalloutName, sleeps: boolean): void {
    this.emit({
      type: "secondary-callback",
      step: this.step,
      secondary,
      call,
      sleeps,
      locks: this.locksOf(thread).map((l) => l.name),
      inAtomic: this.inAtomic(thread),
    });
  }

  /** Records an access a secondary MMU makes through its translation of `addr` to `pfn`. */
  noteAccess(secondary: string, mm: string, addr: number, write: boolean, pfn: number): void {
    this.emit({ type: "secondary-access", step: this.step, secondary, mm, addr, write, pfn });
  }

  /** Records that a modelled kernel function runs, for the outcome's `paths`. */
  enter(fn: string): void {
    this.ran.add(fn);
  }

  /** Hands an observation to the observer. */
  emit(o: Observation): void {
    this.observer?.observe(o);
  }

  /** How many allocations of each kind the current step has made (a `fail` past them is never reached). */
  allocationsMade(): Partial<Record<AllocKind, number>> {
    return { ...this.allocSeen };
  }

  /** Whether the allocation about to be made at `kind` succeeds. */
  alloc(kind: AllocKind, path: string): boolean {
    const n = (this.allocSeen[kind] ?? 0) + 1;
    this.allocSeen[kind] = n;
    if (this.failPlan[kind]?.includes(n)) {
      this.failedAllocs.push({ step: this.step, kind, path });
      return false;
    }
    return true;
  }

  /** Locks held by a thread, outermost first. */
  locksOf(thread: string): HeldLock[] {
    return this.held[thread] ?? (this.held[thread] = []);
  }

  /** Whether a thread runs in atomic context (spinlock or RCU read section). */
  inAtomic(thread: string): boolean {
    return this.locksOf(thread).some((l) =>
      l.kind === "spin" || l.kind === "spin-read" || l.kind === "rcu"
    );
  }

  /** Whether a thread holds a spinlock. */
  holdsSpin(thread: string): boolean {
    return this.locksOf(thread).some((l) => l.kind === "spin" || l.kind === "spin-read");
  }

  /**
   * Records that `thread` now holds `name` (the lock is free or shareable).
   * An exclusive holder is in {@link owners}; a reader is in {@link sharers}
   * under its own name, so that two readers taking or dropping a lock touch
   * nothing of each other's (as `down_read()` only adds to the count:
   * `__down_read()`, v2.6.27 include/asm-x86/rwsem.h:105, a locked `incl`).
   */
  acquire(thread: string, name: string, kind: LockKind): void {
    const queue = this.queued[name];
    if (queue) {
      const i = queue.findIndex((w) => w.thread === thread);
      if (i >= 0) queue.splice(i, 1);
      if (queue.length === 0) delete this.queued[name];
    }
    if (kind === "spin-read" || kind === "rwsem-read") {
      const r = this.sharers[name] ?? (this.sharers[name] = dict());
      r[thread] = (r[thread] ?? 0) + 1;
    } else if (kind !== "rcu" && kind !== "srcu") this.owners[name] = { thread, kind };
    this.locksOf(thread).push({ name, kind });
  }

  /**
   * Whether `thread` can take a lock in `kind` now: no one holds it
   * exclusively, and for an exclusive hold no one holds it shared either (an
   * RCU or SRCU read section never waits).
   *
   * An rw semaphore also keeps the order of its {@link queued} waiters, as
   * v2.6.24's does. Its count is negative while a writer holds it or anyone
   * waits (a waiter leaves `RWSEM_WAITING_BIAS` in it, lib/rwsem.c:166 and
   * 197), and `__down_read()` then goes to `rwsem_down_read_failed()`
   * (include/asm-x86/rwsem.h:97-103): a reader that comes while a writer
   * waits queues behind it, even when only readers hold the lock, so a
   * reader that takes it again then deadlocks. `__down_write()` takes it
   * only from a count of 0 (lines 137-147). A release hands the lock to the
   * front of the queue (`__rwsem_do_wake()`, lib/rwsem.c:75 and 101-112): a
   * writer alone, or every reader up to the first writer. So a thread not
   * queued takes the semaphore only while no one waits; a queued writer
   * when it is at the front; a queued reader when no writer is ahead of it.
   * The 2.5.42 tree's semaphores follow the same rule (its lib/rwsem.c is
   * not among the trees checked). Under `kernel.rwsem_wake` "wake" (4.x),
   * a release only wakes a writer at the front, and a writer not queued
   * takes the free semaphore ahead of it.
   */
  canTake(name: string, kind: LockKind, thread: string): boolean {
    if (kind === "rcu" || kind === "srcu") return true;
    if (this.owners[name]) return false;
    if (kind === "rwsem-read" || kind === "rwsem-write") {
      const queue = this.queued[name];
      if (queue) {
        const i = queue.findIndex((w) => w.thread === thread);
        const steals = kind === "rwsem-write" && this.variants.rwsem_wake === "wake" &&
          queue[0].kind === "rwsem-write";
        if (i < 0 && !steals) return false;
        if (kind === "rwsem-read") return !queue.some((w, j) => j < i && w.kind === "rwsem-write");
        if (i > 0) return false;
      }
    }
    if (kind === "spin-read" || kind === "rwsem-read") return true;
    for (const _ in this.sharers[name]) return false;
    return true;
  }

  /** Releases a lock taken with {@link lock}. */
  unlock(thread: string, name: string): void {
    const list = this.locksOf(thread);
    const i = list.findLastIndex((l) => l.name === name);
    if (i < 0) throw new KernelBug("unlock", `${thread} releases ${name}, which it does not hold`);
    const [{ kind }] = list.splice(i, 1);
    if (kind === "spin-read" || kind === "rwsem-read") {
      const r = this.sharers[name];
      if (--r[thread] === 0) delete r[thread];
    } else if (kind !== "rcu" && kind !== "srcu") delete this.owners[name];
  }

  /**
   * `downgrade_write()`: `thread`'s write hold of rw semaphore `name` becomes
   * a read hold in one atomic step (v2.6.24 include/asm-x86/rwsem.h:212-224,
   * one locked `addl`), so no writer can take the semaphore in between; the
   * readers queued at the front may then take it with it.
   */
  downgrade(thread: string, name: string): void {
    this.unlock(thread, name);
    this.acquire(thread, name, "rwsem-read");
  }

  /** Whether a thread holds a lock. */
  holds(thread: string, name: string): boolean {
    return this.locksOf(thread).some((l) => l.name === name);
  }

  /** Builds the callout event for one spec at a hook point. */
  event(thread: string, path: string, spec: CalloutSpec, scope: HookScope): CalloutEvent {
    const kind = CALLOUT_KIND[spec.call];
    let range: [number, number] | undefined;
    if (spec.range !== undefined) {
      range = scope.ranges?.[spec.range];
      if (!range) {
        throw new KernelBug(`${path}:${spec.at}`, `range "${spec.range}" is not in scope`);
      }
    }
    let atomic: 0 | 1 | null = null;
    if (typeof spec.atomic === "number") atomic = spec.atomic;
    else if (typeof spec.atomic === "string") atomic = scope.exprs?.[spec.atomic] ?? 0;
    return {
      step: this.step,
      thread,
      path,
      at: spec.at,
      call: spec.call,
      kind,
      mm: scope.mm,
      range,
      address: kind === "page" || kind === "young" ? scope.address : undefined,
      pfn: kind === "rmap" ? scope.pfn : undefined,
      atomic,
      locks: this.locksOf(thread).map((l) => l.name),
      inAtomic: this.inAtomic(thread),
    };
  }
}

/**
 * Takes a lock, waiting while another thread holds it incompatibly. With
 * `preemptive` set, taking it is a scheduling point (`lock <name>`); waiting
 * is one (`wait <name>`) whatever the schedule.
 */
const LOCK = defPath<{ name: string; kind: LockKind }, Record<never, never>, Kernel>("lock", {
  entry(k, f) {
    // srcu_read_lock never waits and is not atomic: it adds no point where the order matters.
    if (k.preemptive && f.v.kind !== "srcu") return point(`lock ${f.v.name}`, "try");
    return go("try");
  },
  try(k, f) {
    const { name, kind } = f.v;
    if (k.canTake(name, kind, f.th)) {
      k.acquire(f.th, name, kind);
      return ret();
    }
    // Not owners[name]: a shared hold is not there.
    if (k.holds(f.th, name)) throw new KernelDeadlock(name, f.th);
    if (kind === "rwsem-read" || kind === "rwsem-write") {
      const queue = k.queued[name] ?? (k.queued[name] = []);
      if (!queue.some((w) => w.thread === f.th)) queue.push({ thread: f.th, kind });
    }
    return point(`wait ${name}`, "try", { blockedOn: name, blockedKind: kind });
  },
});

/** Takes lock `name` in `kind` (see {@link LOCK}), then goes on at step `to`. */
export function lock(name: string, kind: LockKind, to: string): Next {
  return call(LOCK, { name, kind }, to);
}

/**
 * A hook point: dispatches every callout the revision places at `path`/`at`
 * whose guard holds, in order. Returns the OR of the `young` answers.
 */
const HOOK = defPath<
  { path: string; at: string; scope: HookScope },
  { i?: number; young?: boolean; answer?: boolean },
  Kernel
>("hook", {
  entry(k, f) {
    const callouts = k.paths[f.v.path]?.callouts ?? [];
    for (let i = f.v.i ?? 0; i < callouts.length; i++) {
      const spec = callouts[i];
      if (spec.at !== f.v.at) continue;
      const guards = f.v.scope.guards;
      if (spec.guard !== undefined && !guards?.[spec.guard]) continue;
      if (spec.unless !== undefined && guards?.[spec.unless]) continue;
      f.v.i = i + 1;
      const ev = k.event(f.th, f.v.path, spec, f.v.scope);
      if (ev.kind === "release") return call(k.sink.releasePath, { ev }, "entry");
      f.v.answer = false;
      return call(k.sink.dispatchPath, { ev }, spec.discard ? "entry" : "answered", "answer");
    }
    return ret(f.v.young ?? false);
  },
  answered(_k, f) {
    if (f.v.answer) f.v.young = true;
    return go("entry");
  },
});

/**
 * Dispatches the callouts at hook point `at` of kernel path `path` (see
 * {@link HOOK}), then goes on at step `to` with the OR of the young answers in
 * `v[into]` when `into` is given.
 */
export function hook(path: string, at: string, scope: HookScope, to: string, into?: string): Next {
  return call(HOOK, { path, at, scope }, to, into);
}

/** Describes a callout event in one line, as traces print it. */
export function describeCallout(ev: CalloutEvent): string {
  const where = ev.range
    ? hexRange(ev.range)
    : ev.address !== undefined
    ? ev.address.toString(16)
    : "";
  return `${ev.call}(${where}${ev.atomic === null ? "" : `, atomic=${ev.atomic}`})`;
}
