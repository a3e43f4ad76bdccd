/**
 * Expectation tables: scenario x revision -> the violation kinds (and
 * optionally return values and callouts) a run must show, each with the
 * text that justifies it. The shipped pins (`expectations/emmu.json`,
 * `expectations/nonlinear.json`) are one; a user keeps their own in the
 * same format and checks a run against it with `report --expect FILE`.
 *
 * Format: a JSON object whose keys are scenario ids; each maps revision ids
 * (or `"default"`, for every revision without its own entry) to
 * `{ "kinds": [...], "cite": "...", "returns"?: { "<step>": value },
 * "calls"?: { "<step>": ["call range", ...] }, "note"?: "..." }`.
 *
 * @module
 */
import { InputError, readJsonFile } from "../run/errors.ts";
import type { Outcome } from "../run/outcome.ts";

/** One pinned expectation. */
export interface Expectation {
  /** The violation kinds the run must show, exactly (any order). */
  kinds: string[];
  /** The seed text (file, message, hunk) that justifies the pin. */
  cite: string;
  /** Step index -> expected return value. */
  returns?: Record<string, string | number>;
  /** Step index -> the callouts made during it, as "call range" (or "call address"). */
  calls?: Record<string, string[]>;
  /** For a pin that changed: what it was, what changed it and why (not compared). */
  note?: string;
}

/** Expectations by scenario, then by revision id or `"default"`. */
export type ExpectationTable = Record<string, Record<string, Expectation>>;

/** How one cell compares with its expectation. */
export interface Judgement {
  /** The scenario id. */
  scenario: string;
  /** The revision id. */
  revision: string;
  /** `match`, `mismatch`, or `unpinned` when the table has no expectation for the cell. */
  result: "match" | "mismatch" | "unpinned";
  /** The expectation, unless unpinned. */
  expected?: Expectation;
  /** For a mismatch: how the outcome differs. */
  diagnosis?: string;
  /** The command that reproduces the outcome. */
  reproduce: string;
}

/**
 * Checks and returns an expectation table read from `file`.
 *
 * @param raw The parsed JSON.
 * @param file The file it came from, for messages.
 * @returns The table.
 * @throws {InputError} Naming the first field that does not fit the format.
 *
 * @example
 * ```ts
 * import { parseExpectations } from "./expect.ts";
 * const t = parseExpectations({ s: { default: { kinds: [], cite: "seed" } } }, "mine.json");
 * console.log(t.s.default.cite); // "seed"
 * ```
 */
export function parseExpectations(raw: unknown, file: string): ExpectationTable {
  const obj = (v: unknown, field: string): Record<string, unknown> => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new InputError(file, field, "must be an object");
    }
    return v as Record<string, unknown>;
  };
  const top = obj(raw, "(file)");
  const out: ExpectationTable = {};
  for (const [scenario, byRev] of Object.entries(top)) {
    out[scenario] = {};
    for (const [rev, e0] of Object.entries(obj(byRev, scenario))) {
      const at = `${scenario}.${rev}`;
      const e = obj(e0, at);
      for (const k of Object.keys(e)) {
        if (!["kinds", "cite", "returns", "calls", "note"].includes(k)) {
          throw new InputError(
            file,
            `${at}.${k}`,
            "is unknown (expected kinds, cite, returns, calls or note)",
          );
        }
      }
      if (!Array.isArray(e.kinds) || e.kinds.some((k) => typeof k !== "string")) {
        throw new InputError(file, `${at}.kinds`, "must be an array of violation kinds");
      }
      if (typeof e.cite !== "string" || e.cite === "") {
        throw new InputError(file, `${at}.cite`, "must be a non-empty string citing the source");
      }
      if (e.note !== undefined && typeof e.note !== "string") {
        throw new InputError(file, `${at}.note`, "must be a string");
      }
      const x: Expectation = { kinds: e.kinds as string[], cite: e.cite };
      if (e.returns !== undefined) {
        const r = obj(e.returns, `${at}.returns`);
        for (const [step, v] of Object.entries(r)) {
          if (!/^[0-9]+$/.test(step) || (typeof v !== "string" && typeof v !== "number")) {
            throw new InputError(
              file,
              `${at}.returns.${step}`,
              "must map a step index to a string or number",
            );
          }
        }
        x.returns = r as Record<string, string | number>;
      }
      if (e.calls !== undefined) {
        const c = obj(e.calls, `${at}.calls`);
        for (const [step, v] of Object.entries(c)) {
          if (
            !/^[0-9]+$/.test(step) || !Array.isArray(v) || v.some((s) => typeof s !== "string")
          ) {
            throw new InputError(
              file,
              `${at}.calls.${step}`,
              "must map a step index to an array of strings",
            );
          }
        }
        x.calls = c as Record<string, string[]>;
      }
      if (e.note !== undefined) x.note = e.note as string;
      out[scenario][rev] = x;
    }
  }
  return out;
}

/**
 * Reads an expectation table from a file (see the module documentation
 * for its format).
 *
 * @param path The file.
 * @returns The table.
 * @throws {InputError} When the file cannot be read or does not fit the format.
 *
 * @example
 * ```ts
 * import { loadExpectationFile } from "./expect.ts";
 * const t = loadExpectationFile("expectations/emmu.json");
 * console.log(t["wp-reuse-after-fork"]["emmu-v5"].kinds);
 * ```
 */
export function loadExpectationFile(path: string): ExpectationTable {
  return parseExpectations(readJsonFile(path), path);
}

/**
 * The pins shipped with mmbisect, for the shipped scenarios and revisions:
 * `expectations/emmu.json` (2.6.24) and `expectations/nonlinear.json` (2.5.42).
 *
 * @returns The table.
 *
 * @example
 * ```ts
 * import { shippedExpectations } from "./expect.ts";
 * console.log(shippedExpectations()["exit-release"].default.kinds); // []
 * ```
 */
export function shippedExpectations(): ExpectationTable {
  const read = (name: string) => {
    const url = new URL(`../../expectations/${name}`, import.meta.url);
    return parseExpectations(JSON.parse(Deno.readTextFileSync(url)), `expectations/${name}`);
  };
  return { ...read("emmu.json"), ...read("nonlinear.json") };
}

/**
 * The expectation of one cell: the revision's own entry, else the
 * scenario's `default`.
 *
 * @param table The table.
 * @param scenario A scenario id.
 * @param revision A revision id.
 * @returns The expectation, or undefined when the table has none.
 *
 * @example
 * ```ts
 * import { expectationFor } from "./expect.ts";
 * const t = { s: { default: { kinds: [], cite: "a" }, r: { kinds: ["errno"], cite: "b" } } };
 * console.log(expectationFor(t, "s", "r")?.cite, expectationFor(t, "s", "q")?.cite); // b a
 * ```
 */
export function expectationFor(
  table: ExpectationTable,
  scenario: string,
  revision: string,
): Expectation | undefined {
  const s = Object.hasOwn(table, scenario) ? table[scenario] : undefined;
  if (!s) return undefined;
  return Object.hasOwn(s, revision) ? s[revision] : s.default;
}

/**
 * How an outcome differs from its expectation: the kinds first, then a run
 * that stopped early, the pinned callouts and the pinned return values.
 *
 * @param o The outcome.
 * @param e The expectation.
 * @returns One line saying the first difference, or null when it matches.
 *
 * @example
 * ```ts
 * import { mismatch } from "./expect.ts";
 * import type { Outcome } from "../run/outcome.ts";
 * const o = { kinds: ["errno"], violations: [], trace: [], returns: [] } as unknown as Outcome;
 * console.log(mismatch(o, { kinds: [], cite: "seed" })); // "kinds [errno] != pinned []"
 * ```
 */
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

/**
 * Judges outcomes against an expectation table.
 *
 * @param outcomes The outcomes, in the order to report them.
 * @param table The table.
 * @returns One judgement per outcome, in the same order.
 *
 * @example
 * ```ts
 * import { judge } from "./expect.ts";
 * import type { Outcome } from "../run/outcome.ts";
 * const o = {
 *   scenario: "s", revision: "r", kinds: [], violations: [], trace: [], returns: [], reproduce: "x",
 * } as unknown as Outcome;
 * console.log(judge([o], { s: { default: { kinds: [], cite: "seed" } } })[0].result); // "match"
 * ```
 */
export function judge(outcomes: readonly Outcome[], table: ExpectationTable): Judgement[] {
  return outcomes.map((o) => {
    const e = expectationFor(table, o.scenario, o.revision);
    const j: Judgement = {
      scenario: o.scenario,
      revision: o.revision,
      result: "unpinned",
      reproduce: o.reproduce,
    };
    if (!e) return j;
    j.expected = e;
    const d = mismatch(o, e);
    j.result = d === null ? "match" : "mismatch";
    if (d !== null) j.diagnosis = d;
    return j;
  });
}
