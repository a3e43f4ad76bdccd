/**
 * What a computation read of an input: a recording view of an object graph
 * (a revision), and the check that another graph answers every one of those
 * reads the same way.
 *
 * The view is a proxy over each object of the graph, made on first access,
 * one per object (so identity and aliasing are as in the graph). Every way
 * JavaScript can look into an object goes through a trap that records what
 * it saw: a property's value (`get`; an object by its identity in the log, a
 * function by itself, anything else by value), whether a key is there
 * (`has`), the list of keys (`ownKeys`) and a property's descriptor
 * (`getOwnPropertyDescriptor`), the prototype and extensibility, and
 * whether it is an array (which `Array.isArray` reads without a trap). Writes
 * throw: the graph is an input. A deterministic computation that reads its
 * input only through the view, given another graph that answers each
 * recorded read the same way (with the same aliasing, object for object),
 * reads the same values in the same order and so does the same thing: that
 * is {@link satisfies}. Nothing has to declare what it reads, so nothing can
 * forget to.
 *
 * @module
 */

/** What one read saw: a value (undefined for an absent key), or an object of the log by its index. */
type Seen =
  | { v: unknown }
  | { o: number };

/** An object of the recorded graph and what was read of it. */
interface Entry {
  /** How it was first reached: its parent's index and the key (absent for the root). */
  from?: { parent: number; key: PropertyKey };
  /** Whether it is an array (`Array.isArray` sees through a proxy without a trap). */
  array: boolean;
  /** `get` reads by key. */
  gets: Map<PropertyKey, Seen>;
  /** `has` reads by key. */
  has: Map<PropertyKey, boolean>;
  /** Descriptor reads by key: flags and what its value is, or null when absent. */
  descs: Map<PropertyKey, { flags: number; seen: Seen } | null>;
  /** Its own keys, when they were listed. */
  keys?: PropertyKey[];
  /** Its prototype, when it was read. */
  proto?: { v: object | null };
  /** Whether it is extensible, when that was read. */
  extensible?: boolean;
}

/** The reads a computation made of an input graph, object by object. */
export interface ReadLog {
  /** Objects in the order first reached; the root first. */
  readonly entries: readonly Entry[];
}

/** A recording view of a graph: {@link ReadRecorder.root} reads like the graph and logs each read. */
export class ReadRecorder<T extends object> {
  /** The view of the graph's root. */
  readonly root: T;
  private readonly entries: Entry[] = [];
  /** Each object viewed: its index in the log and its view. */
  private readonly made = new Map<object, { i: number; view: object }>();
  private listener?: (target: object, view: object) => void;

  /**
   * Starts a log of the reads of `graph`.
   *
   * @param graph The input graph; plain data (objects, arrays, primitives).
   */
  constructor(graph: T) {
    this.root = this.view(graph, undefined).view as T;
  }

  /** The log so far. */
  log(): ReadLog {
    return { entries: this.entries };
  }

  /** Every view made so far, with the object it shows. */
  *viewed(): IterableIterator<[object, object]> {
    for (const [target, { view }] of this.made) yield [target, view];
  }

  /**
   * Calls `listener(target, view)` for every view made from now on (the
   * explorer numbers a view as the input object it shows).
   */
  onView(listener: (target: object, view: object) => void): void {
    this.listener = listener;
  }

  /** The view of `target`, made on first access and then reused. */
  private view(target: object, from: Entry["from"]): { i: number; view: object } {
    const known = this.made.get(target);
    if (known) return known;
    const i = this.entries.length;
    const entry: Entry = {
      from,
      array: Array.isArray(target),
      gets: new Map(),
      has: new Map(),
      descs: new Map(),
    };
    this.entries.push(entry);
    // deno-lint-ignore no-this-alias
    const rec = this;
    const seen = (key: PropertyKey, v: unknown): [Seen, unknown] => {
      if (v === null || typeof v !== "object") return [{ v }, v];
      const child = rec.view(v, { parent: i, key });
      return [{ o: child.i }, child.view];
    };
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        // A getter runs on the view, so what it reads is logged too.
        const [s, out] = seen(key, Reflect.get(t, key, receiver));
        if (!entry.gets.has(key)) entry.gets.set(key, s);
        return out;
      },
      has(t, key) {
        const r = Reflect.has(t, key);
        if (!entry.has.has(key)) entry.has.set(key, r);
        return r;
      },
      ownKeys(t) {
        const keys = Reflect.ownKeys(t);
        if (!entry.keys) entry.keys = keys;
        return keys;
      },
      getOwnPropertyDescriptor(t, key) {
        const d = Reflect.getOwnPropertyDescriptor(t, key);
        if (!d) {
          if (!entry.descs.has(key)) entry.descs.set(key, null);
          return d;
        }
        const [s, out] = seen(key, d.value);
        if (!entry.descs.has(key)) entry.descs.set(key, { flags: flagsOf(d), seen: s });
        // A property of the graph is reported with its value's view; it stays configurable.
        return "value" in d ? { ...d, value: out } : d;
      },
      getPrototypeOf(t) {
        const p = Reflect.getPrototypeOf(t);
        if (!entry.proto) entry.proto = { v: p };
        return p;
      },
      isExtensible(t) {
        const r = Reflect.isExtensible(t);
        if (entry.extensible === undefined) entry.extensible = r;
        return r;
      },
      set: refuse,
      defineProperty: refuse,
      deleteProperty: refuse,
      setPrototypeOf: refuse,
      preventExtensions: refuse,
    });
    const made = { i, view: proxy };
    this.made.set(target, made);
    this.listener?.(target, proxy);
    return made;
  }
}

/** Every write trap of a view: the graph is an input. */
function refuse(): never {
  throw new TypeError("An input graph is read-only: a run wrote into its revision");
}

/** A descriptor's flags (writable, enumerable, configurable, accessor) as bits. */
function flagsOf(d: PropertyDescriptor): number {
  return (d.writable ? 1 : 0) | (d.enumerable ? 2 : 0) | (d.configurable ? 4 : 0) |
    ("get" in d || "set" in d ? 8 : 0);
}

/**
 * Whether `graph` answers every read of `log` as the recorded graph did:
 * the same values, the same keys, the same descriptors, and objects that
 * alias each other exactly where the recorded ones did.
 *
 * @param log The reads of a recorded computation ({@link ReadRecorder.log}).
 * @param graph Another input graph.
 * @returns True when the computation would read the same things in `graph`.
 */
export function satisfies(log: ReadLog, graph: object): boolean {
  const objs: object[] = [];
  const owner = new Map<object, number>();
  /** Binds entry `i` to `o`, or says they cannot be the same object. */
  const bind = (i: number, o: unknown): boolean => {
    if (o === null || typeof o !== "object") return false;
    const bound = objs[i];
    if (bound !== undefined) return bound === o;
    const other = owner.get(o);
    if (other !== undefined && other !== i) return false;
    objs[i] = o;
    owner.set(o, i);
    return true;
  };
  const same = (s: Seen, v: unknown): boolean => "o" in s ? bind(s.o, v) : Object.is(s.v, v);
  const { entries } = log;
  if (!bind(0, graph)) return false;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (objs[i] === undefined) {
      // First reached through its parent: entries are in the order first reached.
      const from = e.from!;
      if (!bind(i, Reflect.get(objs[from.parent], from.key))) return false;
    }
    const o = objs[i];
    if (Array.isArray(o) !== e.array) return false;
    for (const [key, s] of e.gets) if (!same(s, Reflect.get(o, key))) return false;
    for (const [key, r] of e.has) if (Reflect.has(o, key) !== r) return false;
    for (const [key, d] of e.descs) {
      const now = Reflect.getOwnPropertyDescriptor(o, key);
      if (!d || !now) {
        if (d || now) return false;
        continue;
      }
      if (flagsOf(now) !== d.flags || !same(d.seen, now.value)) return false;
    }
    if (e.keys) {
      const keys = Reflect.ownKeys(o);
      if (keys.length !== e.keys.length || keys.some((k, j) => k !== e.keys![j])) return false;
    }
    if (e.proto && Reflect.getPrototypeOf(o) !== e.proto.v) return false;
    if (e.extensible !== undefined && Reflect.isExtensible(o) !== e.extensible) return false;
  }
  return true;
}
