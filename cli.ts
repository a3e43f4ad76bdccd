/**
 * The mmbisect command line: `run`, `compare`, `report`, `bisect`,
 * `explain`, `explore` and `merge`.
 * Run `deno run --allow-read cli.ts --help`, or `deno task <command>` from
 * the project root.
 *
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 * await main(["bisect", "--help"]);
 * ```
 *
 * @module
 */
import { main } from "./src/cli/main.ts";

export { main };

if (import.meta.main) Deno.exit(await main(Deno.args));
