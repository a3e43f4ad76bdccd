/**
 * The command line: `run`, `compare`, `report`, `bisect`, `explain`,
 * `explore`, `merge` and `list`.
 *
 * Bad input (an unknown scenario or revision, an invalid file, a bad option)
 * prints one line, `mmbisect: <message>`, on standard error and exits 2.
 * With `--baseline R`, `compare` and `report` exit 1 when a revision
 * regressed against R, and with `--expect FILE`, `report` and `merge` exit
 * 1 when a cell does not match the file; 0 otherwise. Output that cannot be
 * written (standard output on a full disk, the `--out` file) prints one
 * line and exits 3; a closed pipe exits 3 without a word, as a pipeline's reader
 * that stopped early needs none.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { InputError } from "../run/errors.ts";
import { loadRevisionDir, type Revision } from "../run/revision.ts";
import {
  loadScenario,
  loadScenarioSet,
  type Scenario,
  scenarioFileId,
  scenarioThreads,
} from "../run/scenario.ts";
import { type Matrix, matrixPairs, runCell } from "../run/matrix.ts";
import { DEFAULT_TIMEOUT_SECONDS } from "../run/deadline.ts";
import { type Outcome, outcomeJson, revisionHash, scenarioHash } from "../run/outcome.ts";
import { canonicalJson } from "../model/state.ts";
import { lineageOrder } from "../report/diff.ts";
import { bisect, formatBisect } from "../report/bisect.ts";
import { renderMarkdown } from "../report/markdown.ts";
import { buildReport, REPORT_SCHEMA, reportJson } from "../report/json.ts";
import {
  analyseReport,
  planMatrix,
  planReport,
  type PlanResults,
  type ReportPlan,
} from "../analysis/plan.ts";
import type { ReportModel } from "../analysis/model.ts";
import type { MatrixAnalysis } from "../analysis/analyse.ts";
import {
  type ExpectationTable,
  loadExpectationFile,
  shippedExpectations,
} from "../analysis/expect.ts";
import { progress, progressEnabled } from "../report/progress.ts";
import { explainOutcome, formatExplanation } from "../report/explain.ts";
import { compareRacePairs, raceCell } from "../report/races.ts";
import {
  checkShards,
  mergeResults,
  readResultSet,
  type ResultOptions,
  RESULTS_SCHEMA,
  type ResultSet,
  resultSetJson,
} from "../report/results.ts";
import { runWork, spawnWorkers, type Work, type WorkResults } from "../jobs/pool.ts";
import { parseShard, type Shard, shardIndexes } from "../jobs/shard.ts";
import { explore, replaySchedule } from "../explore/explorer.ts";
import { COMMAND_HELP, MAIN_HELP } from "./help.ts";
import {
  formatList,
  LIST_TOPICS,
  listHookPoints,
  listLabels,
  listRevisions,
  listScenarios,
  type ListTopic,
  readSourceMapHooks,
  type ScenarioFilter,
} from "./list.ts";
import { formatImport, importPatches, readPatchFile, revisionIdOf } from "../patch/import_patch.ts";
import { baselineLines, formatComparisonModel, formatOutcome } from "./text.ts";
import { analyseComparison } from "../analysis/comparison.ts";
import { outputTarget, writeFileAtomic } from "./atomic.ts";

/** A command-line usage error: printed as one line, exit status 2. */
export class UsageError extends Error {
  /**
   * Creates a usage error.
   *
   * @param message What was wrong, one line.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Output that could not be written: printed as one line, exit status 3 (a
 * closed pipe exits 3 without a line).
 *
 * @example
 * ```ts
 * import { OutputError } from "./main.ts";
 * const e = new OutputError("standard output", new Deno.errors.BrokenPipe("Broken pipe"));
 * console.log(e.brokenPipe, e.message);
 * ```
 */
export class OutputError extends Error {
  /** Whether the reader went away (a closed pipe), which needs no message. */
  readonly brokenPipe: boolean;

  /**
   * Creates an output error.
   *
   * @param what What could not be written: `standard output`, or a quoted path.
   * @param cause The error the write raised.
   */
  constructor(what: string, cause: unknown) {
    super(
      `cannot write ${what}: ${oneLine(cause instanceof Error ? cause.message : String(cause))}`,
    );
    this.name = "OutputError";
    this.brokenPipe = cause instanceof Deno.errors.BrokenPipe;
  }
}

/** Where a command writes. */
export interface Io {
  /** Writes to standard output; throws an {@link OutputError} when it cannot. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
}

const encoder = new TextEncoder();

/** Standard output and error of the process. */
export const PROCESS_IO: Io = {
  out: (text) => {
    try {
      writeAll(Deno.stdout, text);
    } catch (e) {
      throw new OutputError("standard output", e);
    }
  },
  err: (text) => {
    try {
      writeAll(Deno.stderr, text);
    } catch {
      // Standard error is gone or full: there is nowhere left to say so.
    }
  },
};

function writeAll(f: { writeSync(p: Uint8Array): number }, text: string): void {
  let buf = encoder.encode(text);
  while (buf.length > 0) buf = buf.subarray(f.writeSync(buf));
}

const COMMON_OPTIONS = {
  scenarios: { type: "string" },
  patches: { type: "string" },
  revision: { type: "string", multiple: true },
  scenario: { type: "string", multiple: true },
  timeout: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parsed options every command accepts. */
interface Common {
  scenarios: string;
  patches: string;
  revision: string[];
  /** Scenario files of the user's, added to those of `scenarios` (`--scenario FILE`). */
  scenario: string[];
  /** Seconds each matrix cell and each exploration may take (`--timeout`). */
  timeout: number;
  quiet: boolean;
}

/** A project directory shipped next to the command line, relative to the cwd when under it. */
function projectDir(name: string): string {
  const url = new URL(`../../${name}`, import.meta.url);
  if (url.protocol !== "file:") return name;
  const abs = decodeURIComponent(url.pathname).replace(/\/$/, "");
  const cwd = Deno.cwd();
  return abs.startsWith(cwd + "/") ? abs.slice(cwd.length + 1) : abs;
}

/**
 * Options whose value is checked for its form, so that a value starting with
 * "-" (`--jobs -1`) is taken as the value and refused for what it is, where
 * `parseArgs` would call it ambiguous.
 */
const CHECKED_VALUES = new Set(["--jobs", "--shard", "--timeout", "--max-runs"]);

function joinCheckedValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") return [...out, ...args.slice(i)];
    if (CHECKED_VALUES.has(args[i]) && args[i + 1]?.startsWith("-")) {
      out.push(`${args[i]}=${args[++i]}`);
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

function parse<T extends Record<string, { type: "string" | "boolean"; multiple?: boolean }>>(
  command: string,
  args: string[],
  options: T,
  positionals: string[],
  opts: { more?: boolean } = {},
) {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinCheckedValues(args),
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(parseError(command, e));
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (values.help) return { help: true as const };
  const pos = parsed.positionals;
  if (opts.more ? pos.length < positionals.length : pos.length !== positionals.length) {
    const want = positionals.map((p) => `<${p}>`).join(" ") + (opts.more ? "..." : "");
    throw new UsageError(
      `"${command}" takes ${opts.more ? "at least " : ""}${positionals.length || "no"} argument${
        positionals.length === 1 ? "" : "s"
      }${want ? ` (${want})` : ""}, got ${pos.length} (see: mmbisect ${command} --help)`,
    );
  }
  for (const option of ["scenarios", "patches"]) {
    const dir = values[option] as string | undefined;
    if (dir !== undefined) checkDirectory(option, dir);
  }
  const common: Common = {
    scenarios: (values.scenarios as string | undefined) ?? projectDir("scenarios"),
    patches: (values.patches as string | undefined) ?? projectDir("patches"),
    revision: (values.revision as string[] | undefined) ?? [],
    scenario: (values.scenario as string[] | undefined) ?? [],
    timeout: parseTimeout(values.timeout as string | undefined),
    quiet: values.quiet === true,
  };
  return { help: false as const, values, pos, common };
}

/** Refuses a `--scenarios` or `--patches` that is not a readable directory, naming the option. */
function checkDirectory(option: string, dir: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (e) {
    throw new UsageError(`option "--${option}" is "${dir}": ${oneLine((e as Error).message)}`);
  }
  if (!info.isDirectory) {
    throw new UsageError(`option "--${option}" is "${dir}", which is not a directory`);
  }
}

function parseError(command: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const name = /'(-[^' ]*)/.exec(err.message ?? "")?.[1];
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return `unknown option "${name}" for "${command}" (see: mmbisect ${command} --help)`;
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return `option "${name}" of "${command}" needs a value (see: mmbisect ${command} --help)`;
  }
  return `${oneLine(err.message ?? String(e))} (see: mmbisect ${command} --help)`;
}

/** `--timeout SECONDS`: a positive decimal number, {@link DEFAULT_TIMEOUT_SECONDS} when absent. */
function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS;
  const n = Number(value);
  if (!/^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(value) || !(n > 0) || n === Infinity) {
    throw new UsageError(
      `option "--timeout" is "${value}" (expected a positive number of seconds)`,
    );
  }
  return n;
}

/**
 * `--jobs N`: how many threads run the units (this one and N-1 workers);
 * `0` or `auto` for one per CPU. Absent, 1: the units run in this thread.
 */
function parseJobs(value: string | undefined): number {
  if (value === undefined) return 1;
  if (value === "auto") return navigator.hardwareConcurrency;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new UsageError(
      `option "--jobs" is "${value}" (expected a number of workers, or 0 or auto for one per CPU)`,
    );
  }
  return n === 0 ? navigator.hardwareConcurrency : n;
}

/** `--shard k/n`, named in the message as the other options are. */
function parseShardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch {
    throw new UsageError(
      `option "--shard" is "${value}" (expected k/n with 1 <= k <= n, for example 1/4 for the first of four)`,
    );
  }
}

/** The option of the commands that run a matrix: `--jobs N`. */
const JOBS_OPTION = { jobs: { type: "string" } } as const;

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/** Loads the shipped revisions plus the user's revision files. */
function loadRevisions(common: Common, extra: string[] = []): Revision[] {
  // A file named both by --revision and as the revision argument loads once.
  const files = new Map([...common.revision, ...extra].map((f) => [resolve(f), f]));
  return loadRevisionDir(common.patches, [...files.values()]);
}

/** Loads the scenarios of the scenario directory plus the user's scenario files. */
function loadScenarios(common: Common): Scenario[] {
  return loadScenarioSet(common.scenarios, common.scenario);
}

function isPath(arg: string): boolean {
  return arg.endsWith(".json") || arg.includes("/");
}

/** Resolves a scenario argument: an id in the scenario directory, or a file path. */
function resolveScenario(arg: string, common: Common): Scenario {
  if (isPath(arg)) return loadScenario(arg);
  const own = common.scenario.find((f) => scenarioFileId(f) === arg);
  if (own !== undefined) return loadScenario(own);
  const file = `${common.scenarios}/${arg}.json`;
  try {
    Deno.statSync(file);
  } catch {
    let known: string[] = [];
    try {
      known = [...Deno.readDirSync(common.scenarios)].filter((e) => e.name.endsWith(".json"))
        .map((e) => e.name.replace(/\.json$/, "")).sort();
    } catch {
      throw new UsageError(
        `unknown scenario "${arg}": cannot read directory "${common.scenarios}"`,
      );
    }
    throw new UsageError(`unknown scenario "${arg}" (known: ${known.join(", ") || "none"})`);
  }
  return loadScenario(file);
}

/** Finds a revision by id; a path argument is loaded with the others first. */
function resolveRevision(revs: Revision[], arg: string, common: Common): Revision {
  if (isPath(arg)) {
    const r = revs.find((x) => x.file === arg);
    if (r) return r;
  }
  const r = revs.find((x) => x.id === arg);
  if (!r) {
    throw new UsageError(
      `unknown revision "${arg}" (known: ${revs.map((x) => x.id).join(", ")}; ` +
        `a revision of your own goes in --revision FILE, not in ${common.patches})`,
    );
  }
  return r;
}

function revisionArgs(args: string[]): string[] {
  return args.filter(isPath);
}

/** A progress line on standard error when it is a terminal and --quiet is not given. */
function progressOf(io: Io, common: Common, label: string) {
  const show = io === PROCESS_IO &&
    progressEnabled({ terminal: Deno.stderr.isTerminal(), quiet: common.quiet });
  return show ? progress(io.err, { label }) : undefined;
}

/**
 * Runs cells and explorations on `jobs` threads (1: in this thread alone),
 * with a progress line; `afterCells` runs in this thread once the cells are
 * done (see `WorkOptions.afterCells`). `revisions` are every revision
 * loaded, which a worker needs to resolve `extends`.
 */
async function runAll(
  io: Io,
  common: Common,
  jobs: number,
  work: Work,
  revisions: Revision[],
  afterCells?: (outcomes: Outcome[]) => void,
  workers?: Worker[],
): Promise<WorkResults> {
  const p = progressOf(io, common, "running");
  try {
    return await runWork(work, {
      jobs,
      timeout: common.timeout,
      revisions,
      onProgress: p?.onCell,
      ...(afterCells ? { afterCells } : {}),
      ...(workers ? { workers } : {}),
    });
  } finally {
    p?.done();
  }
}

function usageOnRange<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(lowerFirst(e.message));
    throw e;
  }
}

/** Refuses a scenario and a revision of different kernel trees, naming both. */
function sameTree(scenario: Scenario, revision: Revision): void {
  if (scenario.kernel !== revision.base) {
    throw new UsageError(
      `scenario "${scenario.id}" is written for ${scenario.kernel} and revision "${revision.id}" applies to ${revision.base}: ` +
        `choose a revision of the same kernel tree`,
    );
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function prettyJson(value: unknown): string {
  return JSON.stringify(JSON.parse(canonicalJson(value)), null, 2) + "\n";
}

function cmdRun(args: string[], io: Io): number {
  const p = parse("run", args, { json: { type: "boolean" }, schedule: { type: "string" } }, [
    "scenario",
    "revision",
  ]);
  if (p.help) return help(io, "run");
  const [sArg, rArg] = p.pos;
  const scenario = resolveScenario(sArg, p.common);
  const revs = loadRevisions(p.common, revisionArgs([rArg]));
  const revision = resolveRevision(revs, rArg, p.common);
  sameTree(scenario, revision);
  const sched = p.values.schedule as string | undefined;
  if (sched === undefined) {
    const outcome = runCell(scenario, revision, { timeout: p.common.timeout });
    io.out(p.values.json ? outcomeJson(outcome) : formatOutcome(outcome));
    return 0;
  }
  const choices = sched === "-" ? [] : sched.split(",");
  checkSchedule(choices, scenario);
  const { outcome, steps } = replaySchedule(scenario, revision, choices);
  if (p.values.json) {
    io.out(outcomeJson(outcome));
  } else {
    io.out(
      `schedule: ${sched}\n${steps.map((s) => `  ${s}\n`).join("")}\n${formatOutcome(outcome)}`,
    );
  }
  return 0;
}

/** Refuses a `--schedule` that names a thread the scenario does not run. */
function checkSchedule(choices: string[], scenario: Scenario): void {
  const known = scenarioThreads(scenario);
  const bad = choices.find((c) => !known.includes(c));
  if (bad === undefined) return;
  throw new UsageError(
    `option "--schedule" names thread "${bad}", which scenario "${scenario.id}" does not run ` +
      `(its threads: ${known.join(", ")}; "-" for the default schedule)`,
  );
}

function cmdExplore(args: string[], io: Io): number {
  const p = parse("explore", args, {
    json: { type: "boolean" },
    "no-reduction": { type: "boolean" },
    "partial-order": { type: "boolean" },
    "max-runs": { type: "string" },
  }, ["scenario", "revision"]);
  if (p.help) return help(io, "explore");
  const [sArg, rArg] = p.pos;
  const scenario = resolveScenario(sArg, p.common);
  const revs = loadRevisions(p.common, revisionArgs([rArg]));
  const revision = resolveRevision(revs, rArg, p.common);
  sameTree(scenario, revision);
  const max = p.values["max-runs"] as string | undefined;
  if (max !== undefined && !/^[1-9][0-9]*$/.test(max)) {
    throw new UsageError(`option "--max-runs" is "${max}" (expected a positive integer)`);
  }
  if (p.values["no-reduction"] && p.values["partial-order"]) {
    throw new UsageError(
      'options "--no-reduction" and "--partial-order" exclude each other (the reduction works on top of merging)',
    );
  }
  const r = explore(scenario, revision, {
    reduction: !p.values["no-reduction"],
    partialOrder: !!p.values["partial-order"],
    maxRuns: max === undefined ? undefined : Number(max),
    timeout: p.common.timeout,
  });
  if (p.values.json) {
    io.out(prettyJson({ schema: "mmbisect/explore@1", ...r }));
    return 0;
  }
  const lines = [
    `${r.scenario} on ${r.revision}: ${raceCell(r)}`,
    `status ${r.status}; ${r.schedules} schedules run to the end, ${r.runs} runs, ${r.states} distinct states` +
    ` (reduction ${r.reduction ? "on" : "off"}${
      r.partialOrder ? ", partial-order reduction on" : ""
    })`,
  ];
  if (p.values["partial-order"] && !r.partialOrder) {
    lines.push(
      "the partial-order reduction gave way (objects alias otherwise than at its first step): " +
        "every order was explored",
    );
  }
  if (r.status === "timeout") {
    lines.push(
      `stopped by the time bound of ${p.common.timeout} s (--timeout): the counts and verdicts are ` +
        "those of the schedules explored so far, and depend on the machine's speed",
    );
  }
  const maxima = Object.entries(r.maxima).map(([k, v]) => `${k}=${v}`).join(" ");
  if (maxima) lines.push(`driver counters, largest over all schedules: ${maxima}`);
  for (const [kind, c] of Object.entries(r.counterexamples)) {
    lines.push("", `${kind} (${r.verdicts[kind as keyof typeof r.verdicts]}), shortest schedule:`);
    for (const s of c!.steps) lines.push(`  ${s}`);
    lines.push(`replay: ${c!.replay}`);
  }
  io.out(lines.join("\n") + "\n");
  return 0;
}

async function cmdCompare(args: string[], io: Io): Promise<number> {
  const p = parse("compare", args, {
    json: { type: "boolean" },
    baseline: { type: "string" },
    races: { type: "boolean" },
    ...JOBS_OPTION,
  }, ["revA", "revB"]);
  if (p.help) return help(io, "compare");
  const jobs = parseJobs(p.values.jobs as string | undefined);
  const revs = loadRevisions(p.common, revisionArgs(p.pos));
  const a = resolveRevision(revs, p.pos[0], p.common);
  const b = resolveRevision(revs, p.pos[1], p.common);
  const baseArg = p.values.baseline as string | undefined;
  let base: Revision | undefined;
  if (baseArg !== undefined) {
    base = resolveRevision(revs, baseArg, p.common);
    if (base.id !== a.id && base.id !== b.id) {
      throw new UsageError(
        `option "--baseline" is "${baseArg}" (expected one of the two revisions compared: ` +
          `${a.id} or ${b.id})`,
      );
    }
  }
  const scenarios = loadScenarios(p.common);
  const run = a.id === b.id ? [a] : [a, b];
  const res = await runAll(io, p.common, jobs, {
    cells: matrixPairs(scenarios, run),
    explorations: p.values.races ? compareRacePairs(scenarios, a, b) : [],
  }, revs);
  const m: Matrix = { scenarios, revisions: run, cells: res.outcomes };
  const model = usageOnRange(() =>
    analyseComparison(m, a.id, b.id, {
      timeout: p.common.timeout,
      ...(base ? { baseline: base.id } : {}),
      ...(p.values.races ? { explorations: res.explorations } : {}),
    })
  );
  if (p.values.json) {
    const { comparison, baseline, races } = model;
    io.out(
      prettyJson({
        schema: "mmbisect/compare@1",
        ...comparison,
        ...(baseline ? { baseline } : {}),
        ...(races ? { races } : {}),
      }),
    );
  } else {
    io.out(formatComparisonModel(model));
  }
  return model.baseline?.regressions.length ? 1 : 0;
}

function cmdExplain(args: string[], io: Io): number {
  const p = parse("explain", args, { json: { type: "boolean" } }, ["scenario", "revision"]);
  if (p.help) return help(io, "explain");
  const [sArg, rArg] = p.pos;
  const scenario = resolveScenario(sArg, p.common);
  const revs = loadRevisions(p.common, revisionArgs([rArg]));
  const revision = resolveRevision(revs, rArg, p.common);
  sameTree(scenario, revision);
  const e = explainOutcome(
    runCell(scenario, revision, { timeout: p.common.timeout }),
    revision,
    scenario,
  );
  io.out(p.values.json ? prettyJson(e) : formatExplanation(e));
  return 0;
}

/**
 * Loads the inputs and plans a report (see `planReport`); `merge` plans
 * again from a result set's options.
 */
function loadPlan(common: Common, o: ResultOptions): ReportPlan {
  const revs = loadRevisions(common);
  // An unknown baseline is named with the revisions known.
  if (o.baseline !== undefined) resolveRevision(revs, o.baseline, common);
  const scenarios = loadScenarios(common);
  const named = revs.filter((r) => common.revision.includes(r.file)).map((r) => r.id);
  return usageOnRange(() =>
    planReport(revs, scenarios, {
      ...(o.lineages ? { lineages: o.lineages } : {}),
      ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
      races: o.races,
      named,
    })
  );
}

/** A renderer of the report model. */
type Render = (model: ReportModel) => string;

/**
 * The report's output formats, `--format`, and what renders each. The
 * renderers of the formats other than Markdown and JSON load when chosen:
 * the default report does not load them (HTML brings `node:crypto`).
 */
const RENDERERS: Record<"md" | "json" | "html" | "mail" | "tap" | "junit", () => Promise<Render>> =
  {
    md: () => Promise.resolve(renderMarkdown),
    json: () => Promise.resolve((model: ReportModel) => reportJson(buildReport(model))),
    html: async () => (await import("../report/html.ts")).renderHtml,
    mail: async () => (await import("../report/mail.ts")).renderMail,
    tap: async () => (await import("../report/tap.ts")).renderTap,
    junit: async () => (await import("../report/junit.ts")).renderJunit,
  };

/** The report's output format, `--format`. */
type Format = keyof typeof RENDERERS;

function parseFormat(value: string | undefined, fallback: Format): Format {
  const format = value ?? fallback;
  if (!Object.hasOwn(RENDERERS, format)) {
    throw new UsageError(
      `option "--format" is "${format}" (expected ${Object.keys(RENDERERS).join(", ")})`,
    );
  }
  return format as Format;
}

/** One output of `report` or `merge`: a format, and the file it goes to (standard output if none). */
interface Output {
  format: Format;
  out?: string;
}

/**
 * The outputs that `--format` and `--out` ask for. Each may be given more
 * than once: the i-th `--out` gets the i-th `--format`, so that one run
 * writes several formats of the same results. With one format, `--out` is
 * optional (standard output); with more, each needs its own, and no two may
 * name the same path. Each `--out` is checked before the long part.
 */
function parseOutputs(
  formats: string[] | undefined,
  outs: string[] | undefined,
  fallback: Format,
): Output[] {
  const fs = formats ?? [];
  const os = outs ?? [];
  if (fs.length > 1 && os.length !== fs.length) {
    throw new UsageError(
      `option "--format" is given ${fs.length} times and "--out" ${os.length} ` +
        `time${os.length === 1 ? "" : "s"}: with more than one format, give one --out per ` +
        `--format, in the same order (the first --out gets the first --format)`,
    );
  }
  if (fs.length <= 1 && os.length > 1) {
    throw new UsageError(
      `option "--out" is given ${os.length} times for one format: give a --format for each`,
    );
  }
  const twice = os.find((o, i) => os.indexOf(o) !== i);
  if (twice !== undefined) {
    throw new UsageError(`option "--out" names "${twice}" twice: each format needs its own file`);
  }
  for (const o of os) checkOut(o);
  const list = fs.length > 0 ? fs : [undefined];
  return list.map((f, i) => ({
    format: parseFormat(f, fallback),
    ...(os[i] !== undefined ? { out: os[i] } : {}),
  }));
}

/** The formats that show each cell's judgement against the pinned expectations. */
const JUDGING: readonly Format[] = ["json", "mail", "tap", "junit"];

/**
 * The expectation table each output of a report is judged against: the
 * user's `--expect FILE` for every format, else the shipped pins for the
 * formats that show the judgements and none for the others. Each table is
 * read once (before the long part, so that a bad file is refused at once)
 * and shared by the outputs that use it.
 */
function expectationsOf(
  file: string | undefined,
  outputs: readonly Output[],
): (ExpectationTable | undefined)[] {
  const user = file !== undefined ? loadExpectationFile(file) : undefined;
  let shipped: ExpectationTable | undefined;
  return outputs.map((o) =>
    file !== undefined
      ? user
      : JUDGING.includes(o.format)
      ? (shipped ??= shippedExpectations())
      : undefined
  );
}

/**
 * Refuses, before the long part, an `--out` that is not a regular file. Any
 * other error (a permission, say) is left to the write, which reports it as
 * an output error.
 */
function checkOut(out: string | undefined): void {
  if (out === undefined) return;
  try {
    outputTarget(out);
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(lowerFirst(e.message));
  }
}

/** Writes `text` to `--out` (atomically) or standard output. */
function emit(io: Io, common: Common, out: string | undefined, text: string): void {
  if (out === undefined) {
    io.out(text);
    return;
  }
  try {
    writeFileAtomic(out, text);
  } catch (e) {
    // A TypeError: the target became a FIFO, a device or a directory since the check above.
    if (e instanceof TypeError) throw new UsageError(lowerFirst(e.message));
    throw new OutputError(`"${out}"`, e);
  }
  if (!common.quiet) {
    io.err(`mmbisect: wrote ${out} (${encoder.encode(text).length} bytes)\n`);
  }
}

/**
 * Renders the report of a plan from the results of its units in every
 * format of `outputs`, and writes them: every text is rendered before the
 * first is written, and each is written whole (atomically) or not at all.
 * `report` and `merge` both end here, so a merged report is the report.
 * Exits 1 when a revision regressed against the baseline or a cell does
 * not match the `--expect` table.
 */
async function finishReport(
  io: Io,
  common: Common,
  plan: ReportPlan,
  res: PlanResults,
  outputs: readonly Output[],
  expect: { file?: string; tables: readonly (ExpectationTable | undefined)[] },
): Promise<number> {
  // One analysis per expectation table (see expectationsOf()).
  const models = new Map<ExpectationTable | undefined, ReportModel>();
  const modelFor = (table: ExpectationTable | undefined) => {
    let model = models.get(table);
    if (!model) {
      model = usageOnRange(() =>
        analyseReport(plan, res, {
          timeout: common.timeout,
          ...(table ? { expect: table } : {}),
        })
      );
      models.set(table, model);
    }
    return model;
  };
  const texts: string[] = [];
  for (const [i, o] of outputs.entries()) {
    texts.push((await RENDERERS[o.format]())(modelFor(expect.tables[i])));
  }
  outputs.forEach((o, i) => emit(io, common, o.out, texts[i]));
  const model = modelFor(expect.tables[0]);
  const baseline = model.baseline;
  if (baseline && !common.quiet) io.err(`mmbisect: ${baselineLines(baseline)[0]}\n`);
  let mismatches = 0;
  if (expect.file !== undefined) {
    const js = model.judgements ?? [];
    const bad = js.filter((j) => j.result === "mismatch");
    mismatches = bad.length;
    if (!common.quiet) {
      const unpinned = js.filter((j) => j.result === "unpinned").length;
      io.err(
        `mmbisect: expectations ${expect.file}: ${js.length - mismatches - unpinned} match, ` +
          `${mismatches} mismatch, ${unpinned} not pinned\n`,
      );
      for (const j of bad) {
        io.err(`  ${j.scenario} on ${j.revision}: ${j.diagnosis}\n    reproduce: ${j.reproduce}\n`);
      }
    }
  }
  return (baseline && baseline.regressions.length) || mismatches ? 1 : 0;
}

async function cmdReport(args: string[], io: Io): Promise<number> {
  const p = parse("report", args, {
    lineage: { type: "string", multiple: true },
    format: { type: "string", multiple: true },
    out: { type: "string", multiple: true },
    baseline: { type: "string" },
    expect: { type: "string" },
    "no-races": { type: "boolean" },
    shard: { type: "string" },
    ...JOBS_OPTION,
  }, []);
  if (p.help) return help(io, "report");
  const shardArg = p.values.shard as string | undefined;
  const shard = shardArg === undefined ? undefined : parseShardOption(shardArg);
  const outputs = parseOutputs(
    p.values.format as string[] | undefined,
    p.values.out as string[] | undefined,
    shard ? "json" : "md",
  );
  const format = outputs.map((o) => o.format).join(", ");
  if (shard && (outputs.length > 1 || format !== "json")) {
    throw new UsageError(
      `option "--shard" writes a result set for "merge", which is JSON: --format is "${format}" ` +
        `(give --format json, or none; "merge" writes any format)`,
    );
  }
  const out = outputs[0].out;
  const jobs = parseJobs(p.values.jobs as string | undefined);
  const expectFile = p.values.expect as string | undefined;
  if (shard && expectFile !== undefined) {
    throw new UsageError(`option "--expect" is checked by "merge", not by a "--shard" run`);
  }
  const expect = { file: expectFile, tables: expectationsOf(expectFile, outputs) };
  const options: ResultOptions = { races: !p.values["no-races"], timeout: p.common.timeout };
  const wanted = p.values.lineage as string[] | undefined;
  if (wanted) options.lineages = wanted;
  const baseArg = p.values.baseline as string | undefined;
  if (baseArg !== undefined) options.baseline = baseArg;
  // The workers load their modules while this thread loads the inputs.
  const workers = spawnWorkers(Math.max(0, jobs - 1));
  let plan: ReportPlan;
  try {
    plan = loadPlan(p.common, options);
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }
  const explorations = plan.races?.pairs ?? [];
  if (!shard) {
    // The lineage diffs (blame runs hybrids) need the cells alone: made while workers explore.
    let matrix: MatrixAnalysis | undefined;
    const res = await runAll(
      io,
      p.common,
      jobs,
      {
        cells: plan.cells,
        explorations,
        costs: plan.f8 ? [plan.f8] : [],
      },
      plan.revisions,
      (outcomes) => {
        matrix = usageOnRange(() => planMatrix(plan, outcomes, { timeout: p.common.timeout }));
      },
      workers,
    );
    return finishReport(io, p.common, plan, { ...res, matrix }, outputs, expect);
  }
  const cellIndexes = shardIndexes(plan.cells.length, shard);
  const exploreIndexes = shardIndexes(explorations.length, shard);
  const res = await runAll(
    io,
    p.common,
    jobs,
    {
      cells: cellIndexes.map((i) => plan.cells[i]),
      explorations: exploreIndexes.map((i) => explorations[i]),
    },
    plan.revisions,
    undefined,
    workers,
  );
  emit(
    io,
    p.common,
    out,
    resultSetJson(resultSet(plan, options, shard, cellIndexes, exploreIndexes, res)),
  );
  return 0;
}

/** The result set of one shard: its results under their indexes, and what merge checks. */
function resultSet(
  plan: ReportPlan,
  options: ResultOptions,
  shard: Shard,
  cellIndexes: number[],
  exploreIndexes: number[],
  res: WorkResults,
): ResultSet {
  return {
    schema: RESULTS_SCHEMA,
    report: REPORT_SCHEMA,
    shard,
    options,
    scenarios: plan.scenarios.map((s) => ({ id: s.id, hash: scenarioHash(s) })),
    revisions: plan.revisions.map((r) => ({ id: r.id, hash: revisionHash(r) })),
    units: { cells: plan.cells.length, explorations: plan.races?.pairs.length ?? 0 },
    cells: cellIndexes.map((index, i) => ({ index, outcome: res.outcomes[i] })),
    explorations: exploreIndexes.map((index, i) => ({ index, result: res.explorations[i] })),
  };
}

async function cmdMerge(args: string[], io: Io): Promise<number> {
  const p = parse("merge", args, {
    format: { type: "string", multiple: true },
    out: { type: "string", multiple: true },
    expect: { type: "string" },
  }, [
    "file",
  ], { more: true });
  if (p.help) return help(io, "merge");
  if (p.values.timeout !== undefined) {
    throw new UsageError(
      `option "--timeout" is not for "merge": the time bound is the shards' (their ` +
        `"report --shard --timeout"), which merge takes from the result sets`,
    );
  }
  const outputs = parseOutputs(
    p.values.format as string[] | undefined,
    p.values.out as string[] | undefined,
    "md",
  );
  const expectFile = p.values.expect as string | undefined;
  const expect = { file: expectFile, tables: expectationsOf(expectFile, outputs) };
  const files = p.pos.map((file) => ({ file, set: readResultSet(file) }));
  const options = checkShards(files);
  // The blame search runs with the shards' time bound, as the report's did.
  const common = { ...p.common, timeout: options.timeout };
  const plan = loadPlan(common, options);
  const res = mergeResults(files, {
    scenarios: plan.scenarios.map((s) => ({ id: s.id, hash: scenarioHash(s) })),
    revisions: plan.revisions.map((r) => ({ id: r.id, hash: revisionHash(r) })),
    cells: plan.cells,
    explorations: plan.races?.pairs ?? [],
  });
  // The lineage diffs once, for every format.
  const matrix = outputs.length > 1
    ? usageOnRange(() => planMatrix(plan, res.outcomes, { timeout: common.timeout }))
    : undefined;
  return await finishReport(io, common, plan, matrix ? { ...res, matrix } : res, outputs, expect);
}

async function cmdBisect(args: string[], io: Io): Promise<number> {
  const p = parse("bisect", args, { json: { type: "boolean" }, ...JOBS_OPTION }, [
    "lineage",
    "scenario",
  ]);
  if (p.help) return help(io, "bisect");
  const jobs = parseJobs(p.values.jobs as string | undefined);
  const [lineage, sArg] = p.pos;
  const revs = loadRevisions(p.common);
  const lo = usageOnRange(() => lineageOrder(revs, lineage));
  const scenario = resolveScenario(sArg, p.common);
  const run = revs.filter((r) => lo.order.includes(r.id));
  const res = await runAll(io, p.common, jobs, { cells: matrixPairs([scenario], run) }, revs);
  const m: Matrix = { scenarios: [scenario], revisions: run, cells: res.outcomes };
  const b = usageOnRange(() => bisect(m, lineage, scenario.id, { timeout: p.common.timeout }));
  if (p.values.json) {
    const { lastOutcome: _l, firstOutcome: _f, ...rest } = b;
    io.out(prettyJson({ schema: "mmbisect/bisect@1", ...rest }));
  } else {
    io.out(formatBisect(b));
  }
  return 0;
}

/**
 * `import-patch`: the revision a diff makes of `--base`, written to `--out`,
 * then compared with the base as `compare` does.
 */
async function cmdImportPatch(args: string[], io: Io): Promise<number> {
  const p = parse(
    "import-patch",
    args,
    {
      base: { type: "string" },
      out: { type: "string" },
      ...JOBS_OPTION,
    },
    ["patch"],
    { more: true },
  );
  if (p.help) return help(io, "import-patch");
  const jobs = p.values.jobs as string | undefined;
  parseJobs(jobs);
  const outArg = (p.values.out as string | undefined) ?? `${revisionIdOf(p.pos[0])}.json`;
  const out = isPath(outArg) ? outArg : `./${outArg}`;
  checkOut(out);
  const base = resolveRevision(
    loadRevisions(p.common),
    (p.values.base as string | undefined) ?? "mainline-2.6.27",
    p.common,
  );
  if (base.base !== "2.6.24") {
    throw new UsageError(
      `option "--base" is "${base.id}", which runs on ${base.base} (import-patch places notifier calls in the 2.6.24 tree)`,
    );
  }
  const r = importPatches(p.pos.map(readPatchFile), { base, id: revisionIdOf(out) });
  io.out(formatImport(r, base.id));
  if (!r.revision) {
    for (const u of r.unplaced) io.err(`mmbisect: cannot place ${u.hunk}: ${u.reason}\n`);
    return 1;
  }
  emit(io, p.common, out, prettyJson(r.revision));
  io.out("\n");
  return await cmdCompare([
    base.id,
    out,
    "--scenarios",
    p.common.scenarios,
    "--patches",
    p.common.patches,
    "--timeout",
    String(p.common.timeout),
    ...p.common.revision.flatMap((f) => ["--revision", f]),
    ...p.common.scenario.flatMap((f) => ["--scenario", f]),
    ...(p.common.quiet ? ["--quiet"] : []),
    ...(jobs !== undefined ? ["--jobs", jobs] : []),
  ], io);
}

function cmdList(args: string[], io: Io): number {
  const p = parse("list", args, {
    json: { type: "boolean" },
    path: { type: "string" },
    kind: { type: "string" },
    lineage: { type: "string" },
  }, ["what"]);
  if (p.help) return help(io, "list");
  const topic = p.pos[0] as ListTopic;
  if (!LIST_TOPICS.includes(topic)) {
    throw new UsageError(`"list" lists ${LIST_TOPICS.join(", ")}, not "${p.pos[0]}"`);
  }
  const filter: ScenarioFilter = {};
  for (const k of ["path", "kind", "lineage"] as const) {
    const v = p.values[k] as string | undefined;
    if (v === undefined) continue;
    if (topic !== "scenarios") {
      throw new UsageError(`option "--${k}" filters "list scenarios" only`);
    }
    filter[k] = v;
  }
  const inp = () => ({
    scenarios: loadScenarios(p.common),
    revisions: loadRevisions(p.common),
    timeout: p.common.timeout,
  });
  const rows = topic === "scenarios"
    ? usageOnRange(() => listScenarios(inp(), filter))
    : topic === "revisions"
    ? listRevisions(loadRevisions(p.common))
    : topic === "hook-points"
    ? listHookPoints(readSourceMapHooks())
    : listLabels(inp());
  io.out(
    p.values.json
      ? prettyJson({ schema: `mmbisect/list-${topic}@1`, rows })
      : formatList(topic, rows),
  );
  return 0;
}

function help(io: Io, command?: string): number {
  io.out(command ? COMMAND_HELP[command] : MAIN_HELP);
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: Io) => number | Promise<number>> = {
  run: cmdRun,
  compare: cmdCompare,
  report: cmdReport,
  bisect: cmdBisect,
  explain: cmdExplain,
  explore: cmdExplore,
  merge: cmdMerge,
  "import-patch": cmdImportPatch,
  list: cmdList,
};

/**
 * Runs the command line.
 *
 * @param args The arguments after the program name.
 * @param io Where to write (default: the process's standard output and error).
 * @returns The exit status: 0 when the command ran, 1 when a revision
 * regressed against the `--baseline` of `compare`, `report` or `merge` or a
 * cell does not match the `--expect` file of `report` or `merge`, 2 on
 * bad input, 3 when the output could not be written. A command without
 * `--jobs` above 1 does all its work before this returns its promise.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const lines: string[] = [];
 * const status = await main(["run", "--help"], {
 *   out: (t) => lines.push(t),
 *   err: (t) => lines.push(t),
 * });
 * console.log(status, lines[0].split("\n")[0]);
 * ```
 */
export async function main(args: string[], io: Io = PROCESS_IO): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === "-h" || command === "--help") return help(io);
    if (command === "help") {
      const topic = rest[0];
      if (topic !== undefined && !Object.hasOwn(COMMAND_HELP, topic)) {
        throw new UsageError(
          `unknown command "${topic}" (commands: ${Object.keys(COMMANDS).join(", ")})`,
        );
      }
      return help(io, topic);
    }
    // hasOwn: "constructor" or "toString" is an unknown command, not Object's member.
    const fn = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!fn) {
      throw new UsageError(
        `unknown command "${command}" (commands: ${
          Object.keys(COMMANDS).join(", ")
        }; see: mmbisect --help)`,
      );
    }
    return await fn(rest, io);
  } catch (e) {
    if (e instanceof UsageError || e instanceof InputError) {
      io.err(`mmbisect: ${oneLine(e.message)}\n`);
      return 2;
    }
    if (e instanceof OutputError) {
      if (!e.brokenPipe) io.err(`mmbisect: ${e.message}\n`);
      return 3;
    }
    throw e;
  }
}
