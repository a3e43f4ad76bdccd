/**
 * Footprints: the places one step of a thread reads and writes, recorded by
 * running the step through views of the run. A partial-order reduction may
 * treat two steps as independent only where neither writes a place the
 * other reads or writes, so it needs both sets, and sound only if nothing
 * the step touches escapes them: here nothing declares what a step touches.
 * The step runs as {@link Run.pick} runs it, with the run replaced by a
 * proxy, and every object it reaches through the run comes back as a proxy
 * too, which logs each read (a value, a key list, whether a key is there)
 * and each write before passing it on.
 *
 * A place is named by its path from the run (`run.kernel.state.mms.A.ptes.256`,
 * `run.kernel.owners.mmap_sem:A.count`), so that the same place has the same
 * name in every state: each object that exists when the step starts is named
 * by its shortest path from the run (breadth first, fields in order; a
 * thread's record by the thread's name, `run.cur.threads.cpu0`, as a
 * `during` thread's start shifts the others' indexes), and one made during
 * the step is named by where it is stored. The key list of
 * an object (what `Object.keys`, `for ... in`, an array's length or a Set's
 * size read, and adding or removing a key writes) is the place
 * `<path>.#keys`; an element of a Set is `<path>.{<element>}`.
 *
 * Left out, as the memo key leaves them out: the run's immutable inputs
 * (scenario, revision, options, checker definitions), frozen values (a
 * pte, a struct page, a frozen stack: the place that holds one is what is
 * read or written), and the history of {@link Run.history} (what no step
 * reads). Copy-on-write: replacing a frozen container by its copy (`thaw()`
 * in `model/_cow.ts`, before the first write after a copy of the run), or
 * putting an object back where it is, writes nothing; the writes into the
 * copy are logged at their keys.
 *
 * Nothing is pruned here: the footprints are measured (`bench/explore_commute.ts`)
 * and tested (`tests/footprint_test.ts`: a step runs the same with and
 * without views, and two steps whose footprints are independent reach the
 * same state in either order).
 *
 * @module
 */
import type { Run } from "../run/runner.ts";
import { shareOnCopy, VIEWS } from "../model/_cow.ts";

/** What one step read and wrote, by place. */
export interface Footprint {
  /** Places read. */
  reads: Set<string>;
  /** Places written. */
  writes: Set<string>;
  /**
   * Objects that more than one path from the run reaches when the step
   * starts, each as `<its name> = <another path>`, sorted: the naming is the
   * same in every state only while this list is (the model's own aliases are
   * the kernel's observer, which is the run, and its callout sink, which is
   * the chain).
   */
  aliases: string[];
}

/** Whether two footprints are independent: neither writes a place the other reads or writes. */
export function independent(a: Footprint, b: Footprint): boolean {
  for (const w of a.writes) if (b.reads.has(w) || b.writes.has(w)) return false;
  for (const w of b.writes) if (a.reads.has(w)) return false;
  return true;
}

/** The name of the key list of the object at `path`. */
function keysOf(path: string): string {
  return `${path}.#keys`;
}

/** The place of key `k` of `t` at `path`: an array's length is its key list. */
function placeOf(t: object, path: string, k: string): string {
  return Array.isArray(t) && k === "length" ? keysOf(path) : `${path}.${k}`;
}

/**
 * Every object a step could write that exists now, named by its shortest
 * path from the run (breadth first, fields in order), and the aliases met.
 */
function namesOf(
  run: Run,
  shared: ReadonlyMap<object, number>,
  omit: ReadonlyMap<object, ReadonlySet<string>>,
): { names: Map<object, string>; aliases: string[] } {
  const names = new Map<object, string>([[run, "run"]]);
  const aliases: string[] = [];
  const todo: [object, string][] = [[run, "run"]];
  for (let i = 0; i < todo.length; i++) {
    const [o, path] = todo[i];
    if (shareOnCopy(o) || o instanceof Set || o instanceof Map) continue;
    const skip = omit.get(o);
    const rec = o as Record<string, unknown>;
    for (const k in rec) {
      if (skip?.has(k)) continue;
      const x = rec[k];
      if (x === null || typeof x !== "object" || shared.has(x)) continue;
      if (Object.isFrozen(x) && !shareOnCopy(x)) continue;
      const known = names.get(x);
      if (known !== undefined) {
        aliases.push(`${known} = ${path}.${k}`);
        continue;
      }
      // A thread's record by its name, not by its index, which a `during` thread's start shifts.
      const name = path === "run.cur.threads"
        ? `${path}.${(x as { name: string }).name}`
        : `${path}.${k}`;
      names.set(x, name);
      todo.push([x, name]);
    }
  }
  return { names, aliases: aliases.sort() };
}

/**
 * Runs thread `name` of `run` to its next scheduling point, as
 * `run.pick(name)` does, through recording views, and returns what it read
 * and wrote. The run ends in the same state as after `run.pick(name)`.
 *
 * @param run A run at a choice point where `name` can run.
 * @param name The thread.
 * @param shared The run's immutable inputs (as the explorer numbers them): never recorded.
 * @returns The step's footprint.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario, Run } from "../../mod.ts";
 * import { reachable } from "./_graph.ts";
 * import { pickRecorded } from "./_footprint.ts";
 * const rev = loadRevisionDir("patches").find((r) => r.id === "emmu-v2")!;
 * const run = new Run(loadScenario("scenarios/race-unregister-dispatch.json"), rev, {
 *   preemptive: true,
 *   trace: false,
 * });
 * const names = run.next()!;
 * const fp = pickRecorded(run, names[0], reachable(run.scenario, rev, run.opts, run.checkers));
 * console.log([...fp.writes]);
 * ```
 */
export function pickRecorded(
  run: Run,
  name: string,
  shared: ReadonlyMap<object, number>,
): Footprint {
  const reads = new Set<string>();
  const writes = new Set<string>();
  const { omit } = run.history(false);
  const { names, aliases } = namesOf(run, shared, omit);
  const views = new Map<object, object>();
  const targets = new Map<object, object>();
  /** Objects made by the step: not viewed (their place was written when they were stored). */
  const fresh = new WeakSet<object>();
  /** A container's copy, made by `thaw()`, and the frozen container it replaces. */
  const copies = new WeakMap<object, object>();
  /** Frozen values already checked for views inside. */
  const checked = new WeakSet<object>();

  const show = (v: unknown, path: string): unknown => {
    if (v === null || typeof v !== "object" || shared.has(v) || fresh.has(v)) return v;
    if (Object.isFrozen(v) && !shareOnCopy(v)) return v;
    return viewOf(v, names.get(v) ?? path);
  };

  /** Replaces every view in `v`, an object the step is storing, by the object it shows. */
  const unwrap = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    const t = targets.get(v);
    if (t) return t;
    if (shared.has(v) || names.has(v) || fresh.has(v) || checked.has(v)) return v;
    if (Object.isFrozen(v)) {
      checked.add(v);
      for (const x of Object.values(v)) {
        if (x !== null && typeof x === "object" && (targets.has(x) || unwrap(x) !== x)) {
          throw new Error("A view of the run was stored in a frozen value");
        }
      }
      return v;
    }
    fresh.add(v);
    if (v instanceof Set || v instanceof Map) return v;
    const rec = v as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      const x = rec[k];
      const y = unwrap(x);
      if (y !== x) rec[k] = y;
    }
    return v;
  };

  const collection = (
    t: Set<unknown> | Map<unknown, unknown>,
    path: string,
    view: () => object,
  ) => {
    const elem = (x: unknown) =>
      typeof x === "string" || typeof x === "number" ? `${path}.{${x}}` : keysOf(path);
    return (k: string | symbol): unknown => {
      switch (k) {
        case "has":
          return (x: unknown) => (reads.add(elem(x)), t.has(x));
        case "get":
          return (
            x: unknown,
          ) => (reads.add(elem(x)), show((t as Map<unknown, unknown>).get(x), elem(x)));
        case "add":
        case "set":
        case "delete":
          return (x: unknown, value?: unknown) => {
            reads.add(elem(x));
            writes.add(elem(x));
            writes.add(keysOf(path));
            if (k === "delete") return t.delete(x);
            if (t instanceof Set) t.add(unwrap(x));
            else t.set(unwrap(x), unwrap(value));
            return view();
          };
        case "clear":
          return () => (writes.add(keysOf(path)), t.clear());
        default: {
          reads.add(keysOf(path));
          const v = Reflect.get(t, k, t);
          return typeof v === "function" ? v.bind(t) : v;
        }
      }
    };
  };

  const viewOf = (t: object, path: string): object => {
    const known = views.get(t);
    if (known) return known;
    const skip = omit.get(t);
    let view: object = t;
    const onCollection = t instanceof Set || t instanceof Map
      ? collection(t, path, () => view)
      : null;
    const handler: ProxyHandler<Record<string | symbol, unknown>> = {
      get(o, k, receiver) {
        if (onCollection) return onCollection(k);
        if (typeof k === "symbol" || skip?.has(k)) return Reflect.get(o, k, receiver);
        const v = Reflect.get(o, k, receiver);
        if (typeof v === "function") return v;
        reads.add(placeOf(o, path, k));
        return show(v, `${path}.${k}`);
      },
      set(o, k, v) {
        const value = unwrap(v);
        if (typeof k === "symbol" || skip?.has(k)) return Reflect.set(o, k, value);
        const had = Object.prototype.hasOwnProperty.call(o, k);
        const place = placeOf(o, path, k);
        // The object named after this place put back (`mm.ptes = thaw(mm.ptes)`), or the copy
        // `thaw()` made of it: the place shows the same values after as before.
        const same = had && value !== null && typeof value === "object" &&
          names.get(value) === place && (o[k] === value || copies.get(value) === o[k]);
        if (!same) {
          writes.add(place);
          if (!had) writes.add(keysOf(path));
        }
        return Reflect.set(o, k, value);
      },
      has(o, k) {
        if (typeof k !== "symbol" && !skip?.has(k)) reads.add(placeOf(o, path, k));
        return Reflect.has(o, k);
      },
      ownKeys(o) {
        reads.add(keysOf(path));
        return Reflect.ownKeys(o);
      },
      getOwnPropertyDescriptor(o, k) {
        if (typeof k !== "symbol" && !skip?.has(k)) reads.add(placeOf(o, path, k));
        return Reflect.getOwnPropertyDescriptor(o, k);
      },
      deleteProperty(o, k) {
        if (typeof k !== "symbol" && !skip?.has(k)) {
          writes.add(placeOf(o, path, k));
          writes.add(keysOf(path));
        }
        return Reflect.deleteProperty(o, k);
      },
      defineProperty(o, k, desc) {
        if (typeof k !== "symbol" && !skip?.has(k)) {
          writes.add(placeOf(o, path, k));
          if (!Object.prototype.hasOwnProperty.call(o, k)) writes.add(keysOf(path));
        }
        return Reflect.defineProperty(
          o,
          k,
          "value" in desc ? { ...desc, value: unwrap(desc.value) } : desc,
        );
      },
    };
    view = new Proxy(t as Record<string | symbol, unknown>, handler);
    views.set(t, view);
    targets.set(view, t);
    VIEWS.set(view, {
      target: t,
      as: (copy) => {
        copies.set(copy, t);
        names.set(copy, path);
        return viewOf(copy, path);
      },
    });
    return view;
  };

  const view = viewOf(run, "run") as Run;
  try {
    run.pick.call(view, name);
  } finally {
    for (const v of views.values()) VIEWS.delete(v);
  }
  return { reads, writes, aliases };
}
