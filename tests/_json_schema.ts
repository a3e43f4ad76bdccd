/**
 * Validation of the JSON the program prints against the schemas in `docs/`,
 * with ajv (JSON Schema draft 2020-12, strict mode: a keyword ajv does not
 * know is an error, not ignored).
 *
 * @module
 */
import Ajv2020 from "ajv/dist/2020.js";

/** A JSON Schema with an `$id` (the schemas of `docs/`). */
export type Schema = { [keyword: string]: unknown };

/** One of ajv's errors, as far as the messages here use it. */
interface AjvError {
  instancePath: string;
  message?: string;
  params: { additionalProperty?: string; allowedValues?: unknown[] };
}

/** A compiled schema: true when the value is valid, with the errors otherwise. */
type Check = ((value: unknown) => boolean) & { errors?: AjvError[] | null };

/** The validator every test uses: ajv for draft 2020-12, in strict mode, reporting every error. */
// deno-lint-ignore no-explicit-any
export const ajv = new (Ajv2020 as any)({
  allErrors: true,
  strict: true,
  strictTypes: false,
  strictRequired: false,
});

/** An ajv instance path (`/cells/0/status`) as this project writes paths (`$.cells[0].status`). */
function pathOf(instancePath: string): string {
  return "$" + instancePath.split("/").slice(1).map((p) => /^\d+$/.test(p) ? `[${p}]` : `.${p}`)
    .join("");
}

/**
 * Validates `value` against `schema`, or against its definition `def`
 * (`$defs/<def>`).
 *
 * @param schema A schema of `docs/` (it has an `$id`).
 * @param value The parsed JSON.
 * @param def The name of one of the schema's `$defs`, to validate against it alone.
 * @returns One line per error, `<path>: <what>`; empty when the value is valid.
 */
export function validate(schema: Schema, value: unknown, def?: string): string[] {
  const id = schema.$id;
  if (typeof id !== "string") throw new TypeError("The schema has no $id");
  if (!ajv.getSchema(id)) ajv.addSchema(schema);
  const check: Check | undefined = ajv.getSchema(def ? `${id}#/$defs/${def}` : id);
  if (!check) throw new RangeError(`${id} has no $defs/${def}`);
  if (check(value)) return [];
  return (check.errors ?? []).map((e) => {
    const { additionalProperty, allowedValues } = e.params;
    const what = additionalProperty !== undefined
      ? ` "${additionalProperty}"`
      : allowedValues !== undefined
      ? ` ${JSON.stringify(allowedValues)}`
      : "";
    return `${pathOf(e.instancePath)}: ${e.message}${what}`;
  });
}
