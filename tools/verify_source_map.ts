/**
 * Checks every quoted line of docs/source-map.json against the trees it
 * cites: a site of v2.6.24 or v2.6.27 against `git show <commit>:<file>` in a
 * Linux git directory that holds both commits (for example the history of
 * caglar10ur/linux-2.6.27.y), a site of v4.9 the same way in a second git
 * directory that holds the v4.9 commit (lxuxx/linux-4.9), a seed-based site
 * against the seed file (its line, or for a site without one the hunk header
 * it names).
 *
 * ```sh
 * deno run --allow-read --allow-run tools/verify_source_map.ts --git /path/to/linux-2.6.git [--git49 /path/to/linux-4.9.git] [--seeds ../shared/seeds]
 * ```
 *
 * Without `--git49` the v4.9 sites are skipped, with a line saying so.
 * Prints one line per mismatch and exits 1 when there is one.
 *
 * @module
 */
import {
  HOOK_TREES,
  isSite,
  parseSourceMap,
  type Site,
  SOURCE_MAP_FILE,
  type SourceMap,
  type Tree,
  TREES,
} from "./source_map.ts";

/** A site to check, with where it sits in the map. */
interface Check {
  where: string;
  tree: string;
  site: Site;
}

/** Every quoted site of the map, leaving out the trees in `skip`. */
function checks(map: SourceMap, skip: readonly string[] = []): Check[] {
  const out: Check[] = [];
  for (const [name, e] of Object.entries(map.paths)) {
    for (const tree of TREES.filter((t) => !skip.includes(t))) {
      const s = e[tree];
      if (isSite(s) && (s.quote !== undefined || s.hunk !== undefined)) {
        out.push({ where: `paths.${name}`, tree, site: s });
      }
    }
  }
  for (const [path, points] of Object.entries(map.hooks)) {
    for (const [point, e] of Object.entries(points)) {
      for (const tree of HOOK_TREES.filter((t) => !skip.includes(t))) {
        const s = e[tree];
        if (isSite(s) && s.quote !== undefined) {
          out.push({ where: `hooks.${path}.${point}`, tree, site: s });
        }
        if (!isSite(s) || !s.anchor) continue;
        for (const [side, lines] of Object.entries(s.anchor)) {
          for (const a of lines ?? []) {
            const quotes: string[] = Array.isArray(a.quote) ? a.quote : [a.quote];
            quotes.forEach((quote: string, i: number) =>
              out.push({
                where: `hooks.${path}.${point}.anchor.${side}`,
                tree,
                site: { file: s.file, function: s.function, line: a.line + i, quote },
              })
            );
          }
        }
      }
    }
  }
  return out;
}

/**
 * The mismatches of `map` against the trees.
 *
 * @param map The source map.
 * @param read Returns the lines of `file` in `tree`, or of a seed file for tree "seed".
 * @param skip Trees whose sites are not checked.
 * @returns One message per site whose quote is not its line, or whose hunk is not in its seed.
 */
export function mismatches(
  map: SourceMap,
  read: (tree: string, file: string) => string[] | null,
  skip: readonly string[] = [],
): string[] {
  const out: string[] = [];
  for (const c of checks(map, skip)) {
    if (c.site.quote === undefined) {
      // A hunk of a seed: its header must be in the seed file.
      const seedFile = c.site.seed!.split(":")[0];
      const text = read("seed", seedFile);
      if (!text?.join("\n").includes(c.site.hunk!)) {
        out.push(`${c.where} ${c.tree}: ${seedFile} has no ${JSON.stringify(c.site.hunk)}`);
      }
      continue;
    }
    const [file, line] = c.site.seed
      ? [c.site.seed.split(":")[0], Number(c.site.seed.split(":")[1])]
      : [c.site.file, c.site.line!];
    const text = read(c.site.seed ? "seed" : c.tree, file);
    if (!text) {
      out.push(`${c.where} ${c.tree}: cannot read ${file}`);
      continue;
    }
    const got = (text[line - 1] ?? "").trim();
    if (got !== c.site.quote) {
      out.push(`${c.where} ${c.tree}: ${file}:${line} is ${JSON.stringify(got)}`);
    }
  }
  return out;
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i < 0 ? undefined : Deno.args[i + 1];
  };
  const git = arg("--git");
  const git49 = arg("--git49");
  if (!git) {
    console.error(
      "usage: verify_source_map.ts --git <linux 2.6 git dir> [--git49 <linux 4.9 git dir>] [--seeds <seeds dir>]",
    );
    Deno.exit(2);
  }
  const skip = git49 ? [] : ["v4.9"];
  if (!git49) console.log("no --git49 given: the v4.9 sites are not checked");
  const seeds = arg("--seeds") ?? "../shared/seeds";
  const map = parseSourceMap(Deno.readTextFileSync(SOURCE_MAP_FILE));
  const cache = new Map<string, string[] | null>();
  const read = (tree: string, file: string): string[] | null => {
    const key = `${tree}:${file}`;
    if (!cache.has(key)) {
      let text: string | null = null;
      if (tree === "seed") {
        try {
          text = Deno.readTextFileSync(`${seeds}/${file}`);
        } catch {
          text = null;
        }
      } else {
        const commit = map.trees[tree as Tree].commit;
        const dir = tree === "v4.9" ? git49! : git;
        const r = new Deno.Command("git", { args: ["--git-dir", dir, "show", `${commit}:${file}`] })
          .outputSync();
        text = r.success ? new TextDecoder().decode(r.stdout) : null;
      }
      cache.set(key, text === null ? null : text.split("\n"));
    }
    return cache.get(key)!;
  };
  const bad = mismatches(map, read, skip);
  for (const m of bad) console.log(m);
  console.log(`${checks(map, skip).length} quotes and hunks checked, ${bad.length} mismatched`);
  Deno.exit(bad.length ? 1 : 0);
}
