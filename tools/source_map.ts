/**
 * The standing source map (docs/source-map.json): for every kernel path the
 * model defines and every hook point, where it is in the real kernels. This
 * module reads and checks the file and renders the section of
 * docs/sources.md generated from it; run as a script, it rewrites that
 * section:
 *
 * ```sh
 * deno run --allow-read --allow-write tools/source_map.ts
 * ```
 *
 * @module
 */

/** The trees a site may be given for, in the order the tables show them. */
export const TREES = ["v2.6.24", "v2.6.27", "v4.9", "v2.5.42", "hmm-base"] as const;
/** A tree of {@link TREES}. */
export type Tree = typeof TREES[number];
/** The trees that have hook points, in the order the hook-point table shows them. */
export const HOOK_TREES = ["v2.6.24", "v2.6.27", "v4.9"] as const;
/** A tree of {@link HOOK_TREES}. */
export type HookTree = typeof HOOK_TREES[number];

/** Where a path or hook point is in one tree. */
export interface Site {
  /** File in the tree (or in the patch, for a seed-based site). */
  file: string;
  /** The C function (or macro-made definition) it is in. */
  function: string;
  /** 1-based line in that file; absent when only a hunk is known. */
  line?: number;
  /** The line's text, trimmed (what tools/verify_source_map.ts compares). */
  quote?: string;
  /** Seed file (and line, `name:line`) a site of a patched tree is read from. */
  seed?: string;
  /** The hunk header of a seed-based site without a line. */
  hunk?: string;
  /** What a reader needs to know to match the model with it. */
  note?: string;
  /** The kernel lines a hook point sits between (hook points of v2.6.24), for matching a diff. */
  anchor?: Anchor;
}

/** One anchor line, or several consecutive lines starting at `line`. */
export interface AnchorLine {
  /** 1-based line of the (first) quoted line in the site's file. */
  line: number;
  /** The trimmed line, or the consecutive trimmed lines. */
  quote: string | string[];
}

/**
 * The short source anchor of a hook point: the kernel line(s) it follows,
 * those it precedes, and for a point that is a test the kernel makes (an
 * aging check a callout joins) the line of that test. A diff line added
 * right after a `follows` line, right before a `precedes` line, or into an
 * `at` line sits at the point. Blank and comment lines do not count.
 */
export interface Anchor {
  /** Lines the point comes right after. */
  follows?: AnchorLine[];
  /** Lines the point comes right before. */
  precedes?: AnchorLine[];
  /** The test a callout at the point is made part of. */
  at?: AnchorLine[];
}

/** A tree where the path or point does not exist, or could not be read. */
export interface Absent {
  /** Why: not in that tree, or not available. */
  absent: string;
}

/** One tree's description. */
export interface TreeInfo {
  /** Human name. */
  title: string;
  /** Whether the tree itself was read. */
  available: boolean;
  /** Repository the tree was read from. */
  repo?: string;
  /** Its commit. */
  commit?: string;
  /** How the lines were read. */
  how?: string;
  /** Why it is not available. */
  why?: string;
}

/** One modelled path (a `defPath` name). */
export interface PathEntry {
  /** Which layer defines it: kernel, kernel-2.5.42, notifier, secondary or harness. */
  layer: "kernel" | "kernel-2.5.42" | "notifier" | "secondary" | "harness";
  /** What it models, in one line. */
  what: string;
  /** Where it is in each tree. */
  [tree: string]: Site | Absent | string;
}

/** The whole file. */
export interface SourceMap {
  /** Always `mmbisect/source-map@1`. */
  schema: string;
  /** The trees. */
  trees: Record<Tree, TreeInfo>;
  /** Every `defPath` name. */
  paths: Record<string, PathEntry>;
  /** Every hook point, by path then point, for the trees that have hook points. */
  hooks: Record<string, Record<string, Record<HookTree, Site | Absent>>>;
}

/** Where the map lives, relative to the repository root. */
export const SOURCE_MAP_FILE = "docs/source-map.json";
/** The file whose generated section the map renders into. */
export const SOURCES_FILE = "docs/sources.md";
/** First line of the generated section. */
export const BEGIN =
  "<!-- source-map: generated from docs/source-map.json by tools/source_map.ts -->";
/** Last line of the generated section. */
export const END = "<!-- source-map: end -->";

const LAYERS: readonly PathEntry["layer"][] = [
  "kernel",
  "notifier",
  "secondary",
  "kernel-2.5.42",
  "harness",
];

/**
 * Reads the map and checks its shape: every path has a layer, a description
 * and an entry for every tree; every site has a file and a function, and a
 * line or a hunk.
 *
 * @param text The file's JSON text.
 * @returns The map.
 */
export function parseSourceMap(text: string): SourceMap {
  const map = JSON.parse(text) as SourceMap;
  if (map.schema !== "mmbisect/source-map@1") {
    throw new SyntaxError(`Cannot read the source map: schema is ${JSON.stringify(map.schema)}`);
  }
  for (const [name, e] of Object.entries(map.paths)) {
    if (!LAYERS.includes(e.layer)) {
      throw new SyntaxError(`Cannot read the source map: path "${name}" has layer ${e.layer}`);
    }
    for (const t of TREES) checkSite(e[t], `paths.${name}.${t}`);
  }
  for (const [path, points] of Object.entries(map.hooks)) {
    for (const [point, e] of Object.entries(points)) {
      for (const t of HOOK_TREES) {
        checkSite(e[t], `hooks.${path}.${point}.${t}`);
      }
    }
  }
  return map;
}

function checkSite(s: unknown, where: string): void {
  if (typeof s !== "object" || s === null) {
    throw new SyntaxError(`Cannot read the source map: ${where} is missing`);
  }
  if ("absent" in s) {
    if (typeof s.absent !== "string" || s.absent === "") {
      throw new SyntaxError(`Cannot read the source map: ${where}.absent is empty`);
    }
    return;
  }
  const site = s as Site;
  if (!site.file || !site.function) {
    throw new SyntaxError(`Cannot read the source map: ${where} has no file or function`);
  }
  if (site.line === undefined && site.hunk === undefined) {
    throw new SyntaxError(`Cannot read the source map: ${where} has neither a line nor a hunk`);
  }
}

/** Whether an entry is a site (not an absence). */
export function isSite(s: unknown): s is Site {
  return typeof s === "object" && s !== null && !("absent" in s);
}

function cell(s: unknown, quote: boolean): string {
  if (!isSite(s)) return `— ${esc((s as Absent).absent)}`;
  const at = s.line !== undefined ? `${s.file}:${s.line}` : `${s.file} ${s.hunk}`;
  const parts = [`\`${at}\` ${s.function}()`];
  if (quote && s.quote) parts.push(`\`${s.quote.replaceAll("`", "'")}\``);
  if (s.seed) parts.push(`(seed ${s.seed})`);
  if (s.note) parts.push(`— ${esc(s.note)}`);
  if (quote && s.anchor) parts.push(`— anchor: ${anchorText(s.anchor)}`);
  return parts.join(" ");
}

/** An anchor as the hook-point table shows it: `follows :L`, `precedes :L`, `joins :L`. */
function anchorText(a: Anchor): string {
  const side = (name: string, lines: AnchorLine[] | undefined) =>
    (lines ?? []).map((l) => {
      const n = Array.isArray(l.quote) ? l.quote.length : 1;
      return `${name} :${l.line}${n > 1 ? `-${l.line + n - 1}` : ""}`;
    });
  return [...side("follows", a.follows), ...side("precedes", a.precedes), ...side("joins", a.at)]
    .join(", ");
}

function esc(text: string): string {
  return text.replaceAll("|", "\\|");
}

/**
 * Renders the generated section of docs/sources.md, markers included.
 *
 * @param map The source map.
 * @returns Markdown, ending with a newline.
 */
export function renderSourceMap(map: SourceMap): string {
  const out: string[] = [BEGIN, "", "## 8. Standing source map", ""];
  out.push(
    "Every kernel path the model defines (the names given to `defPath`) and every hook point of",
    "`HOOK_POINTS`, with the file, function and line in each tree, so the model can be checked line by",
    "line. Generated from `docs/source-map.json`; do not edit this section by hand.",
    "`tests/source_map_test.ts` fails when a path or hook point has no entry;",
    "`tools/verify_source_map.ts` compares every quoted line with the kernel git trees.",
    "",
    "| tree | read from |",
    "| --- | --- |",
  );
  for (const t of TREES) {
    const i = map.trees[t];
    const from = i.available ? `${i.repo} \`${i.commit}\` (${i.how})` : `not available: ${i.why}`;
    out.push(`| ${t}: ${esc(i.title)} | ${esc(from)} |`);
  }
  for (const layer of LAYERS) {
    const names = Object.keys(map.paths).filter((n) => map.paths[n].layer === layer).sort();
    out.push("", `### 8.${LAYERS.indexOf(layer) + 1} Paths: ${layer}`, "");
    out.push("| path | what | " + TREES.join(" | ") + " |");
    out.push("| --- | --- | " + TREES.map(() => "---").join(" | ") + " |");
    for (const n of names) {
      const e = map.paths[n];
      out.push(
        `| \`${n}\` | ${esc(e.what)} | ${TREES.map((t) => cell(e[t], false)).join(" | ")} |`,
      );
    }
  }
  out.push("", `### 8.${LAYERS.length + 1} Hook points`, "");
  out.push(
    "The 2.5.42 paths take no callouts, and the HMM base is not available, so only the 2.6 trees",
    "and v4.9 have a column. For v2.6.27 and v4.9 the line is mainline's call where it has one,",
    "else the statement the point stands for. The anchor of a point (every v2.6.24 point, and a",
    "v2.6.27 one where a posted patch's context is v2.6.27's) gives the lines it follows or",
    "precedes, or the test a callout there joins (`import-patch` matches a diff's context lines",
    "with them).",
    "",
    "| hook point | " + HOOK_TREES.join(" | ") + " |",
    "| --- | " + HOOK_TREES.map(() => "---").join(" | ") + " |",
  );
  for (const path of Object.keys(map.hooks).sort()) {
    for (const point of Object.keys(map.hooks[path])) {
      const e = map.hooks[path][point];
      out.push(
        `| \`${path}\` \`${point}\` | ${HOOK_TREES.map((t) => cell(e[t], true)).join(" | ")} |`,
      );
    }
  }
  out.push("", END, "");
  return out.join("\n");
}

/**
 * Replaces the generated section of `sources` (from {@link BEGIN} to
 * {@link END}) with `section`, or appends it when there is none.
 *
 * @param sources The text of docs/sources.md.
 * @param section What {@link renderSourceMap} returned.
 * @returns The new text.
 */
export function spliceSection(sources: string, section: string): string {
  const a = sources.indexOf(BEGIN);
  const b = sources.indexOf(END);
  if (a < 0 || b < a) return sources.replace(/\n*$/, "\n\n") + section;
  return sources.slice(0, a) + section + sources.slice(b + END.length).replace(/^\n*/, "");
}

if (import.meta.main) {
  const map = parseSourceMap(Deno.readTextFileSync(SOURCE_MAP_FILE));
  const sources = Deno.readTextFileSync(SOURCES_FILE);
  Deno.writeTextFileSync(SOURCES_FILE, spliceSection(sources, renderSourceMap(map)));
}
