/**
 * Loads an older commit of this project beside the current one, so that a
 * benchmark can time both in one process: `git archive <commit>` unpacked
 * into a temporary directory, its `mod.ts` imported dynamically.
 *
 * @module
 */
import type { Parse } from "./_scenarios.ts";

/** What an explorer benchmark calls, in every commit since the explorer landed. */
export interface ExplorerApi {
  /** `explore(scenario, revision, opts)` (a commit before `reuse` ignores it). */
  explore(
    scenario: unknown,
    revision: unknown,
    opts?: { reduction?: boolean; maxRuns?: number; reuse?: boolean },
  ): {
    status: string;
    states: number;
    schedules: number;
    runs: number;
    verdicts: Record<string, string>;
  };
  /** `loadRevisionDir(dir)`. */
  loadRevisionDir(dir: string): { id: string }[];
  /** `parseScenario(raw, file, id)`. */
  parseScenario: Parse<unknown>;
}

/** A commit loaded from a temporary directory. */
export interface LoadedCommit {
  /** Its API. */
  api: ExplorerApi;
  /** The directory it was unpacked into, with a trailing slash (its `patches/`, `scenarios/`). */
  dir: string;
}

/** Runs a command in `cwd`, feeding it `input`; its standard output, or throws with its standard error. */
async function run(cmd: string, args: string[], cwd: string, input?: Uint8Array) {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: input ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input) {
    const w = child.stdin.getWriter();
    await w.write(input);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err || `exit ${out.code}`}`);
  }
  return out.stdout;
}

/**
 * Unpacks `commit` of the repository at `root` into a temporary directory
 * (removed when the process unloads) and imports its `mod.ts`.
 *
 * @param root The checkout (a git work tree), with a trailing slash.
 * @param commit The commit to load.
 * @returns The loaded commit, or why it could not be loaded (no git, no such
 * commit, no permission to run git or to write a temporary directory).
 */
export async function loadCommit(root: string, commit: string): Promise<LoadedCommit | string> {
  let dir: string | undefined;
  try {
    const tar = await run("git", ["archive", "--format=tar", commit], root);
    dir = await Deno.makeTempDir({ prefix: `mmbisect-${commit}-` });
    await run("tar", ["-x", "-C", dir], root, tar);
    const tmp = dir;
    globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
    const api = await import(`file://${dir}/mod.ts`) as ExplorerApi;
    return { api, dir: `${dir}/` };
  } catch (e) {
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    return e instanceof Error ? e.message : String(e);
  }
}
