/**
 * Command-line options of the benchmark scripts.
 *
 * @module
 */

/** The value after option `name` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}
