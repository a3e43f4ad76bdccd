/**
 * Copying and encoding a run's object graph, for the stateful explorer: a
 * memoizing deep copy that keeps prototypes and shared references, and an
 * encoding of everything the copy would copy, in iteration order, with
 * back-references for objects met twice. What is encoded is exactly what is
 * copied, so two states with the same encoding have the same future.
 *
 * @module
 */

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
  const copy = (v: unknown): unknown => {
    if (v === null || typeof v !== "object" || shared.has(v)) return v;
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

/**
 * Encodes what {@link cloneGraph} copies: values in iteration order, class
 * names, and a back-reference for an object met before (so aliasing is part
 * of the encoding). Objects in `shared` are encoded by their number there.
 * Strings carry their length, so the encoding is injective.
 */
export function encodeGraph(value: unknown, shared: ReadonlyMap<object, number>): string {
  const ids = new Map<object, number>();
  let out = "";
  const enc = (v: unknown): void => {
    switch (typeof v) {
      case "number":
        out += v + ",";
        return;
      case "string":
        out += "'" + v.length + ":" + v;
        return;
      case "boolean":
        out += v ? "T" : "F";
        return;
      case "undefined":
        out += "u";
        return;
      case "function":
        out += "f" + (v as { name: string }).name + ",";
        return;
    }
    if (v === null) {
      out += "n";
      return;
    }
    const o = v as object;
    const input = shared.get(o);
    if (input !== undefined) {
      // Immutable input: the same object in every state of a run.
      out += "s" + input + ",";
      return;
    }
    const seen = ids.get(o);
    if (seen !== undefined) {
      out += "@" + seen + ",";
      return;
    }
    ids.set(o, ids.size);
    if (Array.isArray(o)) {
      out += "[";
      for (let i = 0; i < o.length; i++) enc(o[i]);
      out += "]";
    } else if (o instanceof Map) {
      out += "M";
      for (const [k, x] of o) {
        enc(k);
        enc(x);
      }
      out += "]";
    } else if (o instanceof Set) {
      out += "S";
      for (const x of o) enc(x);
      out += "]";
    } else {
      const proto = Object.getPrototypeOf(o);
      out += proto === Object.prototype || proto === null ? "{" : proto.constructor.name + "{";
      const rec = o as Record<string, unknown>;
      for (const k in rec) {
        out += k.length + ":" + k;
        enc(rec[k]);
      }
      out += "}";
    }
  };
  enc(value);
  return out;
}
