/**
 * Checks, when a suite is loaded, that `_suite_a.ts` and `_suite_b.ts`
 * together import every test file of `tests/`, each exactly once: a test
 * file that neither imports would not run in `deno task test`, which runs
 * the two suites and not the files one by one.
 *
 * @module
 */

const DIR = new URL(".", import.meta.url);
const SUITES = ["_suite_a.ts", "_suite_b.ts"];

const importedBy = new Map<string, string[]>();
for (const suite of SUITES) {
  const text = Deno.readTextFileSync(new URL(suite, DIR));
  for (const [, file] of text.matchAll(/^import "\.\/([^"]+)";$/gm)) {
    if (file.endsWith("_test.ts")) importedBy.set(file, [...(importedBy.get(file) ?? []), suite]);
  }
}
const wrong = [...Deno.readDirSync(DIR)]
  .filter((e) => e.isFile && e.name.endsWith("_test.ts"))
  .map((e) => e.name)
  .filter((name) => importedBy.get(name)?.length !== 1)
  .sort()
  .map((name) =>
    `tests/${name} is imported by ${importedBy.get(name)?.join(" and ") ?? "no suite"}`
  );
if (wrong.length > 0) {
  throw new Error(
    `${wrong.join("; ")}: deno task test runs tests/${
      SUITES.join(" and tests/")
    }, and each test file must be imported by exactly one of them`,
  );
}
