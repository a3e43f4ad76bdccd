/**
 * Hybrid revisions for blame: revision A with some of the config keys that
 * differ from revision B taken from B. The hybrid is built on the resolved
 * JSON and re-parsed with `parseRevision`, so it is validated and behaves
 * exactly as a loaded revision would.
 *
 * @module
 */
import type { Json } from "../run/errors.ts";
import { flattenConfig, parseRevision, type Revision } from "../run/revision.ts";
import { canonicalJson } from "../model/state.ts";

type JsonObject = { [k: string]: Json };

/** `paths.<path>.callouts[<at>:<call>#n]`, split into path and callout identity. */
const CALLOUT_KEY = /^paths\.([^.]+)\.callouts\[(.+)\]$/;

/** A callout identity without its ordinal: `<at>:<call>`. */
function baseOf(id: string): string {
  return id.replace(/#\d+$/, "");
}

/** The ordinal of a callout identity: 1 for `<at>:<call>`, n for `<at>:<call>#n`. */
function ordinalOf(id: string): number {
  const m = /#(\d+)$/.exec(id);
  return m ? Number(m[1]) : 1;
}

/** Identities of a path's callouts, as `flattenConfig` names them. */
function identities(callouts: Json[]): string[] {
  const seen: Record<string, number> = {};
  return callouts.map((c) => {
    const o = c as JsonObject;
    const base = `${o.at}:${o.call}`;
    seen[base] = (seen[base] ?? 0) + 1;
    return seen[base] > 1 ? `${base}#${seen[base]}` : base;
  });
}

function calloutsOf(rev: Revision, path: string): Json[] {
  const paths = rev.resolved.paths as JsonObject | undefined;
  const p = paths?.[path] as JsonObject | undefined;
  return (p?.callouts as Json[] | undefined) ?? [];
}

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Whether a set of differing keys can be applied on its own. Callouts are
 * named by ordinal (`<at>:<call>#n`), so when B has fewer callouts of one
 * `<at>:<call>` than A, removing the n-th without the ones after it would
 * renumber them; likewise adding the n-th without the ones before it. Only
 * a suffix of the removals, or a prefix of the insertions, can be applied.
 *
 * @param a Revision A.
 * @param b Revision B.
 * @param keys Differing keys to apply.
 * @returns True when {@link hybridRevision} can build the hybrid.
 */
export function applicable(a: Revision, b: Revision, keys: readonly string[]): boolean {
  const fa = flattenConfig(a);
  const fb = flattenConfig(b);
  const chosen = new Set(keys);
  for (const key of keys) {
    const m = CALLOUT_KEY.exec(key);
    if (!m) continue;
    const [, path, id] = m;
    const inA = fa[key] !== undefined;
    const inB = fb[key] !== undefined;
    if (inA && inB) continue;
    const base = baseOf(id);
    const n = ordinalOf(id);
    const keyOf = (k: number) => `paths.${path}.callouts[${k === 1 ? base : `${base}#${k}`}]`;
    if (inA) {
      // Removing the n-th needs every later one of A (which B lacks too) removed as well.
      for (let k = n + 1; fa[keyOf(k)] !== undefined; k++) {
        if (!chosen.has(keyOf(k))) return false;
      }
    } else {
      // Inserting the n-th needs every earlier one of B that A lacks inserted as well.
      for (let k = n - 1; k >= 1 && fa[keyOf(k)] === undefined; k--) {
        if (!chosen.has(keyOf(k))) return false;
      }
    }
  }
  return true;
}

/**
 * Builds revision A with the given differing keys taken from B: a plain key
 * (`chain.*`, `drivers.*`, `kernel.*`, `nonlinear.*`) is copied from B's
 * resolved JSON at the same path, or deleted when B does not set it; a
 * callout (`paths.<path>.callouts[<at>:<call>#n]`) is replaced by B's, removed,
 * or inserted at its position in B (after the callout that precedes it in B,
 * and after A's callouts of the same `<at>:<call>`).
 *
 * @param a Revision A.
 * @param b Revision B (same kernel tree).
 * @param keys Keys of `diffConfig(a, b)` to take from B; they must be {@link applicable}.
 * @returns The hybrid, parsed by `parseRevision`, with id `<a>+blame`.
 * @throws {RangeError} When a key cannot be applied (see {@link applicable}), or is `base`.
 * @throws {Error} When the hybrid's flattened config differs from A's in other than exactly
 * the applied keys, or not with B's values: a bug in the construction.
 */
export function hybridRevision(a: Revision, b: Revision, keys: readonly string[]): Revision {
  if (!applicable(a, b, keys)) {
    throw new RangeError(
      `Cannot take keys from "${b.id}" into "${a.id}" on their own: ${keys.join(", ")}`,
    );
  }
  const json = structuredClone(a.resolved) as JsonObject;
  const bJson = b.resolved;
  const byPath = new Map<string, Set<string>>();
  for (const key of keys) {
    const m = CALLOUT_KEY.exec(key);
    if (m) {
      if (!byPath.has(m[1])) byPath.set(m[1], new Set());
      byPath.get(m[1])!.add(m[2]);
    } else if (key === "base") {
      throw new RangeError(`Cannot take key "base" from "${b.id}" into "${a.id}"`);
    } else {
      copyAt(json, bJson, key.split("."));
    }
  }
  for (const [path, ids] of byPath) {
    if (!isObject(json.paths)) json.paths = {};
    const paths = json.paths as JsonObject;
    if (!isObject(paths[path])) {
      const bPath = (bJson.paths as JsonObject)[path] as JsonObject;
      paths[path] = { callouts: [], ...(bPath.cite !== undefined ? { cite: bPath.cite } : {}) };
    }
    (paths[path] as JsonObject).callouts = mergeCallouts(
      calloutsOf(a, path),
      calloutsOf(b, path),
      ids,
    );
  }
  json.id = `${a.id}+blame`;
  const hybrid = parseRevision(json, `${a.file} with ${keys.length} key(s) of ${b.file}`, () => {
    return undefined;
  });
  checkHybrid(a, b, hybrid, keys);
  return hybrid;
}

/** Sets `path` of `json` to B's value there (a deep copy), or deletes it when B has none. */
function copyAt(json: JsonObject, bJson: JsonObject, path: string[]): void {
  let to = json;
  let from: Json | undefined = bJson;
  for (const part of path.slice(0, -1)) {
    from = isObject(from) ? from[part] : undefined;
    if (!isObject(to[part])) {
      // A container A lacks, such as `drivers.hmm`: it takes B's citation, which the loader requires.
      const cite = isObject(from) ? from.cite : undefined;
      to[part] = cite !== undefined ? { cite } : {};
    }
    to = to[part] as JsonObject;
  }
  const last = path[path.length - 1];
  const value = isObject(from) ? from[last] : undefined;
  if (value === undefined) delete to[last];
  else to[last] = structuredClone(value);
}

/** A's callouts of one path with the callouts named by `ids` taken from B. */
function mergeCallouts(aList: Json[], bList: Json[], ids: Set<string>): Json[] {
  const aIds = identities(aList);
  const bIds = identities(bList);
  const out: { id: string; raw: Json }[] = [];
  aList.forEach((raw, i) => {
    const id = aIds[i];
    if (!ids.has(id)) out.push({ id, raw });
    else if (bIds.includes(id)) out.push({ id, raw: structuredClone(bList[bIds.indexOf(id)]) });
    // else: removed.
  });
  bList.forEach((raw, i) => {
    const id = bIds[i];
    if (!ids.has(id) || aIds.includes(id)) return;
    let pos = 0;
    for (let j = i - 1; j >= 0; j--) {
      const at = out.findIndex((x) => x.id === bIds[j]);
      if (at >= 0) {
        pos = at + 1;
        break;
      }
    }
    const base = baseOf(id);
    const lastSame = out.findLastIndex((x) => baseOf(x.id) === base);
    out.splice(Math.max(pos, lastSame + 1), 0, { id, raw: structuredClone(raw) });
  });
  return out.map((x) => x.raw);
}

/** Asserts that the hybrid differs from A in exactly the applied keys, each with B's value. */
function checkHybrid(a: Revision, b: Revision, h: Revision, keys: readonly string[]): void {
  const fa = flattenConfig(a);
  const fb = flattenConfig(b);
  const fh = flattenConfig(h);
  const applied = new Set(keys);
  for (const key of new Set([...Object.keys(fa), ...Object.keys(fb), ...Object.keys(fh)])) {
    const want = applied.has(key) ? fb[key] : fa[key];
    if (fh[key] !== want) {
      throw new Error(
        `Hybrid of "${a.id}" with ${keys.length} key(s) of "${b.id}" is wrong at "${key}": ` +
          `${fh[key] ?? "(absent)"}, expected ${want ?? "(absent)"}`,
      );
    }
  }
}

/** Behaviour keys computed so far, by revision (a loaded revision does not change). */
const BEHAVIOUR_KEYS = new WeakMap<Revision, string>();

/**
 * What the model runs of a revision, as text: its provenance (id, title,
 * cites) left out, the callouts' order kept. Two revisions with one key
 * behave alike on every scenario.
 */
export function behaviourKey(rev: Revision): string {
  let key = BEHAVIOUR_KEYS.get(rev);
  if (key === undefined) {
    const { base, nonlinear, chain, paths, kernel, drivers } = rev;
    key = canonicalJson({ base, nonlinear: nonlinear ?? null, chain, paths, kernel, drivers });
    BEHAVIOUR_KEYS.set(rev, key);
  }
  return key;
}
