/**
 * The command that reproduces one run: every reproducer the harness prints
 * (outcomes, reports, comparisons, bisects, explanations, explorations) is
 * built here, so each is pasteable as is. A shipped scenario or revision is
 * named by its id; a user's file by its path (`--revision FILE` for a
 * revision file given alone and for each user file it extends, `--patches
 * DIR` for a revision directory of the user's), and a run on one schedule
 * keeps its `--schedule`.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import type { Revision } from "./revision.ts";
import type { Scenario } from "./scenario.ts";

/** Options of {@link reproduceCommand}. */
export interface ReproduceOptions {
  /** The schedule of a run on one schedule (`[]`: the default order, printed as `-`). */
  schedule?: readonly string[];
}

/** The shipped directory `name` next to the sources, absolute (undefined when not on disk). */
function shippedDir(name: string): string | undefined {
  const url = new URL(`../../${name}`, import.meta.url);
  return url.protocol === "file:" ? resolve(decodeURIComponent(url.pathname)) : undefined;
}

const SHIPPED_SCENARIOS = shippedDir("scenarios");
const SHIPPED_PATCHES = shippedDir("patches");

function isShipped(file: string, dir: string | undefined): boolean {
  return dir !== undefined && resolve(dirname(file)) === dir;
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:,=+@%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A path as an argument the command line takes for a path (it holds a "/"
 * or ends in `.json`), never as an id or an option.
 */
function pathWord(file: string): string {
  const p = file.includes("/") ? file : `./${file}`;
  return shellWord(p);
}

/**
 * The options that load `revision` and every user file it extends.
 *
 * @param revision A loaded revision.
 * @returns `--patches DIR` and `--revision FILE` arguments, none for a shipped revision.
 */
export function revisionOptions(revision: Revision): string[] {
  const out: string[] = [];
  const sources = revision.sources ?? [{ file: revision.file }];
  // The revisions a file extends load before it: the farthest first.
  for (const src of [...sources].reverse()) {
    if (src.dir !== undefined) {
      if (isShipped(src.file, SHIPPED_PATCHES)) continue;
      const opt = ["--patches", pathWord(src.dir)];
      if (!out.some((w, i) => w === opt[0] && out[i + 1] === opt[1])) out.push(...opt);
    } else if (!isShipped(src.file, SHIPPED_PATCHES)) {
      out.push("--revision", pathWord(src.file));
    }
  }
  return out;
}

/**
 * The scenario argument: its id when it is a shipped scenario, else its file's path.
 *
 * @param scenario A loaded scenario.
 * @returns One shell word.
 */
export function scenarioArgument(scenario: Scenario): string {
  return isShipped(scenario.file, SHIPPED_SCENARIOS) && scenario.id === fileId(scenario.file)
    ? shellWord(scenario.id)
    : pathWord(scenario.file);
}

function fileId(file: string): string {
  return file.replace(/^.*\//, "").replace(/\.json$/, "");
}

/**
 * The command that reproduces a run of `scenario` on `revision`.
 *
 * @param scenario The scenario that ran.
 * @param revision The revision it ran on.
 * @param opts The schedule, for a run on one schedule.
 * @returns A command line to paste into a shell at the project's root.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "./revision.ts";
 * import { loadScenario } from "./scenario.ts";
 * import { reproduceCommand } from "./reproduce.ts";
 * const v5 = loadRevisionDir("patches").find((r) => r.id === "emmu-v5")!;
 * const s = loadScenario("scenarios/wp-reuse-after-fork.json");
 * console.log(reproduceCommand(s, v5)); // deno task run wp-reuse-after-fork emmu-v5
 * ```
 */
export function reproduceCommand(
  scenario: Scenario,
  revision: Revision,
  opts: ReproduceOptions = {},
): string {
  let arg = SCENARIO_ARGUMENTS.get(scenario);
  if (arg === undefined) SCENARIO_ARGUMENTS.set(scenario, arg = scenarioArgument(scenario));
  let options = REVISION_OPTIONS.get(revision);
  if (options === undefined) REVISION_OPTIONS.set(revision, options = revisionOptions(revision));
  const words = ["deno", "task", "run", arg, shellWord(revision.id), ...options];
  if (opts.schedule !== undefined) {
    words.push("--schedule", opts.schedule.length ? opts.schedule.join(",") : "-");
  }
  return words.join(" ");
}

/**
 * Arguments built so far, by scenario and by revision: a loaded scenario or
 * revision keeps its file, and telling whether the file is a shipped one
 * reads the working directory, which costs about as much as a short run;
 * every outcome of a report carries a command.
 */
const SCENARIO_ARGUMENTS = new WeakMap<Scenario, string>();
const REVISION_OPTIONS = new WeakMap<Revision, readonly string[]>();

/**
 * Splits a reproducer back into its arguments after `deno task run` (the
 * words {@link shellWord} quotes), for a test or a tool that runs it.
 *
 * @param command A command {@link reproduceCommand} built.
 * @returns The arguments of the `run` command.
 * @throws {SyntaxError} When it is not a `deno task run` command.
 */
export function reproduceArgs(command: string): string[] {
  const words: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (const m of command.matchAll(re)) {
    words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]);
  }
  if (words.slice(0, 3).join(" ") !== "deno task run") {
    throw new SyntaxError(`Not a reproducer: ${command}`);
  }
  return words.slice(3);
}
