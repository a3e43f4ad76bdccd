import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson, digest, fnv1a } from "../src/model/state.ts";

/** canonicalJson() as it was first written: JSON.stringify with a key-sorting replacer. */
function reference(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
      return out;
    }
    return v;
  });
}

/** Keys that exercise the engine's ordering: array indexes, near-indexes, escapes. */
const KEY = fc.oneof(
  fc.string(),
  fc.nat({ max: 20 }).map(String),
  fc.constantFrom("4294967294", "4294967295", "01", "-1", "1.5", "__proto__x", '"', "\u2028"),
);

/** JSON-like values with the oddities JSON.stringify treats specially. */
const { value: VALUE } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false, undefined, NaN, -0, Infinity, 1e21, 5e-324),
    fc.double(),
    fc.integer(),
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie("value")),
    fc.dictionary(KEY, tie("value")),
  ),
}));

Deno.test("canonicalJson() gives the bytes of JSON.stringify with sorted keys", () => {
  fc.assert(
    fc.property(VALUE, (v) => {
      assert.equal(
        canonicalJson(v === undefined ? null : v),
        reference(v === undefined ? null : v),
      );
    }),
    { numRuns: 2000 },
  );
});

Deno.test("canonicalJson() keeps the hashes pinned with the first version", () => {
  const state = { b: [1, { y: undefined, x: () => 0 }], a: { "10": 0, "9": 1, z: "é" } };
  assert.equal(canonicalJson(state), '{"a":{"9":1,"10":0,"z":"é"},"b":[1,{}]}');
  assert.equal(digest(state), fnv1a(reference(state)));
});

Deno.test("canonicalJson() serialises values nested far deeper than the call stack", () => {
  const depth = 100_000;
  let arr: unknown = 0;
  let obj: unknown = 0;
  for (let i = 0; i < depth; i++) {
    arr = [arr];
    obj = { k: obj };
  }
  assert.equal(canonicalJson(arr), "[".repeat(depth) + "0" + "]".repeat(depth));
  assert.equal(canonicalJson(obj), '{"k":'.repeat(depth) + "0" + "}".repeat(depth));
  assert.match(digest(obj), /^[0-9a-f]{16}$/);
});

Deno.test("canonicalJson() rejects what JSON cannot hold with a TypeError", () => {
  const loop: Record<string, unknown> = { a: 1 };
  loop.self = { back: loop };
  assert.throws(() => canonicalJson(loop), TypeError);
  assert.throws(() => canonicalJson({ n: 1n }), TypeError);
  assert.throws(() => canonicalJson(undefined), TypeError);
  // The same object twice, not inside itself, is no cycle.
  const shared = { x: 1 };
  assert.equal(canonicalJson([shared, shared]), '[{"x":1},{"x":1}]');
});
