/**
 * What the fuzz tests share: how many inputs to try, and what "a typed
 * outcome" means (the harness returned a value of its documented shape
 * rather than throwing).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  CELL_STATUSES,
  cellStatus,
  type ExploreResult,
  type Outcome,
  outcomeJson,
  ScenarioError,
} from "../mod.ts";
import { type Schema, validate } from "./_json_schema.ts";

/** Inputs per fuzz property when `MMBISECT_FUZZ_RUNS` is not set: a few seconds in all. */
export const DEFAULT_FUZZ_RUNS = 40;

/**
 * Inputs per fuzz property: `MMBISECT_FUZZ_RUNS` (`deno task fuzz` sets it
 * high), else {@link DEFAULT_FUZZ_RUNS}.
 */
export function fuzzRuns(): number {
  const raw = Deno.env.get("MMBISECT_FUZZ_RUNS");
  if (raw === undefined || raw === "") return DEFAULT_FUZZ_RUNS;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`MMBISECT_FUZZ_RUNS is "${raw}" (expected a positive integer)`);
  }
  return n;
}

/** fast-check's seed, when `MMBISECT_FUZZ_SEED` fixes one (a failure prints the seed it used). */
export function fuzzSeed(): number | undefined {
  const raw = Deno.env.get("MMBISECT_FUZZ_SEED");
  return raw === undefined || raw === "" ? undefined : Number(raw);
}

const SCHEMA: Schema = JSON.parse(
  Deno.readTextFileSync(new URL("../docs/report-schema.json", import.meta.url)),
);

/**
 * Asserts that `o` is an outcome of the documented shape: it serialises, its
 * JSON validates against the report schema's outcome, and it has a status.
 */
export function assertTypedOutcome(o: Outcome, label: string): void {
  const errors = validate(SCHEMA, JSON.parse(outcomeJson(o)), "outcome");
  assert.deepEqual(errors, [], label);
  assert.ok(CELL_STATUSES.includes(cellStatus(o)), label);
}

/** Asserts that `r` is an explorer result of the documented shape. */
export function assertTypedExploration(r: ExploreResult, label: string): void {
  const errors = validate(SCHEMA, JSON.parse(JSON.stringify(r)), "exploreResult");
  assert.deepEqual(errors, [], label);
}

/**
 * Runs `body`; a {@link ScenarioError} (a `during.at` or `fail` the run never
 * reached: the input's fault, refused with exit 2) gives null, as a refused
 * input does, and anything else thrown propagates.
 */
export function unlessRefused<T>(body: () => T): T | null {
  try {
    return body();
  } catch (e) {
    if (e instanceof ScenarioError) return null;
    throw e;
  }
}
