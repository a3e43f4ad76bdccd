/**
 * Copying and hashing a run's object graph, for the stateful explorer: a
 * memoizing deep copy that keeps prototypes and shared references, and a
 * 128-bit hash of everything the copy would copy, in iteration order, with
 * back-references for objects met twice, less the fields a {@link HashRules}
 * names as history. What is hashed is what is copied (less those fields), so
 * two states with the same hash have the same future, up to a hash collision.
 *
 * Frozen objects are values: the model freezes the records that make up most
 * of a world (ptes, struct pages; see `freezeValue` in `model/state.ts`) and
 * replaces them, never changes them, in copy-on-write containers (an mm's
 * ptes, the struct pages; `model/_cow.ts`); a thread's stack of frames is a
 * deep copy-on-write value. A copy shares every frozen object, freezing the
 * containers and stacks it meets, so a state costs what its mutable part and
 * the records and frames it replaced cost, not the whole world. Containers
 * and stacks are hashed by value, frozen or not (so a state hashes the same
 * whichever side of a copy it is on), each frozen object in them by a hash
 * cached per object; everything in a container must be frozen, everything in
 * a frozen stack too but the run's shared inputs (the hash throws
 * otherwise). No code tells two equal values apart by identity. Any other
 * object is hashed as the stream goes, frozen or not: a frozen object may
 * have left a stack for the rest of the run, and hashes as it did before the
 * copy froze it.
 *
 * The hash is MurmurHash3 (x86, 128-bit) over a stream of 32-bit words that
 * encodes the graph without ambiguity: every value starts with a tag word,
 * strings carry their length, containers end with an end tag. It is not a
 * cryptographic hash; the graphs are the model's own, not an adversary's, so
 * the chance that two of n distinct states collide is about n^2 / 2^129
 * (below 10^-26 for a million states).
 *
 * @module
 */
import { COW_CONTAINER, COW_VALUE, cowKind } from "../model/_cow.ts";
import { DICT_PROTO } from "../model/_dict.ts";

/**
 * Every object reachable from `roots` (immutable inputs the copy shares),
 * numbered in a deterministic order.
 */
export function reachable(...roots: unknown[]): Map<object, number> {
  const seen = new Map<object, number>();
  const todo: unknown[] = [...roots];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v === null || typeof v !== "object" || seen.has(v)) continue;
    seen.set(v, seen.size);
    if (v instanceof Map) { for (const [k, x] of v) todo.push(k, x); }
    else if (v instanceof Set) { for (const x of v) todo.push(x); }
    else for (const k of Object.keys(v)) todo.push((v as Record<string, unknown>)[k]);
  }
  return seen;
}

/**
 * A deep copy of `value`: objects in `shared` (and functions) are kept, every
 * other object is copied once (aliases stay aliases), with its prototype.
 */
export function cloneGraph<T>(value: T, shared: ReadonlyMap<object, number>): T {
  const memo = new Map<object, object>();
  /** Freezes a deep value and everything in it but shared inputs, and returns it. */
  const freezeDeep = (v: object): object => {
    if (shared.has(v) || Object.isFrozen(v)) return v;
    if (v instanceof Map || v instanceof Set) {
      throw new TypeError("A thread's frames hold a Map or a Set, which cannot be frozen");
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (x !== null && typeof x === "object") freezeDeep(x);
      }
      return Object.freeze(v);
    }
    const rec = v as Record<string, unknown>;
    for (const k in rec) {
      const x = rec[k];
      if (x !== null && typeof x === "object") freezeDeep(x);
    }
    return Object.freeze(v);
  };
  const copy = (v: unknown): unknown => {
    if (v === null || typeof v !== "object" || Object.isFrozen(v) || shared.has(v)) return v;
    const kind = cowKind(v);
    if (kind === COW_CONTAINER) return Object.freeze(v);
    if (kind === COW_VALUE) return freezeDeep(v);
    const done = memo.get(v);
    if (done) return done;
    if (Array.isArray(v)) {
      const out: unknown[] = v.slice();
      memo.set(v, out);
      for (let i = 0; i < out.length; i++) {
        const x = out[i];
        if (x !== null && typeof x === "object") out[i] = copy(x);
      }
      return out;
    }
    if (v instanceof Map) {
      const out = new Map();
      memo.set(v, out);
      for (const [k, x] of v) out.set(copy(k), copy(x));
      return out;
    }
    if (v instanceof Set) {
      const out = new Set();
      memo.set(v, out);
      for (const x of v) out.add(copy(x));
      return out;
    }
    const proto = Object.getPrototypeOf(v);
    const out: Record<string, unknown> = proto === Object.prototype ? {} : Object.create(proto);
    memo.set(v, out);
    const src = v as Record<string, unknown>;
    for (const k in src) {
      const x = src[k];
      out[k] = x !== null && typeof x === "object" ? copy(x) : x;
    }
    return out;
  };
  return copy(value) as T;
}

/** What {@link hashGraph} leaves out of a graph or hashes in a canonical order. */
export interface HashRules {
  /** Per object, the fields left out (they cannot decide the future). */
  omit?: ReadonlyMap<object, ReadonlySet<string>>;
  /**
   * Records hashed with their keys sorted and entries holding an empty
   * array, or an empty record of this set, left out.
   */
  sorted?: ReadonlySet<object>;
  /** A field name whose record values are hashed with their keys sorted, wherever they occur. */
  sortedField?: string;
}

const C1 = 0x239b961b, C2 = 0xab0e9789, C3 = 0x38b34ae5, C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** One lane of a MurmurHash3 x86_128 block: mixes word `k` into `h`. */
function lane(
  h: number,
  k: number,
  ca: number,
  rk: number,
  cb: number,
  rh: number,
  next: number,
  add: number,
): number {
  h ^= Math.imul(rotl(Math.imul(k, ca), rk), cb);
  return (Math.imul(rotl(h, rh) + next, 5) + add) | 0;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Tag words: each value of the stream starts with one. */
const T_INT = 1,
  T_FLOAT = 2,
  T_STR = 3,
  T_TRUE = 4,
  T_FALSE = 5,
  T_UNDEF = 6,
  T_NULL = 7,
  T_FN = 8,
  T_SHARED = 9,
  T_BACK = 10,
  T_ARR = 11,
  T_MAP = 12,
  T_SET = 13,
  T_OBJ = 14,
  T_CLASS = 15,
  T_END = 16,
  T_BIG = 17,
  T_VALUE = 18;

/**
 * Every string hashed so far, numbered in the order first met: a string is
 * hashed as its number, which is the same in every state of a process.
 */
const interned = new Map<string, number>();

/**
 * MurmurHash3 x86_128 over a stream of 32-bit words: the words are buffered
 * and mixed in one pass when the hash is taken.
 */
class Murmur128 {
  buf: Int32Array = SCRATCH.pop() ?? new Int32Array(1024);
  len = 0;

  word(w: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Int32Array(Math.max(1024, this.buf.length * 2));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = w;
  }

  str(s: string): void {
    let id = interned.get(s);
    if (id === undefined) interned.set(s, id = interned.size);
    this.word(T_STR);
    this.word(id);
  }

  num(x: number): void {
    if ((x | 0) === x && !Object.is(x, -0)) {
      this.word(T_INT);
      this.word(x);
    } else {
      f64[0] = x;
      this.word(T_FLOAT);
      this.word(u32[0]);
      this.word(u32[1]);
    }
  }

  /** The hash, as four 32-bit words. */
  finish(): [number, number, number, number] {
    const buf = this.buf;
    const len = this.len;
    // The tail block, padded with zero words (the length tells it apart).
    const padded = (len + 3) & ~3;
    if (padded > buf.length) {
      const bigger = new Int32Array(padded);
      bigger.set(buf);
      this.buf = bigger;
    }
    const b = this.buf;
    for (let i = len; i < padded; i++) b[i] = 0;
    let h1 = 0x9368e53c, h2 = 0x2f6af274, h3 = 0xb4a5a9ff, h4 = 0x6f8d1f2b;
    for (let i = 0; i < padded; i += 4) {
      h1 = lane(h1, b[i], C1, 15, C2, 19, h2, 0x561ccd1b);
      h2 = lane(h2, b[i + 1], C2, 16, C3, 17, h3, 0x0bcaa747);
      h3 = lane(h3, b[i + 2], C3, 17, C4, 15, h4, 0x96cd1c35);
      h4 = lane(h4, b[i + 3], C4, 18, C1, 13, h1, 0x32ac3b17);
    }
    if (this.buf.length <= 65536) SCRATCH.push(this.buf);
    this.buf = EMPTY;
    // The length counts the padding words too.
    h1 ^= padded, h2 ^= padded, h3 ^= padded, h4 ^= padded;
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0, h3 = (h3 + h1) | 0, h4 = (h4 + h1) | 0;
    h1 = fmix(h1), h2 = fmix(h2), h3 = fmix(h3), h4 = fmix(h4);
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0, h3 = (h3 + h1) | 0, h4 = (h4 + h1) | 0;
    return [h1, h2, h3, h4];
  }

  /** The hash, as 32 hex digits. */
  digest(): string {
    return this.finish().map((h) => (h >>> 0).toString(16).padStart(8, "0")).join("");
  }

  /** Adds a value's hash (a tag and its four words). */
  value(w: readonly number[]): void {
    this.word(T_VALUE);
    this.word(w[0]);
    this.word(w[1]);
    this.word(w[2]);
    this.word(w[3]);
  }
}

/** Word buffers of finished hashes, reused (hashes nest: a value's hash is taken inside another's). */
const SCRATCH: Int32Array[] = [];
const EMPTY = new Int32Array(0);

type Words = [number, number, number, number];

/** Hashes of frozen objects, by value, as a record with its keys sorted. */
interface ValueCache {
  plain: WeakMap<object, Words>;
  sorted: WeakMap<object, Words>;
}

/**
 * Hashes of frozen objects, per map of shared inputs (a value that holds one
 * hashes it by its number there) and per `sortedField` of the rules they
 * were hashed under (the field decides how a record below it is hashed).
 */
const VALUE_HASHES = new WeakMap<ReadonlyMap<object, number>, Map<string, ValueCache>>();

/**
 * The hash of an object as a value: its class, its fields in iteration
 * order (a record under the context's `sortedField` with its keys sorted), a shared input
 * in it by its number, a frozen object in it by its own (cached) hash.
 * `sorted` hashes it as a record with its keys sorted and entries holding an
 * empty array left out. A frozen object's hash is cached; everything in it
 * must be frozen or a shared input. Objects in a value that is not frozen
 * must be frozen too, unless `deep` (a deep value, a thread's stack, being
 * written), where they are hashed the same way.
 */
function valueHash(o: object, ctx: ValueContext, sorted: boolean, deep: boolean): Words {
  // A value not frozen yet is being written: its hash would not stay right.
  const keep = Object.isFrozen(o);
  const cache = sorted ? ctx.caches.sorted : ctx.caches.plain;
  const known = keep ? cache.get(o) : undefined;
  if (known) return known;
  const h = new Murmur128();
  if (Array.isArray(o)) {
    h.word(T_ARR);
    for (let i = 0; i < o.length; i++) valueField(h, o[i], undefined, ctx, keep, deep);
  } else {
    const rec = o as Record<string, unknown>;
    if (!sorted) {
      const proto = Object.getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null && proto !== DICT_PROTO) {
        h.word(T_CLASS);
        h.str(proto.constructor.name);
      }
    }
    h.word(T_OBJ);
    for (const k of sorted ? Object.keys(rec).sort() : Object.keys(rec)) {
      const x = rec[k];
      if (sorted && Array.isArray(x) && x.length === 0) continue;
      h.str(k);
      valueField(h, x, k, ctx, keep, deep);
    }
  }
  h.word(T_END);
  const w = h.finish();
  if (keep) cache.set(o, w);
  return w;
}

/**
 * Adds `x`, field `field` (or an element) of a value being hashed by
 * {@link valueHash}, to `h`: a scalar, a shared input by its number, an
 * object by its own value hash.
 */
function valueField(
  h: Murmur128,
  x: unknown,
  field: string | undefined,
  ctx: ValueContext,
  keep: boolean,
  deep: boolean,
): void {
  if (x === null || typeof x !== "object") return scalar(h, x);
  const input = ctx.shared.get(x);
  if (input !== undefined) {
    h.word(T_SHARED);
    h.word(input);
    return;
  }
  if (x instanceof Map || x instanceof Set || (!Object.isFrozen(x) && (keep || !deep))) {
    throw new TypeError("A value of the run holds an object that is not frozen");
  }
  h.value(valueHash(x, ctx, field !== undefined && field === ctx.sortedField, deep));
}

/** What a hash of values needs: the shared inputs, the rules' `sortedField`, and the caches for both. */
interface ValueContext {
  shared: ReadonlyMap<object, number>;
  sortedField: string | undefined;
  caches: ValueCache;
}

/** The {@link ValueContext} of a hash over `shared` under rules with `sortedField`. */
function valueContext(
  shared: ReadonlyMap<object, number>,
  sortedField: string | undefined,
): ValueContext {
  let byField = VALUE_HASHES.get(shared);
  if (!byField) VALUE_HASHES.set(shared, byField = new Map());
  let caches = byField.get(sortedField ?? "");
  if (!caches) {
    byField.set(sortedField ?? "", caches = { plain: new WeakMap(), sorted: new WeakMap() });
  }
  return { shared, sortedField, caches };
}

/** Whether record `o` has no keys. */
function empty(o: object): boolean {
  return Object.keys(o).length === 0;
}

/** Adds a value that is not an object to the stream. */
function scalar(h: Murmur128, v: unknown): void {
  switch (typeof v) {
    case "number":
      h.num(v);
      return;
    case "string":
      h.str(v);
      return;
    case "boolean":
      h.word(v ? T_TRUE : T_FALSE);
      return;
    case "undefined":
      h.word(T_UNDEF);
      return;
    case "function":
      h.word(T_FN);
      h.str((v as { name: string }).name);
      return;
    case "bigint":
      h.word(T_BIG);
      h.str(String(v));
      return;
  }
  h.word(T_NULL);
}

/**
 * A 128-bit hash of what {@link cloneGraph} copies: values in iteration
 * order, class names, and a back-reference for an object met before (so
 * aliasing is part of the hash). Objects in `shared` are hashed by their
 * number there. `rules` names fields left out and records hashed in sorted
 * key order.
 *
 * @returns 32 hex digits.
 */
export function hashGraph(
  value: unknown,
  shared: ReadonlyMap<object, number>,
  rules: HashRules = {},
): string {
  const ids = new Map<object, number>();
  const h = new Murmur128();
  const omit = rules.omit;
  const sorted = rules.sorted;
  const sortedField = rules.sortedField;
  let values: ValueContext | undefined;
  const entry = (k: string, x: unknown) => {
    if (Array.isArray(x) && x.length === 0) return;
    if (x !== null && typeof x === "object" && sorted?.has(x) && empty(x)) return;
    h.str(k);
    enc(x);
  };
  const record = (rec: Record<string, unknown>) => {
    h.word(T_OBJ);
    const keys = Object.keys(rec);
    if (keys.length > 1) keys.sort();
    for (let i = 0; i < keys.length; i++) entry(keys[i], rec[keys[i]]);
    h.word(T_END);
  };
  const enc = (v: unknown): void => {
    if (v === null || typeof v !== "object") {
      scalar(h, v);
      return;
    }
    const o = v as object;
    const input = shared.get(o);
    if (input !== undefined) {
      // Immutable input: the same object in every state of a run.
      h.word(T_SHARED);
      h.word(input);
      return;
    }
    // A container of values, or a thread's stack: by value, frozen or not. Any other object,
    // frozen or not, as the stream goes (a frozen one may have left a stack for the world, and
    // must hash as it did while it was not frozen yet).
    const kind = cowKind(o);
    const deep = kind === COW_VALUE;
    if ((deep || kind === COW_CONTAINER) && !omit?.has(o) && !sorted?.has(o)) {
      h.value(valueHash(o, values ??= valueContext(shared, sortedField), false, deep));
      return;
    }
    const seen = ids.get(o);
    if (seen !== undefined) {
      h.word(T_BACK);
      h.word(seen);
      return;
    }
    ids.set(o, ids.size);
    if (Array.isArray(o)) {
      h.word(T_ARR);
      for (let i = 0; i < o.length; i++) enc(o[i]);
      h.word(T_END);
    } else if (o instanceof Map) {
      h.word(T_MAP);
      for (const [k, x] of o) {
        enc(k);
        enc(x);
      }
      h.word(T_END);
    } else if (o instanceof Set) {
      h.word(T_SET);
      for (const x of o) enc(x);
      h.word(T_END);
    } else if (sorted?.has(o)) {
      record(o as Record<string, unknown>);
    } else {
      const proto = Object.getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null && proto !== DICT_PROTO) {
        h.word(T_CLASS);
        h.str(proto.constructor.name);
      }
      h.word(T_OBJ);
      const skip = omit?.get(o);
      const rec = o as Record<string, unknown>;
      const keys = Object.keys(rec);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (skip?.has(k)) continue;
        h.str(k);
        const x = rec[k];
        if (k === sortedField && x !== null && typeof x === "object" && !ids.has(x)) {
          ids.set(x, ids.size);
          record(x as Record<string, unknown>);
        } else enc(x);
      }
      h.word(T_END);
    }
  };
  enc(value);
  return h.digest();
}
