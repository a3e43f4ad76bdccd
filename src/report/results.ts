/**
 * Result sets: what `report --shard k/n` writes, and what `merge` joins into
 * the full report. A result set holds the outcomes and explorer results of
 * one shard's units, each under its index in the whole run's unit lists,
 * with what the merge checks before it trusts them: the schema versions,
 * the report's options, the content hash of every scenario and revision
 * loaded, and the shard. Every field is documented in
 * `docs/results-schema.json`.
 *
 * @module
 */
import type { ExploreResult } from "../explore/explorer.ts";
import type { WorkResults } from "../jobs/pool.ts";
import type { Shard } from "../jobs/shard.ts";
import { canonicalJson } from "../model/state.ts";
import { InputError, readJsonFile } from "../run/errors.ts";
import type { CellPair } from "../run/matrix.ts";
import { type Outcome, OUTCOME_SCHEMA } from "../run/outcome.ts";
import { REPORT_SCHEMA } from "./json.ts";

/** Version of the result set JSON schema. */
export const RESULTS_SCHEMA = "mmbisect/results@1";

/** The largest result set `merge` reads, in bytes (a whole run's is a few MiB). */
export const RESULT_SET_MAX_BYTES = 256 * 1024 * 1024;

/** The options of `report` that decide its units and its text: `merge` takes them from here. */
export interface ResultOptions {
  /** The lineages asked for with `--lineage`, in order; absent for every lineage. */
  lineages?: string[];
  /** The `--baseline` revision, when one was named. */
  baseline?: string;
  /** Whether the race scenarios were explored (false with `--no-races`). */
  races: boolean;
  /** The `--timeout` of each unit, in seconds. */
  timeout: number;
}

/** A scenario or revision by id and content hash. */
export interface InputId {
  /** The id. */
  id: string;
  /** Its content hash (`scenarioHash` or `revisionHash`). */
  hash: string;
}

/** The results of one shard of a report run. */
export interface ResultSet {
  /** Always {@link RESULTS_SCHEMA}. */
  schema: typeof RESULTS_SCHEMA;
  /** The report schema the results are for, {@link REPORT_SCHEMA}. */
  report: typeof REPORT_SCHEMA;
  /** Which shard of how many. */
  shard: Shard;
  /** The report's options. */
  options: ResultOptions;
  /** Every scenario loaded, in load order. */
  scenarios: InputId[];
  /** Every revision loaded (those of `--revision` too), in load order. */
  revisions: InputId[];
  /** How many cells and explorations the whole run has, over every shard. */
  units: { cells: number; explorations: number };
  /** The shard's cells: each outcome under its index in the run's cells, increasing. */
  cells: { index: number; outcome: Outcome }[];
  /** The shard's explorations, likewise. */
  explorations: { index: number; result: ExploreResult }[];
}

/**
 * A set of result sets that cannot be merged: one line naming the file (or
 * the missing shard) and what is wrong. It is bad input, exit status 2.
 *
 * @example
 * ```ts
 * import { MergeError } from "./results.ts";
 * console.log(new MergeError("b.json", 'holds shard 1/2, as "a.json" does').message);
 * ```
 */
export class MergeError extends InputError {
  /**
   * Creates a merge error.
   *
   * @param file The result set at fault.
   * @param what What is wrong with it.
   */
  constructor(file: string, what: string) {
    super(file, "(file)", what);
    this.name = "MergeError";
    this.message = `Cannot merge "${file}": ${what}`;
  }
}

/**
 * Serialises a result set: two-space indent, trailing newline, and every
 * object's keys in the order the program built them, not sorted. Parsed
 * again, the outcomes are then the very objects the run made, key order
 * included, which the HTML report's embedded data shows: with sorted keys,
 * a merged HTML report would differ from the report run in one go. The
 * same run still gives the same bytes.
 *
 * @param set The result set.
 * @returns JSON text.
 *
 * @example
 * ```ts
 * import { RESULTS_SCHEMA, resultSetJson } from "./results.ts";
 * const text = resultSetJson({
 *   schema: RESULTS_SCHEMA,
 *   report: "mmbisect/report@1",
 *   shard: { index: 1, count: 1 },
 *   options: { races: false, timeout: 60 },
 *   scenarios: [],
 *   revisions: [],
 *   units: { cells: 0, explorations: 0 },
 *   cells: [],
 *   explorations: [],
 * });
 * console.log(JSON.parse(text).schema); // "mmbisect/results@1"
 * ```
 */
export function resultSetJson(set: ResultSet): string {
  return JSON.stringify(set, null, 2) + "\n";
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Reads a result set and checks its envelope: the schema versions, and the
 * type of every field down to each result's scenario and revision ids. The
 * results themselves are taken as `report --shard` wrote them.
 *
 * @param file The path of the file.
 * @returns The result set.
 * @throws {InputError} When the file cannot be read, is not JSON, is a full
 * report or a result set of another schema version, or lacks a field.
 */
export function readResultSet(file: string): ResultSet {
  const v = readJsonFile(file, { maxBytes: RESULT_SET_MAX_BYTES });
  const bad = (field: string, expected: string) => new InputError(file, field, expected);
  if (!isObj(v)) throw bad("(file)", "is not a result set (expected a JSON object)");
  if (v.schema !== RESULTS_SCHEMA) {
    if (v.schema === REPORT_SCHEMA) {
      throw bad(
        "schema",
        `is "${REPORT_SCHEMA}": a whole report, not a result set of report --shard`,
      );
    }
    throw bad(
      "schema",
      `is ${JSON.stringify(v.schema)} (this mmbisect merges "${RESULTS_SCHEMA}")`,
    );
  }
  if (v.report !== REPORT_SCHEMA) {
    throw bad(
      "report",
      `is ${
        JSON.stringify(v.report)
      }: results for another report schema (this mmbisect writes "${REPORT_SCHEMA}")`,
    );
  }
  const shard = v.shard;
  if (
    !isObj(shard) || !isCount(shard.index) || !isCount(shard.count) || shard.index > shard.count
  ) {
    throw bad("shard", "must be { index, count } with 1 <= index <= count");
  }
  const o = v.options;
  if (
    !isObj(o) || typeof o.races !== "boolean" || typeof o.timeout !== "number" ||
    !(o.lineages === undefined || isStrings(o.lineages)) ||
    !(o.baseline === undefined || typeof o.baseline === "string")
  ) {
    throw bad("options", "must be { lineages?, baseline?, races, timeout }");
  }
  for (const key of ["scenarios", "revisions"] as const) {
    const list = v[key];
    if (
      !Array.isArray(list) ||
      !list.every((x) => isObj(x) && typeof x.id === "string" && typeof x.hash === "string")
    ) {
      throw bad(key, "must be a list of { id, hash }");
    }
  }
  const units = v.units;
  if (!isObj(units) || !isIndex(units.cells) || !isIndex(units.explorations)) {
    throw bad("units", "must be { cells, explorations }, two counts");
  }
  checkResults(v.cells, "cells", "outcome", bad);
  checkResults(v.explorations, "explorations", "result", bad);
  for (const [i, c] of (v.cells as { outcome: Obj }[]).entries()) {
    if (c.outcome.schema !== OUTCOME_SCHEMA) {
      throw bad(`cells[${i}].outcome.schema`, `must be "${OUTCOME_SCHEMA}"`);
    }
  }
  return v as unknown as ResultSet;
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isCount(v: unknown): v is number {
  return isIndex(v) && v > 0;
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function checkResults(
  list: unknown,
  field: string,
  key: string,
  bad: (field: string, expected: string) => InputError,
): void {
  if (!Array.isArray(list)) throw bad(field, `must be a list of { index, ${key} }`);
  for (const [i, x] of list.entries()) {
    const r = isObj(x) ? x[key] : undefined;
    if (
      !isObj(x) || !isIndex(x.index) || !isObj(r) || typeof r.scenario !== "string" ||
      typeof r.revision !== "string"
    ) {
      throw bad(
        `${field}[${i}]`,
        `must be { index, ${key} } with the ${key}'s scenario and revision`,
      );
    }
  }
}

/** A result set and the file it was read from. */
export interface ResultFile {
  /** The path it was read from, which messages name. */
  file: string;
  /** Its content. */
  set: ResultSet;
}

/**
 * Checks that result sets are the shards of one run, each once: the same
 * options, scenarios, revisions and unit counts, the same shard count, no
 * shard twice and none missing.
 *
 * @param files The result sets, at least one.
 * @returns The options the run was made with (those of every file).
 * @throws {MergeError} Naming the first file that does not fit with the
 * first one, or the first missing shard.
 *
 * @example
 * ```ts
 * import { checkShards, type ResultSet } from "./results.ts";
 * const set = (index: number): ResultSet => ({
 *   schema: "mmbisect/results@1",
 *   report: "mmbisect/report@1",
 *   shard: { index, count: 2 },
 *   options: { races: false, timeout: 60 },
 *   scenarios: [],
 *   revisions: [],
 *   units: { cells: 0, explorations: 0 },
 *   cells: [],
 *   explorations: [],
 * });
 * try {
 *   checkShards([{ file: "a.json", set: set(1) }, { file: "b.json", set: set(1) }]);
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot merge "b.json": it holds shard 1/2, as "a.json" does
 * }
 * ```
 */
export function checkShards(files: ResultFile[]): ResultOptions {
  const [first, ...rest] = files;
  const a = first.set;
  const held = new Map<number, string>([[a.shard.index, first.file]]);
  for (const { file, set: b } of rest) {
    const than = `than "${first.file}"`;
    if (canonicalJson(b.options) !== canonicalJson(a.options)) {
      throw new MergeError(
        file,
        `it was run with other options ${than} (${optionsText(b.options)}; there ${
          optionsText(a.options)
        })`,
      );
    }
    const diff = inputDiff(b, a);
    if (diff) {
      throw new MergeError(file, `it was run on other scenarios or revisions ${than} (${diff})`);
    }
    if (b.shard.count !== a.shard.count) {
      throw new MergeError(
        file,
        `it is shard ${b.shard.index}/${b.shard.count}, but "${first.file}" is one of ${a.shard.count}`,
      );
    }
    if (canonicalJson(b.units) !== canonicalJson(a.units)) {
      throw new MergeError(file, `its run has other units ${than}`);
    }
    const other = held.get(b.shard.index);
    if (other !== undefined) {
      throw new MergeError(
        file,
        `it holds shard ${b.shard.index}/${b.shard.count}, as "${other}" does`,
      );
    }
    held.set(b.shard.index, file);
  }
  for (let k = 1; k <= a.shard.count; k++) {
    if (!held.has(k)) {
      const given = files.map((f) => `"${f.file}" (${f.set.shard.index})`).join(", ");
      throw new MergeError(
        first.file,
        `shard ${k}/${a.shard.count} is missing (the files given hold ${given} of ${a.shard.count})`,
      );
    }
  }
  return a.options;
}

/** The options as `report` takes them, for a message. */
function optionsText(o: ResultOptions): string {
  return [
    ...(o.lineages ?? []).map((l) => `--lineage ${l}`),
    ...(o.baseline === undefined ? [] : [`--baseline ${o.baseline}`]),
    ...(o.races ? [] : ["--no-races"]),
    `--timeout ${o.timeout}`,
  ].join(" ");
}

/** The first scenario or revision that differs between two sets of inputs, or "". */
function inputDiff(
  b: { scenarios: InputId[]; revisions: InputId[] },
  a: { scenarios: InputId[]; revisions: InputId[] },
): string {
  for (const key of ["scenarios", "revisions"] as const) {
    const what = key === "scenarios" ? "scenario" : "revision";
    const there = new Map(a[key].map((x) => [x.id, x.hash]));
    const here = new Map(b[key].map((x) => [x.id, x.hash]));
    for (const [id, hash] of here) {
      if (!there.has(id)) return `${what} "${id}" is not in the other`;
      if (there.get(id) !== hash) return `${what} "${id}" has another content hash`;
    }
    for (const id of there.keys()) {
      if (!here.has(id)) return `${what} "${id}" is missing`;
    }
    if (a[key].map((x) => x.id).join("\n") !== b[key].map((x) => x.id).join("\n")) {
      return `the ${key} are in another order`;
    }
  }
  return "";
}

/** What a merge expects: the inputs loaded here and the run's units, planned from the options. */
export interface MergePlan {
  /** Every scenario loaded here, by id and hash. */
  scenarios: InputId[];
  /** Every revision loaded here, by id and hash. */
  revisions: InputId[];
  /** The run's cells, in order. */
  cells: CellPair[];
  /** The run's explorations, in order. */
  explorations: CellPair[];
}

/**
 * Joins the results of checked shards (see {@link checkShards}) into the
 * results of the whole run, each in its place in the unit lists: the
 * results a run without shards gets.
 *
 * @param files The result sets of every shard.
 * @param plan The inputs loaded here and the units the options give.
 * @returns The outcomes and explorer results, in the units' order.
 * @throws {MergeError} When a file was run on other scenarios or revisions
 * than those loaded here, or holds a result out of place, or lacks one of
 * its shard's.
 */
export function mergeResults(files: ResultFile[], plan: MergePlan): WorkResults {
  const outcomes: Outcome[] = new Array(plan.cells.length);
  const explorations: ExploreResult[] = new Array(plan.explorations.length);
  for (const { file, set } of files) {
    const diff = inputDiff(set, plan);
    if (diff) {
      throw new MergeError(
        file,
        `it was run on other scenarios or revisions than those loaded here (${diff}; ` +
          "give merge the --scenarios, --patches and --revision the shards had)",
      );
    }
    const units = { cells: plan.cells.length, explorations: plan.explorations.length };
    if (canonicalJson(set.units) !== canonicalJson(units)) {
      throw new MergeError(file, "its run has other units than its options give here");
    }
    const place = <T extends { scenario: string; revision: string }>(
      list: { index: number; value: T }[],
      pairs: CellPair[],
      into: T[],
      what: string,
    ) => {
      const want = new Set<number>();
      for (let i = set.shard.index - 1; i < pairs.length; i += set.shard.count) want.add(i);
      for (const { index, value } of list) {
        const p = pairs[index];
        if (
          !want.delete(index) || value.scenario !== p.scenario.id ||
          value.revision !== p.revision.id
        ) {
          throw new MergeError(
            file,
            `its ${what} ${index} (${value.scenario} on ${value.revision}) is not one of shard ${set.shard.index}/${set.shard.count}'s`,
          );
        }
        into[index] = value;
      }
      const missing = [...want][0];
      if (missing !== undefined) {
        const p = pairs[missing];
        throw new MergeError(
          file,
          `it lacks ${what} ${missing} (${p.scenario.id} on ${p.revision.id}) of shard ${set.shard.index}/${set.shard.count}`,
        );
      }
    };
    place(
      set.cells.map((c) => ({ index: c.index, value: c.outcome })),
      plan.cells,
      outcomes,
      "cell",
    );
    place(
      set.explorations.map((c) => ({ index: c.index, value: c.result })),
      plan.explorations,
      explorations,
      "exploration",
    );
  }
  // The cost table is not a shard's: merge measures it as a report does.
  return { outcomes, explorations, costs: [] };
}
