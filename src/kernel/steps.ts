/**
 * Kernel paths as data: a path is a table of atomic steps, and a thread's
 * continuation is a stack of frames (which path, which step, which values),
 * plain data that the explorer copies and hashes.
 *
 * A step is an ordinary function of the kernel and its frame. It runs to the
 * end without interruption and returns what happens next: go on at another
 * step ({@link go}), stop at a scheduling point where another thread may run
 * ({@link point}), call another path ({@link call}) or return
 * ({@link ret}). A value a path keeps from one step to the next lives in its
 * frame's `v`; a JavaScript local dies when its step returns. So nothing that
 * decides a thread's future can hide from the explorer: the design, not a
 * declaration, makes the state complete.
 *
 * Frames hold values, never objects of the world: a path names an mm by id,
 * a vma by its start address, a page by pfn, a secondary by id, and looks
 * them up in each step. Objects a frame holds (a callout event, a list it
 * copied) are its own.
 *
 * @module
 */

import { cowValue } from "../model/_cow.ts";

/** The values a frame keeps across steps. */
export type Vars = Record<string, unknown>;

/** One activation of a path: the path, the step it resumes at, its thread and its values. */
export interface Frame<V = Vars> {
  /** Name of the path (see {@link defPath}). */
  fn: string;
  /** The step it resumes at. */
  at: string;
  /** The thread it runs on. */
  th: string;
  /** Its values. */
  v: V;
  /** Where the caller wants the return value (a key of the caller's `v`). */
  into?: string;
}

/** What a scheduling point says about the thread stopped there. */
export interface PointInfo {
  /** Where it stops: a lock it takes or waits for, or a named point in a kernel function (`during.at` matches it). */
  label: string;
  /** Set when the thread cannot go on until another one releases this lock. */
  blockedOn?: string;
  /** The lock kind it waits to take, with `blockedOn`. */
  blockedKind?: string;
  /** Set when the thread only retries: others run first, it runs when nobody else can. */
  wait?: boolean;
}

/** What a step returns: where its thread goes next. */
export type Next =
  | { k: "go"; to: string }
  | { k: "point"; to: string; point: PointInfo }
  | { k: "call"; fn: string; args: Vars; to: string; into?: string }
  | { k: "ret"; value: unknown };

/** A step: runs atomically on the kernel `K` with its frame. */
export type StepFn<K, V> = (k: K, f: Frame<V>) => Next;

/** A typed handle of a path, for {@link call}. `A` is what a caller passes. */
export interface PathRef<A extends Vars> {
  /** Name of the path. */
  readonly name: string;
  /** Phantom: the arguments' type. */
  readonly _args?: A;
}

// deno-lint-ignore no-explicit-any
type AnyStep = StepFn<any, any>;
const PATHS = new Map<string, Record<string, AnyStep>>();

/**
 * Declares a path: `steps.entry` runs first. `A` is the arguments a caller
 * passes, `L` the values the path adds to its frame along the way.
 *
 * @param name Unique path name, the kernel function's (`do_wp_page`, `kvm.callback`).
 * @param steps The steps, by label.
 * @returns A handle to call it with.
 *
 * @example
 * ```ts
 * import { call, defPath, go, ret } from "./steps.ts";
 * const twice = defPath<{ n: number }, { r?: number }, unknown>("doc.twice", {
 *   entry: (_k, f) => ret(f.v.n * 2),
 * });
 * const outer = defPath<{ n: number }, { r?: number }, unknown>("doc.outer", {
 *   entry: (_k, f) => call(twice, { n: f.v.n }, "done", "r"),
 *   done: (_k, f) => f.v.r! > 2 ? ret(f.v.r) : go("entry"),
 * });
 * console.log(outer.name);
 * ```
 */
export function defPath<A extends Vars, L extends Vars, K>(
  name: string,
  steps: { entry: StepFn<K, A & L> } & Record<string, StepFn<K, A & L>>,
): PathRef<A> {
  if (PATHS.has(name)) throw new Error(`Path "${name}" is defined twice`);
  PATHS.set(name, steps as Record<string, AnyStep>);
  return { name };
}

/**
 * The names of every path declared so far with {@link defPath}, sorted. A
 * path is declared when its module is loaded, so import the modules whose
 * paths you want listed (`mod.ts` loads them all) before calling it.
 *
 * @returns A fresh sorted array; changing it changes nothing here.
 *
 * @example
 * ```ts
 * import { defPath, pathNames, ret } from "./steps.ts";
 * defPath<Record<never, never>, Record<never, never>, unknown>("doc.listed", {
 *   entry: () => ret(),
 * });
 * console.log(pathNames().includes("doc.listed")); // true
 * ```
 */
export function pathNames(): readonly string[] {
  return [...PATHS.keys()].sort();
}

/** Goes on at step `to` without a scheduling point. */
export function go(to: string): Next {
  return { k: "go", to };
}

/** Stops at a scheduling point; the thread resumes at step `to`. */
export function point(label: string, to: string, info: Omit<PointInfo, "label"> = {}): Next {
  return { k: "point", to, point: { label, ...info } };
}

/**
 * Calls `path` with `args`; when it returns, the caller resumes at `to`, with
 * the return value in `v[into]` when `into` is given.
 */
export function call<A extends Vars>(path: PathRef<A>, args: A, to: string, into?: string): Next {
  return { k: "call", fn: path.name, args, to, into };
}

/** Returns from the path, with `value` for the caller. */
export function ret(value?: unknown): Next {
  return { k: "ret", value };
}

/** A thread: its name and its continuation (a stack of frames, innermost last). */
export interface ThreadState {
  /** Thread name. */
  name: string;
  /** Frames, outermost first; empty once it returned. */
  stack: Frame[];
  /** Whether it returned. */
  done: boolean;
  /** Its return value, once done. */
  result?: unknown;
  /** The scheduling point it stopped at last (none once done). */
  last?: PointInfo;
  /** Scheduling points passed in the current scenario step. */
  points: number;
}

/** Starts a thread that runs `path` with `args`. */
export function startThread<A extends Vars>(name: string, path: PathRef<A>, args: A): ThreadState {
  return {
    name,
    stack: cowValue([{ fn: path.name, at: "entry", th: name, v: { ...args } }]),
    done: false,
    points: 0,
  };
}

/**
 * The innermost frame of `t`, ready to be written: a copy of the explorer
 * shares a thread's stack and frames frozen (see `model/_cow.ts`), so the
 * stack and the frame are replaced by copies first (the objects the frame
 * holds stay shared and frozen).
 */
function writableTop(t: ThreadState): Frame {
  if (Object.isFrozen(t.stack)) t.stack = cowValue([...t.stack]);
  const i = t.stack.length - 1;
  const f = t.stack[i];
  if (!Object.isFrozen(f)) return f;
  return t.stack[i] = { ...f, v: { ...f.v } };
}

/** Steps a thread may take between two scheduling points before it is a bug in a path. */
const STEPS_PER_SEGMENT = 10_000_000;

/**
 * Runs a thread's steps until it stops at a scheduling point (recorded in
 * `t.last`) or returns (`t.done`, `t.result`). Exceptions from a step (a
 * BUG(), a deadlock) propagate; the frames stay where they were.
 *
 * @param k The kernel passed to every step.
 * @param t The thread.
 * @returns The point it stopped at, or null when it returned.
 */
export function advance<K>(k: K, t: ThreadState): PointInfo | null {
  for (let n = 0; n < STEPS_PER_SEGMENT; n++) {
    const f = writableTop(t);
    const steps = PATHS.get(f.fn);
    const step = steps?.[f.at];
    if (!step) throw new Error(`Path "${f.fn}" has no step "${f.at}"`);
    const next = step(k, f);
    switch (next.k) {
      case "go":
        f.at = next.to;
        break;
      case "point":
        f.at = next.to;
        t.last = next.point;
        t.points++;
        return next.point;
      case "call":
        f.at = next.to;
        t.stack.push({ fn: next.fn, at: "entry", th: f.th, v: { ...next.args }, into: next.into });
        break;
      case "ret": {
        t.stack.pop();
        const caller = t.stack[t.stack.length - 1];
        if (!caller) {
          t.done = true;
          t.result = next.value;
          t.last = undefined;
          return null;
        }
        if (f.into !== undefined) writableTop(t).v[f.into] = next.value;
        break;
      }
    }
  }
  throw new Error(`Path "${t.stack[t.stack.length - 1].fn}" runs on without a scheduling point`);
}

/**
 * Runs `path` to its end on thread `th`, as one atomic piece (for a caller
 * outside any schedule, e.g. a checker or a set-up step). Throws when the
 * path reaches a scheduling point where it would block.
 *
 * @param k The kernel passed to every step.
 * @param th The thread name.
 * @param path The path.
 * @param args Its arguments.
 * @returns What the path returned.
 */
export function runToEnd<K, A extends Vars>(k: K, th: string, path: PathRef<A>, args: A): unknown {
  const t = startThread(th, path, args);
  for (;;) {
    const p = advance(k, t);
    if (!p) return t.result;
    if (p.blockedOn) throw new Error(`Path "${path.name}" blocks on ${p.blockedOn}`);
  }
}
