/**
 * Runs before `deno task test`: the HTML report test drives a real headless
 * Chromium, so a machine without one gets Debian's `chromium` package here,
 * or a message saying what to do, instead of a failed test.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-env tools/ensure_chromium.ts
 * ```
 *
 * Exits 0 when the browser is there (or has just been installed), 1 when it
 * is not and cannot be installed from here.
 *
 * @module
 */

/** Where Debian's `chromium` package puts the browser. */
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

const APT_INSTALL = "apt-get install -y chromium";

/**
 * The browser the HTML report test runs.
 *
 * @returns `MMBISECT_CHROMIUM` when set and not empty, else {@link DEBIAN_CHROMIUM}.
 */
export function chromiumPath(): string {
  return Deno.env.get("MMBISECT_CHROMIUM") || DEBIAN_CHROMIUM;
}

/**
 * Whether the browser is there.
 *
 * @param path The browser's path.
 * @returns True when `path` is a file.
 */
export function chromiumInstalled(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * What a user does to get the browser the test needs.
 *
 * @param path The browser's path, as {@link chromiumPath} gives it.
 * @returns One sentence naming the missing file and the fix.
 */
export function chromiumAdvice(path: string): string {
  if (path !== DEBIAN_CHROMIUM) {
    return `MMBISECT_CHROMIUM names ${path}, which is not a file: set it to the path of a ` +
      `Chromium, or unset it to use Debian's package ("sudo ${APT_INSTALL}")`;
  }
  return `Chromium is not installed at ${path}, and the HTML report test opens the report in it: ` +
    `install it with "sudo ${APT_INSTALL}" (deno task test does so as root or with passwordless ` +
    `sudo), or set MMBISECT_CHROMIUM=/path/to/chromium`;
}

interface Ran {
  ok: boolean;
  output: string;
}

async function run(argv: string[]): Promise<Ran> {
  try {
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { ok: out.success, output: text.decode(out.stdout) + text.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ok: false, output: `${argv[0]}: not found` };
    throw e;
  }
}

/** The prefix that runs a command as root, or undefined when there is none. */
async function asRoot(): Promise<string[] | undefined> {
  const id = await run(["id", "-u"]);
  if (id.ok && id.output.trim() === "0") return [];
  if ((await run(["sudo", "-n", "true"])).ok) return ["sudo", "-n"];
  return undefined;
}

async function apt(root: string[], args: string[]): Promise<Ran> {
  // sudo resets the environment, so the variable goes through env(1); the lock
  // timeout lets a concurrent apt or dpkg finish instead of failing this one.
  return await run([
    ...root,
    "env",
    "DEBIAN_FRONTEND=noninteractive",
    "apt-get",
    "-q",
    "-o",
    "DPkg::Lock::Timeout=600",
    ...args,
  ]);
}

async function main(): Promise<number> {
  const path = chromiumPath();
  if (chromiumInstalled(path)) return 0;
  const fail = (why?: string) => {
    if (why) console.error(`ensure_chromium: ${why}`);
    console.error(`ensure_chromium: ${chromiumAdvice(path)}`);
    return 1;
  };
  if (path !== DEBIAN_CHROMIUM) return fail();
  const root = await asRoot();
  if (!root) return fail("cannot install Chromium here: not root, and no passwordless sudo");
  console.log(
    `ensure_chromium: ${path} is missing; installing Debian's chromium package for the HTML ` +
      `report test (${root.length ? "sudo " : ""}${APT_INSTALL})`,
  );
  let log = await apt(root, ["install", "-y", "chromium"]);
  if (!log.ok) {
    // A stale or absent package index is the usual cause: refresh it once.
    const update = await apt(root, ["update"]);
    log = await apt(root, ["install", "-y", "chromium"]);
    log.output = update.output + log.output;
  }
  if (log.ok && chromiumInstalled(path)) return 0;
  console.error(log.output.trimEnd().split("\n").slice(-20).join("\n"));
  return fail(`"${APT_INSTALL}" failed; its last lines are above`);
}

if (import.meta.main) Deno.exit(await main());
