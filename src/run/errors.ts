/**
 * Input errors: raised for a bad revision, scenario or command line, and
 * printed as one line with exit code 2.
 *
 * @module
 */

/** A user-input error: names the file and field, and what was expected. */
export class InputError extends Error {
  /**
   * Creates an input error.
   *
   * @param file The file that holds the bad input.
   * @param field The field, dotted (`steps[2].addr`), or `(file)` for the file as a whole.
   * @param expected What is wrong and what was expected, after the field name.
   */
  constructor(readonly file: string, readonly field: string, readonly expected: string) {
    super(`Cannot load "${file}": field "${field}" ${expected}`);
    this.name = "InputError";
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

/** Reads and parses a JSON file, turning read and syntax errors into an InputError. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new InputError(path, "(file)", `cannot be read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(path, "(file)", `is not valid JSON: ${(e as Error).message}`);
  }
}
