/**
 * Running the command line in tests: in a child process (for the exit
 * status, standard streams and files the process itself sees) or in
 * process with captured output (fast, for many inputs).
 *
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../cli.ts";

/** Path of cli.ts. */
export const CLI = new URL("../cli.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

/** What a command printed and its exit status. */
export interface Result {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * The V8 flag of the command line's child processes: without the optimizing
 * compiler, as `deno task report` runs. These processes are short, and
 * compiling their hot code costs more CPU than it saves (the whole report's
 * processes of `merge_test.ts` take a quarter less CPU, the many short ones
 * of `cli_test.ts` two fifths less). What a command does is the same.
 */
export const V8_FLAGS = "--v8-flags=--no-turbofan";

/** Runs cli.ts in a child process (read and write permissions only). */
export async function cli(...args: string[]): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", V8_FLAGS, CLI, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs the command line's `main()` in this process, capturing what it writes. */
export async function cliInProcess(...args: string[]): Promise<Result> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
  });
  return { code, stdout, stderr };
}

/** Asserts the shape of a bad-input failure: exit 2 and one line on stderr, no stack. */
export function assertInputError(r: Result, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit status; stderr: ${r.stderr}`);
  assert.equal(r.stdout, "");
  assertOneLine(r.stderr);
  assert.match(r.stderr, pattern);
}

/** Asserts that `stderr` is exactly one `mmbisect: ` line with no stack trace. */
export function assertOneLine(stderr: string): void {
  const lines = stderr.split("\n");
  assert.equal(lines.length, 2, `one line on stderr, got:\n${stderr}`);
  assert.equal(lines[1], "", "the line ends with a newline");
  assert.match(lines[0], /^mmbisect: \S/);
  assert.doesNotMatch(stderr, /^\s+at |\.ts:\d+:\d+|Uncaught/m);
}
