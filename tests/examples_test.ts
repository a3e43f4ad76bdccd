/**
 * Runs every example in the documentation of the library, the command line,
 * the tools and the benchmarks: each ```` ```ts ```` block of a JSDoc comment
 * in `mod.ts`, `cli.ts`, `src/`, `tools/` and `bench/`, one test each, named
 * `<file>$<first line>-<last line>` as `deno test --doc` names it.
 *
 * The examples run here, in the isolate of the suite that imports this
 * file, where the library is loaded once. `deno test --doc` runs each in an
 * isolate of its own, which for this library's hundred examples cost about
 * 13 s of CPU more than running them (BENCHMARKS.md, "task test"). They are
 * type-checked by `deno check --doc`, which `deno task test` runs before the
 * tests. An example is written, with its relative imports made absolute, to
 * a temporary file and imported: its top-level code is its body, as in a
 * test of `deno test --doc`. A fence other than `ts` (run), `sh` or `json`
 * (shown only) fails the test below, so that no example is skipped unseen.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);

/** The files whose examples run: `mod.ts`, `cli.ts` and every `.ts` file under the three folders. */
function sources(): string[] {
  const out = ["mod.ts", "cli.ts"];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.isFile && e.name.endsWith(".ts")) out.push(path);
    }
  };
  for (const dir of ["src", "tools", "bench"]) walk(dir);
  return out.sort();
}

/** One example: where it is and its code as a module. */
interface Example {
  name: string;
  code: string;
}

/** The languages a documentation fence may name: `ts` runs, the others are shown only. */
const SHOWN_ONLY = new Set(["sh", "json"]);

/** The examples of `file`, and a line for each fence that is neither run nor shown only. */
function examplesOf(file: string): { examples: Example[]; unknown: string[] } {
  const url = new URL(file, ROOT);
  const lines = Deno.readTextFileSync(url).split("\n");
  const examples: Example[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^\s*\* ?```(.*)$/);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*\* ?```\s*$/.test(lines[end])) end++;
    const lang = open[1].trim();
    if (lang === "ts") {
      const body = lines.slice(i + 1, end).map((l) => l.replace(/^\s*\* ?/, "")).join("\n");
      // Relative specifiers name files beside the source, not beside the temporary copy.
      const code = body.replace(
        /((?:from|import)\s*\(?\s*)"(\.\.?\/[^"]+)"/g,
        (_, head: string, spec: string) => `${head}"${new URL(spec, url).href}"`,
      );
      examples.push({ name: `${file}$${i + 1}-${end + 1}`, code });
    } else if (!SHOWN_ONLY.has(lang)) {
      unknown.push(`${file}:${i + 1}: \`\`\`${lang}`);
    }
    i = end;
  }
  return { examples, unknown };
}

const found = sources().map(examplesOf);

Deno.test("every fence in the documentation is ts (run here) or sh or json (shown only)", () => {
  assert.deepEqual(found.flatMap((f) => f.unknown), []);
  // The library documents its public functions with examples: a reading that finds few is wrong.
  assert.ok(found.flatMap((f) => f.examples).length >= 100);
});

for (const { name, code } of found.flatMap((f) => f.examples)) {
  Deno.test(name, async () => {
    const dir = Deno.makeTempDirSync({ prefix: "mmbisect-example-" });
    try {
      const path = `${dir}/example.ts`;
      Deno.writeTextFileSync(path, `${code}\nexport {};\n`);
      await import(new URL(`file://${path}`).href);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
}
