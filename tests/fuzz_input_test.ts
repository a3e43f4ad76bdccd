/**
 * Fuzz property (a) of "Keep every promise on bad input": the shipped
 * scenario and revision files, corrupted (wrong types, fields deleted or
 * added, huge numbers, JavaScript property names as ids, deep nesting,
 * absurd counts, truncation), either run (exit 0, an outcome on standard
 * output) or are refused with exit status 2 and exactly one line
 * `mmbisect: ...` on standard error, never a stack trace, never an
 * uncaught exception, and in bounded time.
 *
 * The command line's `main()` runs in this process (a child process per
 * case would cost a second each); a few cases also run as a child process,
 * for the exit status the shell sees. `MMBISECT_FUZZ_RUNS` sets the number
 * of cases per property (default 40, a couple of seconds); with it set,
 * each property prints what it tried.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertOneLine, cli, cliInProcess, type Result } from "./_cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function envRuns(): number | undefined {
  try {
    const v = Deno.env.get("MMBISECT_FUZZ_RUNS");
    return v === undefined ? undefined : Number(v);
  } catch {
    return undefined; // No --allow-env: the default.
  }
}

const RUNS_SET = envRuns();
const RUNS = RUNS_SET !== undefined && Number.isSafeInteger(RUNS_SET) && RUNS_SET > 0
  ? RUNS_SET
  : 40;
/** A case that takes longer than this counts as a hang. */
const HANG_MS = 10_000;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Corpus {
  /** File name, which gives a scenario its id. */
  name: string;
  /** The parsed file. */
  json: Json;
  /** What to run it with: a revision for a scenario, a scenario for a revision. */
  partner: string;
}

function corpus(dir: string, partner: (json: Json) => string): Corpus[] {
  return [...Deno.readDirSync(`${ROOT}${dir}`)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const json = JSON.parse(Deno.readTextFileSync(`${ROOT}${dir}/${name}`)) as Json;
      return { name, json, partner: partner(json) };
    });
}

const is2542 = (j: Json) =>
  !!j && typeof j === "object" && !Array.isArray(j) &&
  (j.kernel === "2.5.42" || j.base === "2.5.42");
const SCENARIOS = corpus("scenarios", (j) => is2542(j) ? "nl-2.5.42-f8" : "emmu-v5");
// A revision that extends another keeps its base; ones that name no base are on 2.6.24.
const REVISIONS = corpus("patches", (j) => {
  const nl = is2542(j) || (j as { extends?: string }).extends?.startsWith("nl-");
  return nl ? "nl-remap-inside" : "mremap-move";
});

/** Where a value sits in a JSON document: keys and indexes from the top. */
type Path = (string | number)[];

/** Every place in a document, down to depth 40. */
function paths(doc: Json): Path[] {
  const out: Path[] = [];
  const stack: { v: Json; at: Path }[] = [{ v: doc, at: [] }];
  while (stack.length) {
    const { v, at } = stack.pop()!;
    out.push(at);
    if (at.length >= 40) continue;
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, at: [...at, i] }));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) stack.push({ v: x, at: [...at, k] });
    }
  }
  return out;
}

/**
 * Deep nesting stands in the document as a token and becomes text only in
 * the file: the harness then never walks, copies or prints the nested value
 * (which would exhaust its own stack).
 */
function deepToken(depth: number): string {
  return `@@deep:${depth}@@`;
}

/**
 * The text of the file: deep tokens replaced by `depth` objects (odd) or
 * arrays (even), until the text passes 2 MiB (past `LIMITS.fileBytes` the
 * rest cannot matter); later ones by a plain string.
 */
function expandDeep(text: string): string {
  let budget = 2 << 20;
  return text.replace(/"@@deep:(\d+)@@"/g, (_, d: string) => {
    const n = Number(d);
    if ((budget -= 6 * n) < 0) return '"deep"';
    return n % 2
      ? '{"n":'.repeat(n) + '"deep"' + "}".repeat(n)
      : "[".repeat(n) + '"deep"' + "]".repeat(n);
  });
}

const PROPERTY_NAMES = [
  "constructor",
  "__proto__",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "__defineGetter__",
];

const HUGE = [
  2 ** 31,
  2 ** 32,
  2 ** 32 * 4096,
  2 ** 53 - 1,
  2 ** 53,
  1e30,
  -1,
  -(2 ** 53),
  0.5,
  "0xffffffff",
  "0x100000000",
  "0x1fffffffffffff",
  "0xffffffffffffffffffff",
  "99999999999999999999",
];

/** A value of the wrong type, a huge number, a property name, or deep nesting. */
type Weird = { value: Json } | { deep: number };

const weird: fc.Arbitrary<Weird> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, "", [], {}, "x".repeat(5000)).map((value) => ({
    value,
  })),
  fc.constantFrom<Json>(...HUGE).map((value) => ({ value })),
  fc.constantFrom<Json>(...PROPERTY_NAMES).map((value) => ({ value })),
  fc.integer({ min: 20, max: 5000 }).map((deep) => ({ deep })),
  fc.string({ maxLength: 12 }).map((value) => ({ value })),
  fc.integer().map((value) => ({ value })),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => ({ value })),
);

/** A deep copy. */
function copy(v: Json): Json {
  return JSON.parse(JSON.stringify(v));
}

function materialize(w: Weird): Json {
  return "deep" in w ? deepToken(w.deep) : copy(w.value);
}

/**
 * One corruption of a document. `pick` chooses among the places the
 * mutation applies to (any place, an object, an array, a number, a step,
 * a name), so that each kind has a place to work on in every document.
 */
type Mutation =
  | { kind: "replace"; pick: number; value: Weird }
  | { kind: "delete"; pick: number }
  | { kind: "add"; pick: number; key: string; value: Weird }
  | { kind: "rename"; pick: number; key: string }
  | { kind: "repeat"; pick: number; times: number }
  | { kind: "scale"; pick: number; by: number }
  | { kind: "note"; pick: number; deep: number }
  | { kind: "rename-id"; pick: number; to: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("replace" as const), pick: fc.nat(), value: weird }),
  fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("add" as const),
    pick: fc.nat(),
    key: fc.oneof(
      fc.constantFrom(...PROPERTY_NAMES, "note", "fail", "during", "threads", "thread", "cached"),
      fc.string({ maxLength: 8 }),
    ),
    value: weird,
  }),
  fc.record({
    kind: fc.constant("rename" as const),
    pick: fc.nat(),
    key: fc.constantFrom(...PROPERTY_NAMES),
  }),
  fc.record({
    kind: fc.constant("repeat" as const),
    pick: fc.nat(),
    times: fc.oneof(fc.integer({ min: 2, max: 20 }), fc.constantFrom(100, 1000, 5000)),
  }),
  fc.record({
    kind: fc.constant("scale" as const),
    pick: fc.nat(),
    by: fc.constantFrom(16, 4096, 2 ** 16, 2 ** 20, 2 ** 32),
  }),
  fc.record({
    kind: fc.constant("note" as const),
    pick: fc.nat(),
    deep: fc.integer({ min: 20, max: 100_000 }),
  }),
  fc.record({
    kind: fc.constant("rename-id" as const),
    pick: fc.nat(),
    to: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...PROPERTY_NAMES) },
      { weight: 1, arbitrary: fc.constantFrom("cpu0", "A", "kvm0", "x,y", "a:b", "", "é") },
    ),
  }),
);

/** A corrupted file: the document, its mutations, and maybe a cut in its text. */
interface Case {
  file: number;
  mutations: Mutation[];
  /** Keep this fraction of the text (truncation), when set. */
  cut?: number;
}

function caseOf(files: number): fc.Arbitrary<Case> {
  return fc.record({
    file: fc.nat({ max: files - 1 }),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
    // One case in seven is cut short.
    cut: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
    ),
  }, { requiredKeys: ["file", "mutations"] });
}

function at(doc: Json, path: Path): Json {
  let v: Json = doc;
  for (const k of path) v = (v as Record<string | number, Json>)[k];
  return v;
}

function define(obj: object, key: string | number, value: Json): void {
  // defineProperty: a "__proto__" key stays a key, as JSON.parse makes it.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const isObject = (v: Json): v is { [k: string]: Json } =>
  !!v && typeof v === "object" && !Array.isArray(v);
const isNumeric = (v: Json) =>
  typeof v === "number" || (typeof v === "string" && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v));

/** Where a mutation of each kind may apply. */
function placesFor(doc: Json, kind: Mutation["kind"]): Path[] {
  const all = paths(doc);
  switch (kind) {
    case "replace":
      return all;
    case "delete":
    case "rename":
      return all.filter((p) => p.length > 0 && (kind === "delete" || typeof p.at(-1) === "string"));
    case "add":
    case "repeat":
      return all.filter((p) => {
        const v = at(doc, p);
        return !!v && typeof v === "object";
      });
    case "scale":
      return all.filter((p) => isNumeric(at(doc, p)));
    case "note":
      return all.filter((p) => {
        const v = at(doc, p);
        return isObject(v) && "op" in v;
      });
    case "rename-id":
      // An id: the value of an id field, or a race thread's name (a key under "threads").
      return all.filter((p) =>
        (typeof at(doc, p) === "string" && ID_KEYS.has(String(p.at(-1)))) ||
        p.at(-2) === "threads"
      );
  }
}

/** Fields that hold an mm, file, secondary or thread name, or a revision id. */
const ID_KEYS = new Set(["mm", "child", "secondary", "id", "file", "name", "thread", "extends"]);

/** Replaces every `from`, as a string value or an object key, by `to` (a whole JSON string token). */
function renameEverywhere(doc: Json, from: string, to: string): Json {
  return JSON.parse(JSON.stringify(doc).split(JSON.stringify(from)).join(JSON.stringify(to)));
}

/** Applies one mutation in place; returns the (maybe replaced) document. */
function apply(doc: Json, m: Mutation): Json {
  const places = placesFor(doc, m.kind);
  if (places.length === 0) return doc;
  const path = places[m.pick % places.length];
  const key = path[path.length - 1];
  const parent = path.length ? at(doc, path.slice(0, -1)) as object : undefined;
  const here = at(doc, path);
  const set = (v: Json): Json => {
    if (!parent) return v;
    define(parent, key, v);
    return doc;
  };
  // At most a few MiB of copies: past LIMITS.fileBytes the size is all that is checked.
  const times = (v: Json, n: number) =>
    Math.min(n, Math.ceil(4e6 / (JSON.stringify(v)?.length ?? 1)));
  switch (m.kind) {
    case "replace":
      return set(materialize(m.value));
    case "delete":
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, Json>)[key];
      return doc;
    case "add":
      if (Array.isArray(here)) here.push(materialize(m.value));
      else define(here as object, m.key, materialize(m.value));
      return doc;
    case "rename":
      delete (parent as Record<string, Json>)[key];
      define(parent!, m.key, here);
      return doc;
    case "repeat":
      if (Array.isArray(here) && here.length) {
        const n = times(here[0], m.times);
        here.push(...Array.from({ length: n }, () => copy(here[0])));
      } else if (isObject(here)) {
        const first = Object.values(here)[0] ?? null;
        const n = times(first, m.times);
        for (let i = 0; i < n; i++) define(here, `k${i}`, copy(first));
      }
      return doc;
    case "scale": {
      const n = (Number(here) || 1) * m.by;
      return set(typeof here === "number" ? n : "0x" + n.toString(16));
    }
    case "note":
      define(here as object, "note", deepToken(m.deep));
      return doc;
    case "rename-id":
      return renameEverywhere(doc, typeof here === "string" ? here : String(key), m.to);
  }
}

/** The text of a corrupted file. */
function corrupt(entry: Corpus, c: Case, rename?: (doc: Json) => void): string {
  let doc = copy(entry.json);
  rename?.(doc);
  for (const m of c.mutations) doc = apply(doc, m);
  const text = expandDeep(JSON.stringify(doc) ?? "");
  return c.cut === undefined ? text : text.slice(0, Math.floor(text.length * c.cut));
}

interface Tally {
  tried: number;
  ran: number;
  refused: number;
  crashes: number;
  hangs: number;
  slowestMs: number;
}

/** Asserts the promise for one result: an outcome, or one line and exit 2. */
function assertPromise(r: Result, what: string): void {
  if (r.code === 0) {
    assert.ok(r.stdout.length > 0, `${what}: exit 0 prints an outcome`);
    assert.equal(r.stderr, "", `${what}: exit 0 prints nothing on standard error`);
    return;
  }
  assert.equal(r.code, 2, `${what}: exit status ${r.code}; stderr: ${r.stderr}`);
  assert.equal(r.stdout, "", what);
  assertOneLine(r.stderr);
}

async function fuzz(
  label: string,
  entries: Corpus[],
  args: (file: string, entry: Corpus) => string[],
  rename?: (doc: Json, entry: Corpus) => void,
): Promise<Tally> {
  const dir = Deno.makeTempDirSync({ prefix: "mmbisect-fuzz-" });
  const tally: Tally = { tried: 0, ran: 0, refused: 0, crashes: 0, hangs: 0, slowestMs: 0 };
  try {
    await fc.assert(
      fc.asyncProperty(caseOf(entries.length), async (c) => {
        const entry = entries[c.file];
        const file = `${dir}/${entry.name}`;
        Deno.writeTextFileSync(file, corrupt(entry, c, rename && ((d) => rename(d, entry))));
        tally.tried++;
        const t0 = performance.now();
        let r: Result;
        try {
          r = await cliInProcess(...args(file, entry));
        } catch (e) {
          tally.crashes++;
          throw e;
        }
        const ms = performance.now() - t0;
        tally.slowestMs = Math.max(tally.slowestMs, ms);
        if (ms > HANG_MS) {
          tally.hangs++;
          assert.fail(`${entry.name}: ${Math.round(ms)} ms (a hang)`);
        }
        if (r.code === 0) tally.ran++;
        else tally.refused++;
        assertPromise(r, entry.name);
      }),
      { numRuns: RUNS },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
    if (RUNS_SET !== undefined) {
      console.log(
        `${label}: ${tally.tried} inputs tried, ${tally.ran} ran, ${tally.refused} refused, ` +
          `${tally.crashes} crashes, ${tally.hangs} hangs, slowest ${
            Math.round(tally.slowestMs)
          } ms`,
      );
    }
  }
  return tally;
}

Deno.test("main() keeps its promise on corrupted shipped scenario files", async () => {
  await fuzz("scenarios", SCENARIOS, (file, e) => ["run", file, e.partner]);
});

Deno.test("main() keeps its promise on corrupted shipped revision files", async () => {
  // A new id, so that the copy does not clash with the shipped file it comes from.
  const rename = (doc: Json, e: Corpus) => {
    if (doc && typeof doc === "object" && !Array.isArray(doc)) {
      doc.id = `fuzz-${e.name.replace(/\.json$/, "")}`;
    }
  };
  await fuzz("revisions", REVISIONS, (file, e) => ["run", e.partner, file], rename);
});

Deno.test("main() keeps its promise on corrupted files in a child process too", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "mmbisect-fuzz-" });
  try {
    // A few fixed samples: the exit status and streams the shell sees.
    const samples = fc.sample(caseOf(SCENARIOS.length), { seed: 42, numRuns: 3 });
    for (const c of samples) {
      const entry = SCENARIOS[c.file];
      const file = `${dir}/${entry.name}`;
      Deno.writeTextFileSync(file, corrupt(entry, c));
      assertPromise(await cli("run", file, entry.partner), entry.name);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
