/**
 * A small JSON Schema validator for the subset the report schema uses:
 * `type`, `required`, `properties`, `additionalProperties`, `items`,
 * `enum`, `pattern` and `$ref` to `#/$defs/<name>`. Any other keyword,
 * apart from annotations, is an error, so that the schema cannot rely on
 * something this validator would silently ignore.
 *
 * @module
 */

/** A schema of the supported subset. */
export type Schema = { [keyword: string]: unknown };

const ANNOTATIONS = new Set(["$schema", "$id", "$defs", "title", "description", "$comment"]);
const KEYWORDS = new Set([
  "type",
  "required",
  "properties",
  "additionalProperties",
  "items",
  "enum",
  "pattern",
  "$ref",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    default:
      return typeOf(v) === t;
  }
}

/**
 * Validates a value against a schema.
 *
 * @param schema The schema (or a sub-schema).
 * @param value The value.
 * @param opts The root schema (for `$ref`) and the path of `value` (for messages).
 * @returns One message per error, `<path>: <what>`; empty when the value is valid.
 */
export function validate(
  schema: Schema,
  value: unknown,
  opts: { root?: Schema; path?: string } = {},
): string[] {
  const root = opts.root ?? schema;
  const path = opts.path ?? "$";
  const errors: string[] = [];
  for (const k of Object.keys(schema)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) {
      throw new RangeError(`Unsupported JSON Schema keyword "${k}" at ${path}`);
    }
  }
  if (typeof schema.$ref === "string") {
    const m = /^#\/\$defs\/([A-Za-z0-9_]+)$/.exec(schema.$ref);
    const defs = root.$defs as Record<string, Schema> | undefined;
    if (!m || !defs?.[m[1]]) throw new RangeError(`Unresolvable $ref "${schema.$ref}" at ${path}`);
    errors.push(...validate(defs[m[1]], value, { root, path }));
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string];
    if (!types.some((t) => hasType(value, t))) {
      return [...errors, `${path}: is ${typeOf(value)}, expected ${types.join(" or ")}`];
    }
  }
  if (schema.enum !== undefined) {
    const options = schema.enum as unknown[];
    if (!options.some((o) => o === value)) {
      errors.push(
        `${path}: is ${JSON.stringify(value)}, expected one of ${JSON.stringify(options)}`,
      );
    }
  }
  if (typeof schema.pattern === "string" && typeof value === "string") {
    if (!new RegExp(schema.pattern, "u").test(value)) {
      errors.push(`${path}: "${value}" does not match ${schema.pattern}`);
    }
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    for (const r of (schema.required as string[] | undefined) ?? []) {
      if (!(r in obj)) errors.push(`${path}: required field "${r}" is missing`);
    }
    const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      const sub = `${path}.${k}`;
      if (k in props) {
        errors.push(...validate(props[k], v, { root, path: sub }));
      } else if (schema.additionalProperties === false) {
        errors.push(`${sub}: is not a field of the schema`);
      } else if (typeof schema.additionalProperties === "object") {
        errors.push(...validate(schema.additionalProperties as Schema, v, { root, path: sub }));
      }
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((v, i) => {
      errors.push(...validate(schema.items as Schema, v, { root, path: `${path}[${i}]` }));
    });
  }
  return errors;
}
