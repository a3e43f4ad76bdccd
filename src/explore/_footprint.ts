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
 * `run.kernel.sharers.mmap_sem:A.cpu0`), so that the same place has the same
 * name in every state: each object that exists when the step starts is named
 * by its shortest path from the run (breadth first, fields in order; a
 * thread's record by the thread's name, `run.cur.threads.cpu0`, as a
 * `during` thread's start shifts the others' indexes), and one made during
 * the step is named by where it is stored. The key list of
 * an object (what `Object.keys`, `for ... in`, an array's length or a Set's
 * size read, and adding or removing a key writes) is the place
 * `<path>.#keys`; an element of a Set is `<path>.{<element>}`.
 *
 * Additions are an access of their own kind, as two of them commute: a
 * field the step changes only through `addTo()` (`model/_count.ts`: a
 * count it adds to without reading it), and the key list of an object whose
 * key order no one reads (a record {@link Run.history} lists as `sorted`,
 * or index keys, which every object lists in ascending order), where the
 * step adds or removes keys. An addition is dependent on a read or a write
 * of its place, not on another addition.
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
 * The explorer's partial-order reduction (`explore/_por.ts`) goes by them;
 * `bench/explore_commute.ts` measures them, and `tests/footprint_test.ts`
 * checks that a step runs the same with and without views and that two
 * steps whose footprints are independent reach the same state in either
 * order.
 *
 * @module
 */
import type { Run } from "../run/runner.ts";
import { shareOnCopy, VIEWS } from "../model/_cow.ts";
import { ADDERS } from "../model/_count.ts";

/** What one step read and wrote, by place (numbered: see {@link placeName}). */
export interface Footprint {
  /** Places read. */
  reads: Set<number>;
  /** Places written. */
  writes: Set<number>;
  /**
   * Places added to (`addTo()` in `model/_count.ts`) and neither read nor
   * written otherwise by the step: two additions commute.
   */
  adds: Set<number>;
  /**
   * Objects that more than one path from the run reaches when the step
   * starts, each as `<its name> = <another path>`, sorted: the naming is the
   * same in every state only while this list is (the model's own aliases are
   * the kernel's observer, which is the run, and its callout sink, which is
   * the chain). Two paths inside one thread's stack are left out (frames
   * hand values to each other; only the thread itself reads its frames).
   */
  aliases: string[];
}

/** The places a footprint (or a join of several) reads, writes and adds to. */
export type Accesses = Pick<Footprint, "reads" | "writes" | "adds">;

/**
 * Whether two footprints are independent: neither writes a place the other
 * reads, writes or adds to, and neither adds to a place the other reads.
 */
export function independent(a: Accesses, b: Accesses): boolean {
  return !eachConflict(a, b, () => true);
}

/** How a place makes two footprints dependent: what one does to it, then what the other does. */
export type Conflict = "write/read" | "write/write" | "write/add" | "add/read";

/**
 * Calls `found` with each place where footprints `a` and `b` are dependent
 * (a write against a read, a write or an addition of the other, an
 * addition against a read), `a`'s access first (a place both write, once),
 * until `found` returns true; returns whether it did.
 */
export function eachConflict(
  a: Accesses,
  b: Accesses,
  found: (how: Conflict, place: number) => boolean | void,
): boolean {
  for (const [x, y] of [[a, b], [b, a]]) {
    for (const w of x.writes) {
      if (y.reads.has(w) && found("write/read", w)) return true;
      if (x === a && y.writes.has(w) && found("write/write", w)) return true;
      if (y.adds.has(w) && found("write/add", w)) return true;
    }
    for (const w of x.adds) if (y.reads.has(w) && found("add/read", w)) return true;
  }
  return false;
}

/** Every place named so far, by number. */
const NAMES: string[] = [];
/** The number of each place, by the path of its object and its key. */
const NUMBERS = new Map<string, Map<string, number>>();

/** The places of the object at `path`, by key. */
function placesAt(path: string): Map<string, number> {
  let at = NUMBERS.get(path);
  if (!at) NUMBERS.set(path, at = new Map());
  return at;
}

/** The number of the place of key `k` in `at`, the places of the object at `path`. */
function numberOf(at: Map<string, number>, path: string, k: string): number {
  let n = at.get(k);
  if (n === undefined) {
    at.set(k, n = NAMES.length);
    NAMES.push(`${path}.${k}`);
  }
  return n;
}

/** The name of a numbered place: `<path of its object>.<key>`. */
export function placeName(n: number): string {
  return NAMES[n];
}

/** The key that stands for an object's key list. */
const KEYS = "#keys";

/** An index key: listed before every other key, in ascending order (ECMA-262 OrdinaryOwnPropertyKeys). */
const INDEX = /^(?:0|[1-9]\d{0,8})$/;

/** The thread's stack a name is inside (`run.cur.threads.<name>.stack`), if any. */
function stackOf(name: string): string | undefined {
  return /^run\.cur\.threads\.[^.]+\.stack(?=\.|$)/.exec(name)?.[0];
}

/** The names of the objects of a run: {@link namesOf}. */
interface Names {
  /** The name of `o`, if it has one. */
  of(o: object): string | undefined;
  /** Whether `o` has a name. */
  has(o: object): boolean;
  /** Names `o` (an object the step made, or a copy taking an object's place). */
  set(o: object, name: string): void;
  /** The aliases met, as {@link Footprint.aliases} lists them. */
  aliases(): string[];
}

/**
 * Every object a step could write that exists now, named by its shortest
 * path from the run (breadth first, fields in order); a name is spelled out
 * only when it is asked for.
 */
function namesOf(
  run: Run,
  shared: ReadonlyMap<object, number>,
  omit: ReadonlyMap<object, ReadonlySet<string>>,
): Names {
  const threads = run.threads;
  /** Each object met, with the object it was met in and the key. */
  const parent = new Map<object, [object, string]>();
  const named = new Map<object, string>([[run, "run"]]);
  const again: [object, object, string][] = [];
  const todo: object[] = [run];
  for (let i = 0; i < todo.length; i++) {
    const o = todo[i];
    if (shareOnCopy(o) || o instanceof Set || o instanceof Map) continue;
    const skip = omit.get(o);
    const rec = o as Record<string, unknown>;
    for (const k in rec) {
      if (skip?.has(k)) continue;
      const x = rec[k];
      if (x === null || typeof x !== "object" || shared.has(x)) continue;
      if (Object.isFrozen(x) && !shareOnCopy(x)) continue;
      if (x === run || parent.has(x)) {
        again.push([x, o, k]);
        continue;
      }
      // A thread's record by its name, not by its index, which a `during` thread's start shifts.
      parent.set(x, [o, o === threads ? (x as { name: string }).name : k]);
      todo.push(x);
    }
  }
  const of = (o: object): string | undefined => {
    const known = named.get(o);
    if (known !== undefined) return known;
    const up = parent.get(o);
    if (!up) return undefined;
    const name = `${of(up[0])}.${up[1]}`;
    named.set(o, name);
    return name;
  };
  return {
    of,
    has: (o) => named.has(o) || parent.has(o),
    set: (o, name) => void named.set(o, name),
    aliases: () =>
      again.map(([x, o, k]) => [of(x)!, `${of(o)}.${k}`])
        .filter(([a, b]) => stackOf(a) === undefined || stackOf(a) !== stackOf(b))
        .map(([a, b]) => `${a} = ${b}`)
        .sort(),
  };
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
 * import { pickRecorded, placeName } from "./_footprint.ts";
 * const rev = loadRevisionDir("patches").find((r) => r.id === "emmu-v2")!;
 * const run = new Run(loadScenario("scenarios/race-unregister-dispatch.json"), rev, {
 *   preemptive: true,
 *   trace: false,
 * });
 * const names = run.next()!;
 * const fp = pickRecorded(run, names[0], reachable(run.scenario, rev, run.opts, run.checkers));
 * console.log([...fp.writes].map(placeName));
 * ```
 */
export function pickRecorded(
  run: Run,
  name: string,
  shared: ReadonlyMap<object, number>,
): Footprint {
  const reads = new Set<number>();
  const writes = new Set<number>();
  const adds = new Set<number>();
  const { omit, sorted } = run.history(false);
  const names = namesOf(run, shared, omit);
  const views = new Map<object, object>();
  const targets = new Map<object, object>();
  /** Objects made by the step: not viewed (their place was written when they were stored). */
  const fresh = new WeakSet<object>();
  /** A container's copy, made by `thaw()`, and the frozen container it replaces. */
  const copies = new WeakMap<object, object>();
  /** Frozen values already checked for views inside. */
  const checked = new WeakSet<object>();

  /** What reading key `k` of the object at `path` gives the step: `v`, or a view of it. */
  const show = (v: unknown, path: string, k: string): unknown => {
    if (v === null || typeof v !== "object" || shared.has(v) || fresh.has(v)) return v;
    if (Object.isFrozen(v) && !shareOnCopy(v)) return v;
    return viewOf(v, names.of(v) ?? `${path}.${k}`);
  };

  /** Replaces every view in `v`, an object the step is storing, by the object it shows. */
  const unwrap = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    const t = targets.get(v);
    if (t) return t;
    if (shared.has(v) || fresh.has(v) || checked.has(v) || names.has(v)) return v;
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
    const at = placesAt(path);
    const keys = numberOf(at, path, KEYS);
    const elem = (x: unknown) =>
      typeof x === "string" || typeof x === "number" ? numberOf(at, path, `{${x}}`) : keys;
    return (k: string | symbol): unknown => {
      switch (k) {
        case "has":
          return (x: unknown) => (reads.add(elem(x)), t.has(x));
        case "get":
          return (x: unknown) => (
            reads.add(elem(x)), show((t as Map<unknown, unknown>).get(x), path, `{${x}}`)
          );
        case "add":
        case "set":
        case "delete":
          return (x: unknown, value?: unknown) => {
            reads.add(elem(x));
            writes.add(elem(x));
            writes.add(keys);
            if (k === "delete") return t.delete(x);
            if (t instanceof Set) t.add(unwrap(x));
            else t.set(unwrap(x), unwrap(value));
            return view();
          };
        case "clear":
          return () => (writes.add(keys), t.clear());
        default: {
          reads.add(keys);
          const v = Reflect.get(t, k, t);
          return typeof v === "function" ? v.bind(t) : v;
        }
      }
    };
  };

  /** What a view needs to know of its object: where it is, and its places. */
  interface Meta {
    path: string;
    at: Map<string, number>;
    keys: number;
    array: boolean;
    /** Whether no step reads the order of its keys (see {@link keyChange}). */
    unordered: boolean;
    skip: ReadonlySet<string> | undefined;
    collection: ((k: string | symbol) => unknown) | null;
  }
  const metas = new Map<object, Meta>();
  /** The place of key `k` of the object `m` describes: an array's length is its key list. */
  const placeOf = (m: Meta, k: string) =>
    m.array && k === "length" ? m.keys : numberOf(m.at, m.path, k);
  /**
   * Records that the step adds or removes key `k` of the object `m`
   * describes. Where the order of the keys is read by no one (a record of
   * {@link Run.history}'s `sorted`, or an index key, which every object
   * lists in ascending order whenever it was added), two changes of the key
   * list commute: adding one key and removing another leave the same list in
   * either order (the key itself is a place both write when it is one key).
   * Elsewhere the change writes the key list.
   */
  const keyChange = (m: Meta, k: string) => {
    if (m.unordered || (!m.array && INDEX.test(k))) adds.add(m.keys);
    else writes.add(m.keys);
  };
  /** Whether key `k` is left out (a symbol, or history). */
  const left = (m: Meta, k: string | symbol): k is symbol =>
    typeof k === "symbol" || !!m.skip?.has(k);
  const handler: ProxyHandler<Record<string | symbol, unknown>> = {
    get(o, k, receiver) {
      const m = metas.get(o)!;
      if (m.collection) return m.collection(k);
      if (left(m, k)) return Reflect.get(o, k, receiver);
      const v = Reflect.get(o, k, receiver);
      if (typeof v === "function") return v;
      reads.add(placeOf(m, k));
      return show(v, m.path, k);
    },
    set(o, k, v) {
      const m = metas.get(o)!;
      const value = unwrap(v);
      if (left(m, k)) return Reflect.set(o, k, value);
      const had = Object.prototype.hasOwnProperty.call(o, k);
      // The object named after this place put back (`mm.ptes = thaw(mm.ptes)`), or the copy
      // `thaw()` made of it: the place shows the same values after as before.
      const same = had && value !== null && typeof value === "object" &&
        (o[k] === value || copies.get(value) === o[k]) && names.of(value) === `${m.path}.${k}`;
      if (!same) {
        writes.add(placeOf(m, k));
        if (!had) keyChange(m, k);
      }
      return Reflect.set(o, k, value);
    },
    has(o, k) {
      const m = metas.get(o)!;
      if (!left(m, k)) reads.add(placeOf(m, k));
      return Reflect.has(o, k);
    },
    ownKeys(o) {
      reads.add(metas.get(o)!.keys);
      return Reflect.ownKeys(o);
    },
    getOwnPropertyDescriptor(o, k) {
      const m = metas.get(o)!;
      if (!left(m, k)) reads.add(placeOf(m, k));
      return Reflect.getOwnPropertyDescriptor(o, k);
    },
    deleteProperty(o, k) {
      const m = metas.get(o)!;
      if (!left(m, k)) {
        writes.add(placeOf(m, k));
        if (Object.prototype.hasOwnProperty.call(o, k)) keyChange(m, k);
      }
      return Reflect.deleteProperty(o, k);
    },
    defineProperty(o, k, desc) {
      const m = metas.get(o)!;
      if (!left(m, k)) {
        writes.add(placeOf(m, k));
        if (!Object.prototype.hasOwnProperty.call(o, k)) keyChange(m, k);
      }
      return Reflect.defineProperty(
        o,
        k,
        "value" in desc ? { ...desc, value: unwrap(desc.value) } : desc,
      );
    },
  };

  const viewOf = (t: object, path: string): object => {
    const known = views.get(t);
    if (known) return known;
    const at = placesAt(path);
    const view = new Proxy(t as Record<string | symbol, unknown>, handler);
    metas.set(t, {
      path,
      at,
      keys: numberOf(at, path, KEYS),
      array: Array.isArray(t),
      unordered: sorted.has(t),
      skip: omit.get(t),
      collection: t instanceof Set || t instanceof Map ? collection(t, path, () => view) : null,
    });
    views.set(t, view);
    targets.set(view, t);
    ADDERS.set(view, (k, n) => {
      const m = metas.get(t)!;
      const rec = t as Record<string, number>;
      if (!left(m, k)) {
        if (!Object.prototype.hasOwnProperty.call(t, k)) {
          writes.add(placeOf(m, k));
          keyChange(m, k);
        } else adds.add(placeOf(m, k));
      }
      rec[k] += n;
    });
    if (shareOnCopy(t)) {
      VIEWS.set(view, {
        target: t,
        as: (copy) => {
          copies.set(copy, t);
          names.set(copy, path);
          return viewOf(copy, path);
        },
      });
    }
    return view;
  };

  const view = viewOf(run, "run") as Run;
  try {
    run.pick.call(view, name);
  } finally {
    for (const [t, v] of views) {
      if (shareOnCopy(t)) VIEWS.delete(v);
      ADDERS.delete(v);
    }
  }
  // A place the step also reads or writes is not only added to.
  for (const x of adds) if (reads.has(x) || writes.has(x)) adds.delete(x);
  return { reads, writes, adds, aliases: names.aliases() };
}
