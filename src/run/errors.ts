/**
 * Input errors: raised for a bad revision, scenario or command line, and
 * printed as one line with exit code 2.
 *
 * @module
 */
import { ID_PATTERN, LIMITS } from "./limits.ts";

/** A user-input error: names the file and field, and what was expected. */
export class InputError extends Error {
  /**
   * Creates an input error.
   *
   * @param file The file that holds the bad input.
   * @param field The field, dotted (`steps[2].addr`), or `(file)` or `(directory)` for the
   * file or directory as a whole.
   * @param expected What is wrong and what was expected, after the field name.
   */
  constructor(readonly file: string, readonly field: string, readonly expected: string) {
    super(`Cannot load "${file}": ${whole(field) ?? `field "${field}"`} ${expected}`);
    this.name = "InputError";
  }
}

/** `file` for the field `(file)`: the message speaks of the file as a whole. */
function whole(field: string): string | undefined {
  return /^\([a-z]+\)$/.test(field) ? field.slice(1, -1) : undefined;
}

/**
 * A scenario that loads but asks for something its run never does: a
 * `during.at` point or a `fail` allocation that the step does not reach on
 * a revision. Only a run can tell, so the runner raises it; the command
 * line prints it as bad input (one line, exit status 2), like an
 * {@link InputError}, which it extends.
 *
 * @example
 * ```ts
 * import { ScenarioError } from "./errors.ts";
 * const e = new ScenarioError("x.json", "steps[1].fail.page[0]", "is 9, but the step made 2 page allocations", {
 *   revision: "emmu-v5",
 * });
 * console.log(e.message);
 * ```
 */
export class ScenarioError extends InputError {
  /** The revision it ran on. */
  readonly revision: string;

  /**
   * Creates a scenario error.
   *
   * @param file The scenario file.
   * @param field The field that asks for what the run did not do.
   * @param expected What the run did instead, after the field name.
   * @param opts The revision it ran on.
   */
  constructor(file: string, field: string, expected: string, opts: { revision: string }) {
    super(file, field, expected);
    this.name = "ScenarioError";
    this.revision = opts.revision;
    this.message =
      `Scenario "${file}" cannot run on "${opts.revision}": field "${field}" ${expected}`;
  }
}

/** A JSON value as read from a file. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Checks that a value is a plain object and that it has only the allowed keys. */
export function expectObject(
  v: unknown,
  file: string,
  field: string,
  allowed: readonly string[],
): Record<string, Json> {
  if (!v || typeof v !== "object" || Array.isArray(v)) {
    throw new InputError(file, field, "must be an object");
  }
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key)) {
      throw new InputError(
        file,
        field ? `${field}.${key}` : key,
        `is unknown (expected one of: ${allowed.join(", ")})`,
      );
    }
  }
  return v as Record<string, Json>;
}

/** Reads a required or optional string field, optionally from a fixed set. */
export function expectString(
  obj: Record<string, Json>,
  key: string,
  file: string,
  field: string,
  opts: { optional?: boolean; oneOf?: readonly string[] } = {},
): string | undefined {
  const v = obj[key];
  const name = field ? `${field}.${key}` : key;
  if (v === undefined) {
    if (opts.optional) return undefined;
    throw new InputError(file, name, "is missing");
  }
  if (typeof v !== "string") throw new InputError(file, name, "must be a string");
  if (opts.oneOf && !opts.oneOf.includes(v)) {
    throw new InputError(file, name, `is "${v}" (expected one of: ${opts.oneOf.join(", ")})`);
  }
  return v;
}

/**
 * Reads a required or optional id: a string matching {@link ID_PATTERN}, at
 * most `LIMITS.idLength` characters long.
 *
 * @example
 * ```ts
 * import { expectId } from "./errors.ts";
 * console.log(expectId({ mm: "constructor" }, "mm", "x.json", "steps[0]"));
 * try {
 *   expectId({ mm: "__proto__" }, "mm", "x.json", "steps[0]");
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 */
export function expectId(
  obj: Record<string, Json>,
  key: string,
  file: string,
  field: string,
  opts: { optional?: boolean } = {},
): string | undefined {
  const v = expectString(obj, key, file, field, opts);
  if (v !== undefined) checkId(v, file, field ? `${field}.${key}` : key);
  return v;
}

/**
 * Throws unless `id` is an id (see {@link ID_PATTERN}); `field` names where it came from.
 *
 * @example
 * ```ts
 * import { checkId } from "./errors.ts";
 * checkId("cpu0", "x.json", "steps[2].thread");
 * ```
 */
export function checkId(id: string, file: string, field: string): void {
  if (!ID_PATTERN.test(id) || id.length > LIMITS.idLength) {
    throw new InputError(
      file,
      field,
      `is ${JSON.stringify(id.length > 80 ? id.slice(0, 80) + "..." : id)} (expected an id: ` +
        `a letter or digit, then letters, digits, "_", "." or "-", at most ${LIMITS.idLength} characters)`,
    );
  }
}

/** Reads an address or length: a non-negative integer or a "0x..." string. */
export function expectAddress(
  obj: Record<string, Json>,
  key: string,
  file: string,
  field: string,
  opts: { optional?: boolean } = {},
): number | undefined {
  const v = obj[key];
  const name = field ? `${field}.${key}` : key;
  if (v === undefined) {
    if (opts.optional) return undefined;
    throw new InputError(file, name, "is missing");
  }
  let n = NaN;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InputError(
      file,
      name,
      `is ${JSON.stringify(v)} (expected a non-negative integer or a "0x..." string)`,
    );
  }
  return n;
}

/** Reads an optional boolean field. */
export function expectBool(
  obj: Record<string, Json>,
  key: string,
  file: string,
  field: string,
): boolean | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") {
    throw new InputError(file, field ? `${field}.${key}` : key, "must be true or false");
  }
  return v;
}

/**
 * Throws unless `value` nests objects and arrays at most `LIMITS.depth`
 * levels deep; the field named is the first one past the bound. Walks
 * without recursion, so any depth is checked without exhausting the stack
 * (the content hash, which recurses, runs only after this check).
 *
 * @example
 * ```ts
 * import { checkDepth } from "./errors.ts";
 * let deep: unknown = [];
 * for (let i = 0; i < 100_000; i++) deep = [deep];
 * try {
 *   checkDepth({ note: deep }, "x.json");
 * } catch (e) {
 *   console.log((e as Error).message.slice(0, 40));
 * }
 * ```
 */
export function checkDepth(value: unknown, file: string): void {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: "", depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (!v || typeof v !== "object") continue;
    if (depth >= LIMITS.depth) {
      throw new InputError(
        file,
        path || "(file)",
        `nests objects and arrays more than ${LIMITS.depth} levels deep (the limit)`,
      );
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]`, depth: depth + 1 }));
    } else {
      for (const [k, x] of Object.entries(v)) {
        stack.push({ v: x, path: path ? `${path}.${k}` : k, depth: depth + 1 });
      }
    }
  }
}

/** What kind of thing a path names, when it is not a regular file. */
function kindOf(info: Deno.FileInfo): string | undefined {
  if (info.isFile) return undefined;
  if (info.isDirectory) return "a directory";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  return "a special file";
}

/**
 * Reads and parses a JSON file, turning read and syntax errors into an
 * InputError. Only a regular file of at most `LIMITS.fileBytes` bytes (or
 * `opts.maxBytes`) is read: a device such as `/dev/zero` or a FIFO would
 * never end.
 *
 * @param path The file to read.
 * @param opts `maxBytes`, another bound on the file's size (a result set of
 * `report --shard` holds whole outcomes, far more than a scenario).
 * @returns The parsed JSON, nested at most `LIMITS.depth` levels.
 * @throws {InputError} When the file cannot be read, is not a regular file, is too large, is
 * not JSON or nests too deep.
 *
 * @example
 * ```ts
 * import { readJsonFile } from "./errors.ts";
 * const s = readJsonFile("scenarios/mremap-move.json") as { purpose: string };
 * console.log(s.purpose);
 * ```
 */
export function readJsonFile(path: string, opts: { maxBytes?: number } = {}): unknown {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, opts.maxBytes ?? LIMITS.fileBytes);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(path, "(file)", `cannot be read: ${oneLine((e as Error).message)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new InputError(path, "(file)", `is not valid JSON: ${oneLine((e as Error).message)}`);
  }
  checkDepth(value, path);
  return value;
}

/**
 * The bytes of a regular file, refusing any other kind of file and any file
 * longer than `max` bytes. The read itself stops after `max + 1` bytes, in
 * case the file grows after it was checked.
 */
function readRegularFile(path: string, max: number): Uint8Array {
  // Checked before opening: opening a FIFO waits for a writer.
  const info = Deno.statSync(path);
  const kind = kindOf(info);
  if (kind) throw new InputError(path, "(file)", `is ${kind} (expected a regular file)`);
  const file = Deno.openSync(path, { read: true });
  try {
    // Sized by the file, not the bound: a large bound must not cost its size for a small file.
    let buf = new Uint8Array(Math.min(max, info.size) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const grown = new Uint8Array(Math.min(max + 1, buf.length * 2));
        grown.set(buf);
        buf = grown;
      }
      const r = file.readSync(buf.subarray(n));
      if (r === null || r === 0) break;
      n += r;
      if (n > max) {
        throw new InputError(path, "(file)", `is larger than ${max} bytes (the limit)`);
      }
    }
    return buf.slice(0, n);
  } finally {
    file.close();
  }
}

/**
 * The `.json` regular files of a directory, sorted by name, as paths
 * `dir/name`. Entries of other kinds are skipped.
 *
 * @param dir The directory.
 * @returns Their paths.
 * @throws {InputError} When `dir` cannot be read or is not a directory.
 *
 * @example
 * ```ts
 * import { listJsonFiles } from "./errors.ts";
 * console.log(listJsonFiles("patches").length > 0);
 * ```
 */
export function listJsonFiles(dir: string): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
    }
  } catch (e) {
    const kind = (() => {
      try {
        return Deno.statSync(dir).isDirectory ? undefined : "is not a directory";
      } catch {
        return undefined;
      }
    })();
    throw new InputError(
      dir,
      "(directory)",
      kind ?? `cannot be read: ${oneLine((e as Error).message)}`,
    );
  }
  return names.sort().map((n) => `${dir}/${n}`);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/**
 * Refuses, naming the way out, a file of the other format (a revision file
 * read as a scenario, or the reverse): one of `marks` at the top level, and
 * none of the fields the format being read needs.
 *
 * @param raw The file's JSON.
 * @param file Its path, for the message.
 * @param marks Top-level fields only the other format has.
 * @param what What it looks like, and which options take it.
 * @throws {InputError} When it looks like the other format.
 */
export function refuseOtherFormat(
  raw: unknown,
  file: string,
  marks: readonly string[],
  what: { looksLike: string; use: string },
): void {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return;
  const has = marks.filter((m) => Object.hasOwn(raw, m));
  if (has.length === 0) return;
  throw new InputError(
    file,
    "(file)",
    `looks like ${what.looksLike} (it has ${has.map((m) => `"${m}"`).join("/")}): use ${what.use}`,
  );
}

/**
 * A file's JSON without its `$schema` reference (for editors), which is no
 * part of what the file says.
 *
 * @param raw The file's JSON.
 * @param file Its path, for the message.
 * @returns The JSON without `$schema`.
 * @throws {InputError} When `$schema` is not a string.
 */
export function withoutSchemaRef(raw: unknown, file: string): unknown {
  if (!raw || typeof raw !== "object" || Array.isArray(raw) || !Object.hasOwn(raw, "$schema")) {
    return raw;
  }
  const { $schema, ...rest } = raw as Record<string, unknown>;
  if (typeof $schema !== "string") {
    throw new InputError(file, "$schema", "must be a string (the path or URL of the schema)");
  }
  return rest;
}
