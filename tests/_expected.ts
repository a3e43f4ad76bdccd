/**
 * Pinned expectations: scenario x revision -> violation kinds (and some
 * return values), each with the seed text that justifies it. Read from
 * `tests/expected_emmu.json` (2.6.24 scenarios) and
 * `tests/expected_nonlinear.json` (2.5.42 scenarios).
 *
 * @module
 */
import type { Outcome } from "../mod.ts";

/** One pinned expectation. */
export interface Expectation {
  kinds: string[];
  cite: string;
  /** Step index -> expected return value. */
  returns?: Record<string, string | number>;
  /** Step index -> the callouts made during it, as "call range" (or "call address"). */
  calls?: Record<string, string[]>;
  /** For a pin that changed: what changed from the pin before, and why (with its source). */
  note?: string;
}

/** Expectations by scenario, then by revision id or "default". */
export type ExpectationTable = Record<string, Record<string, Expectation>>;

/** Loads the pinned table. */
export function loadExpectations(): ExpectationTable {
  const read = (name: string): ExpectationTable =>
    JSON.parse(Deno.readTextFileSync(new URL(name, import.meta.url)));
  return { ...read("./expected_emmu.json"), ...read("./expected_nonlinear.json") };
}

/** The expectation for one cell: the revision's own entry, else the scenario's default. */
export function expectationFor(
  t: ExpectationTable,
  scenario: string,
  revision: string,
): Expectation {
  const s = t[scenario];
  if (!s) throw new Error(`no pinned expectation for scenario ${scenario}`);
  return s[revision] ?? s.default;
}

/** Describes how an outcome differs from its expectation, or returns null when it matches. */
export function mismatch(o: Outcome, e: Expectation): string | null {
  const got = [...o.kinds].sort().join(",");
  const want = [...e.kinds].sort().join(",");
  if (got !== want) {
    const first = o.violations[0];
    return `kinds [${got}] != pinned [${want}]${
      first ? ` (first: ${first.kind} at step ${first.step}: ${first.detail})` : ""
    }`;
  }
  if (o.aborted) return `aborted: ${o.aborted}`;
  for (const [step, want] of Object.entries(e.calls ?? {})) {
    const got = o.trace.filter((t) => t.step === Number(step)).map((t) =>
      [t.call, t.range ?? t.address].filter((x) => x !== undefined).join(" ")
    );
    if (got.join("; ") !== want.join("; ")) {
      return `step ${step} called out [${got.join("; ")}], pinned [${want.join("; ")}]`;
    }
  }
  for (const [step, value] of Object.entries(e.returns ?? {})) {
    const r = o.returns[Number(step)]?.value;
    if (r !== value) {
      return `step ${step} returned ${JSON.stringify(r)}, pinned ${JSON.stringify(value)}`;
    }
  }
  return null;
}
