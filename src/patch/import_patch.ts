/**
 * From a posted diff to a revision: every notifier call a hunk adds or
 * removes is placed at the hook point its context lines identify (the
 * anchors of docs/source-map.json), in the function the hunk header names
 * or, when it names none the model knows, in the file; its range, atomic
 * argument and condition are read from the C and mapped to what the model
 * computes there. A call that cannot be placed so is reported with the
 * reason, never guessed.
 *
 * @module
 */
import sourceMap from "../../docs/source-map.json" with { type: "json" };
import { CALLOUT_KIND, CALLOUT_NAMES, type CalloutName, HOOK_POINTS } from "../kernel/hooks.ts";
import { InputError, type Json } from "../run/errors.ts";
import type { Revision } from "../run/revision.ts";
import { type DiffLine, type Hunk, parsePatches, type Patch } from "./diff.ts";
import { ATOMIC_EXPRS, GUARD_EXPRS, IMPLIED_GUARDS, RANGE_EXPRS } from "./_exprs.ts";

/** One patch file of the input, read with `parsePatches`. */
export interface PatchFile {
  /** The name the citations give it (the path as the user gave it). */
  name: string;
  /** Its patches, in the order they apply. */
  patches: Patch[];
}

/** A call placed at a hook point. */
export interface Placement {
  /** Whether the hunk adds the call or removes it. */
  op: "add" | "remove";
  /** The kernel path (a `HOOK_POINTS` key). */
  path: string;
  /** The callout as the revision file writes it (with its `cite`). */
  callout: Record<string, Json>;
  /** What the model knows at the point: its lock and atomic context. */
  context: string;
  /** The patch, file and hunk it came from. */
  hunk: string;
  /** Where the hunk header and the context disagreed on the function, what was done. */
  note?: string;
}

/** A hunk, or a call in it, that was not turned into a placement. */
export interface Unplaced {
  /** The patch, file and hunk. */
  hunk: string;
  /** Why. */
  reason: string;
}

/** What {@link importPatches} found. */
export interface PatchImport {
  /** The revision file's content; undefined when a call could not be placed. */
  revision?: Record<string, Json>;
  /** Every call placed, in the order applied. */
  placements: Placement[];
  /** Calls that could not be placed (the import fails when there is one). */
  unplaced: Unplaced[];
  /** Hunks with no notifier call to place, and why they were passed over. */
  skipped: Unplaced[];
}

/** Options of {@link importPatches}. */
export interface ImportOptions {
  /** The revision the imported one extends. */
  base: Revision;
  /** The id of the imported revision. */
  id: string;
}

interface AnchorPoint {
  path: string;
  at: string;
  file: string;
  fn: string;
  follows: string[][];
  precedes: string[][];
  within: string[];
}

interface SiteJson {
  file?: string;
  function?: string;
  anchor?: Record<string, { line: number; quote: string | string[] }[]>;
}

/** The hook points with their anchors in v2.6.24 (and v2.6.27 where given), normalised. */
const POINTS: AnchorPoint[] = (() => {
  const out: AnchorPoint[] = [];
  const hooks = sourceMap.hooks as unknown as Record<
    string,
    Record<string, Record<string, SiteJson>>
  >;
  for (const [path, points] of Object.entries(hooks)) {
    for (const [at, e] of Object.entries(points)) {
      // The anchors of both trees: a patch posted between them has the context of one or the other.
      for (const s of [e["v2.6.24"], e["v2.6.27"]]) {
        if (!s?.file || !s.anchor) continue;
        const lines = (side: string) =>
          (s.anchor![side] ?? []).map((a) =>
            (Array.isArray(a.quote) ? a.quote : [a.quote]).map(norm)
          );
        out.push({
          path,
          at,
          file: s.file,
          fn: s.function!,
          follows: lines("follows"),
          precedes: lines("precedes"),
          within: lines("at").flat(),
        });
      }
    }
  }
  return out;
})();

const MODELLED_FILES = new Set(POINTS.map((p) => p.file));

/** Whitespace collapsed, a trailing comment dropped. */
function norm(line: string): string {
  return line.replace(/\/\*.*?\*\/\s*$/, "").replace(/\/\/.*$/, "").replace(/\s+/g, " ").trim();
}

/** A notifier call found in a statement. */
interface Call {
  name: CalloutName;
  args: string[];
  /** ptep_clear_flush_notify / ptep_clear_flush_young_notify: the wrapped primitive. */
  wrapper: boolean;
  /** Offset of the call in the statement text. */
  index: number;
}

const MAINLINE_CALLS =
  /\bmmu_notifier_(invalidate_range_start|invalidate_range_end|invalidate_range_begin|invalidate_range|invalidate_page|invalidate_all|age_page|clear_flush_young|release)\s*\(/g;

/** The notifier calls of a statement's text. */
function findCalls(text: string): Call[] {
  const out: Call[] = [];
  for (const m of text.matchAll(/\bmmu_(rmap_)?notifier\s*\(/g)) {
    const args = splitArgs(text, m.index! + m[0].length);
    const name = (m[1] ? "rmap_" : "") + args.shift();
    out.push({ name: name as CalloutName, args, wrapper: false, index: m.index! });
  }
  for (const m of text.matchAll(MAINLINE_CALLS)) {
    const args = splitArgs(text, m.index! + m[0].length);
    out.push({ name: m[1] as CalloutName, args, wrapper: false, index: m.index! });
  }
  for (const m of text.matchAll(/\bptep_clear_flush(_young)?_notify\s*\(/g)) {
    const args = splitArgs(text, m.index! + m[0].length);
    const name: CalloutName = m[1] ? "clear_flush_young" : "invalidate_page";
    out.push({ name, args, wrapper: true, index: m.index! });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** The comma-separated arguments from `from` (just after the opening parenthesis) to its close. */
function splitArgs(text: string, from: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let cur = "";
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    if (c === ")") {
      if (depth === 0) break;
      depth--;
    }
    if (c === "," && depth === 0) {
      args.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  args.push(cur.trim());
  return args.filter((a) => a !== "");
}

/** A statement: hunk line indexes on one side, and its joined text. */
interface Stmt {
  idx: number[];
  text: string;
  calls: Call[];
  changed: boolean;
}

/** The statements of one side of a hunk (old: context and removed; new: context and added). */
function statements(lines: DiffLine[], side: "-" | "+"): Stmt[] {
  const comment = commentLines(lines);
  const out: Stmt[] = [];
  let cur: number[] = [];
  let depth = 0;
  lines.forEach((l, i) => {
    if (l.kind !== " " && l.kind !== side) return;
    if (comment[i]) {
      // A comment is its own statement, and its parentheses do not count.
      if (cur.length === 0) out.push({ idx: [i], text: "", calls: [], changed: l.kind === side });
      return;
    }
    cur.push(i);
    const code = norm(l.text);
    depth += (code.match(/\(/g) ?? []).length - (code.match(/\)/g) ?? []).length;
    if (depth > 0) return;
    depth = 0;
    const text = cur.map((j) => norm(lines[j].text)).join(" ");
    out.push({
      idx: cur,
      text,
      calls: findCalls(text),
      changed: cur.some((j) => lines[j].kind === side),
    });
    cur = [];
  });
  if (cur.length) {
    const text = cur.map((j) => norm(lines[j].text)).join(" ");
    out.push({ idx: cur, text, calls: findCalls(text), changed: true });
  }
  return out;
}

/** Whether a line is blank or part of a comment (comments are passed over as anchors). */
function commentLines(lines: DiffLine[]): boolean[] {
  const out: boolean[] = [];
  let inComment = { "-": false, "+": false };
  lines.forEach((l) => {
    const t = l.text.trim();
    const sides = l.kind === " " ? ["-", "+"] as const : [l.kind] as const;
    // A hunk may start inside a comment: its " * text" and " */" lines are comment lines too.
    let comment = t === "" || t.startsWith("//") || /^\*(\s|\/|$)/.test(t);
    const next = { ...inComment };
    for (const s of sides) {
      if (inComment[s] || t.startsWith("/*")) comment = true;
      if (inComment[s] || t.startsWith("/*")) next[s] = !t.includes("*/");
    }
    inComment = next;
    out.push(comment);
  });
  return out;
}

/** Where a statement's neighbours are: the anchor candidates around it. */
function neighbours(
  lines: DiffLine[],
  from: number,
  step: 1 | -1,
  skip: Set<number>,
  comment: boolean[],
): string[] {
  const out: string[] = [];
  for (let i = from; i >= 0 && i < lines.length && out.length < 4; i += step) {
    if (lines[i].kind === "+" || skip.has(i) || comment[i]) continue;
    out.push(norm(lines[i].text));
  }
  return out;
}

function endsWith(near: string[], quote: string[]): boolean {
  // near: nearest first, going back; quote: in file order.
  return quote.every((q, k) => near[quote.length - 1 - k] === q);
}

function startsWith(near: string[], quote: string[]): boolean {
  return quote.every((q, k) => near[k] === q);
}

/** The condition of an `if (...)` statement, `likely`/`unlikely` taken off; undefined otherwise. */
function ifCondition(text: string): string | undefined {
  const m = /^(?:\} )?if \((.*)\)\s*\{?$/.exec(text);
  if (!m) return undefined;
  const inner = /^(?:un)?likely\((.*)\)$/.exec(m[1]);
  return (inner ? inner[1] : m[1]).trim();
}

/** The guard an aging test implies, read from the condition it is part of (2.6.24 rmap.c). */
function youngGuard(text: string, call: Call): string | undefined {
  const parts: string[] = [];
  if (/!migration &&/.test(text)) parts.push("not_migration");
  if (/VM_LOCKED\) \|\|/.test(text)) parts.push("not_vm_locked");
  // `young || notifier`: the notifier is asked only when the pte was old.
  if (
    !call.wrapper && /ptep_clear_flush_young\([^)]*\)\s*\|\|\s*$/.test(text.slice(0, call.index))
  ) {
    parts.push("pte_old");
  }
  return parts.length ? parts.join("_and_") : undefined;
}

/** What placing the calls of one hunk needs beyond the hunk. */
interface Ctx {
  /** The patch, file and hunk: the citation and the label of what cannot be placed. */
  where: string;
  /** Variables the patch's hunks of this file declare, with their initialisers. */
  decls: Map<string, string>;
  /** Lines earlier patches of the series added to this file. */
  seriesAdded: Set<string>;
}

/**
 * Applies a patch series to a base revision: the callouts its hunks add
 * and remove, placed at hook points, give the paths the new revision
 * overrides (each in full; the others are inherited).
 *
 * @param files The patch files, in the order they apply.
 * @param opts The base revision and the new revision's id.
 * @returns The placements, what could not be placed, and the revision (when all were placed).
 *
 * @example
 * ```ts
 * import { importPatches } from "./import_patch.ts";
 * import { parsePatches } from "./diff.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * const base = loadRevisionDir("patches").find((r) => r.id === "emmu-v5")!;
 * const patches = parsePatches([
 *   "--- a/mm/memory.c",
 *   "+++ b/mm/memory.c",
 *   "@@ -1656,2 +1656,3 @@ gotten:",
 *   " ptep_clear_flush(vma, address, page_table);",
 *   "+mmu_notifier(invalidate_page, mm, address);",
 *   " set_pte_at(mm, address, page_table, entry);",
 * ].join("\n"));
 * const r = importPatches([{ name: "x.patch", patches }], { base, id: "x" });
 * console.log(r.placements[0].path, r.placements[0].callout.at);
 * ```
 */
export function importPatches(files: PatchFile[], opts: ImportOptions): PatchImport {
  const state: Record<string, Record<string, Json>[]> = {};
  const resolvedPaths = (opts.base.resolved.paths ?? {}) as Record<string, { callouts: Json[] }>;
  const touched = new Set<string>();
  const calloutsOf = (path: string) =>
    state[path] ??= structuredClone(resolvedPaths[path]?.callouts ?? []) as Record<string, Json>[];
  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  const skipped: Unplaced[] = [];
  const subjects: string[] = [];
  let date: string | undefined;
  // Lines earlier patches added, by file: in a later patch's context they are no kernel anchor.
  const seriesAdded = new Map<string, Set<string>>();
  for (const pf of files) {
    for (const patch of pf.patches) {
      const label = patch.subject ? `${pf.name}: ${patch.subject}` : pf.name;
      if (patch.subject) subjects.push(patch.subject);
      date ??= isoDate(patch.date);
      for (const fd of patch.files) {
        const decls = new Map<string, string>();
        for (const h of fd.hunks) {
          for (const l of h.lines) {
            const d = /^(?:int|long|unsigned long|bool)\s+(\w+)\s*=\s*(.+);$/.exec(norm(l.text));
            if (l.kind === "+" && d) decls.set(d[1], d[2]);
          }
        }
        for (const h of fd.hunks) {
          const where = `${label}, ${fd.newPath} ${h.header}`;
          const added = seriesAdded.get(fd.newPath) ?? new Set<string>();
          seriesAdded.set(fd.newPath, added);
          const ctx: Ctx = { where, decls, seriesAdded: added };
          const ops = hunkOps(fd.oldPath, fd.newPath, h, ctx, skipped, unplaced);
          for (const op of ops) {
            const list = calloutsOf(op.path);
            if (op.op === "remove") {
              const i = list.findIndex((c) => sameCallout(c, op.callout));
              if (i < 0) {
                unplaced.push({
                  hunk: where,
                  reason: `removes ${describe(op.path, op.callout)}, which ${opts.base.id} ` +
                    "and the patches before it do not make there",
                });
                continue;
              }
              list.splice(i, 1);
            } else {
              list.push(op.callout);
            }
            touched.add(op.path);
            placements.push(op);
          }
          for (const l of h.lines) {
            // A brace alone is no anchor either way; only lines that say something are kept.
            if (l.kind === "+" && norm(l.text).length > 2) added.add(norm(l.text));
          }
        }
      }
    }
  }
  if (unplaced.length === 0 && placements.length === 0) {
    unplaced.push({
      hunk: files.map((f) => f.name).join(", "),
      reason: "no hunk adds or removes a notifier call",
    });
  }
  if (unplaced.length) return { placements, unplaced, skipped };
  const paths: Record<string, Json> = {};
  for (const p of [...touched].sort()) paths[p] = { callouts: state[p] };
  const names = files.map((f) => f.name).join(", ");
  const revision: Record<string, Json> = {
    id: opts.id,
    extends: opts.base.id,
    title: subjects.length
      ? `${subjects[0]}${subjects.length > 1 ? ` (+${subjects.length - 1} more)` : ""}`
      : `Imported from ${names}`,
    lineage: opts.base.lineage,
    follows: opts.base.id,
    candidate: true,
    ...(date ? { date } : {}),
    source: `${names}${
      subjects.length ? ": " + subjects.join("; ") : ""
    } (import-patch on top of ${opts.base.id})`,
    paths,
  };
  return { revision, placements, unplaced, skipped };
}

/** `YYYY-MM-DD` of a mail date, when it parses. */
function isoDate(date: string | undefined): string | undefined {
  if (!date) return undefined;
  const t = Date.parse(date);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().slice(0, 10);
}

function sameCallout(a: Record<string, Json>, b: Record<string, Json>): boolean {
  return a.at === b.at && a.call === b.call &&
    (b.range === undefined || a.range === b.range);
}

function describe(path: string, c: Record<string, Json>): string {
  const extra = [
    c.range !== undefined ? `range=${c.range}` : "",
    c.atomic !== undefined ? `atomic=${c.atomic}` : "",
    c.guard !== undefined ? `if ${c.guard}` : "",
  ].filter((x) => x).join(" ");
  return `${c.call} at ${path} ${c.at}${extra ? ` (${extra})` : ""}`;
}

/** The add and remove operations of one hunk, in hunk order. */
function hunkOps(
  oldPath: string,
  newPath: string,
  h: Hunk,
  ctx: Ctx,
  skipped: Unplaced[],
  unplaced: Unplaced[],
): Placement[] {
  const olds = statements(h.lines, "-").filter((s) => s.changed && s.calls.length);
  const news = statements(h.lines, "+").filter((s) => s.changed && s.calls.length);
  if (!olds.length && !news.length) {
    skipped.push({ hunk: ctx.where, reason: "no notifier call added or removed" });
    return [];
  }
  const path = newPath === "/dev/null" ? oldPath : newPath;
  if (oldPath === "/dev/null" || !MODELLED_FILES.has(path)) {
    if (path.endsWith(".c") && oldPath !== "/dev/null") {
      unplaced.push({ hunk: ctx.where, reason: `${path} holds no hook point of the model` });
    } else {
      skipped.push({
        hunk: ctx.where,
        reason: oldPath === "/dev/null"
          ? "a new file (the notifier's own code, not a call site of the model)"
          : "not a C file of the kernel paths (definitions, not call sites)",
      });
    }
    return [];
  }
  const comment = commentLines(h.lines);
  const callLines = new Set([...olds, ...news].flatMap((s) => s.idx));
  for (const s of [...statements(h.lines, "-"), ...statements(h.lines, "+")]) {
    if (s.calls.length) s.idx.forEach((i) => callLines.add(i));
  }
  h.lines.forEach((l, i) => {
    if (l.kind === " " && ctx.seriesAdded.has(norm(l.text))) callLines.add(i);
  });
  const out: Placement[] = [];
  const all = [
    ...olds.map((s) => ({ s, op: "remove" as const, side: statements(h.lines, "-") })),
    ...news.map((s) => ({ s, op: "add" as const, side: statements(h.lines, "+") })),
  ].sort((a, b) => a.s.idx[0] - b.s.idx[0] || (a.op === "remove" ? -1 : 1));
  for (const { s, op, side } of all) {
    for (const call of s.calls) {
      const r = placeCall(path, h, s, call, side, { comment, callLines, ctx });
      if (typeof r === "string") {
        unplaced.push({ hunk: ctx.where, reason: `${op === "add" ? "+" : "-"}${s.text}: ${r}` });
      } else {
        out.push({ op, ...r, hunk: ctx.where });
      }
    }
  }
  return out;
}

function placeCall(
  file: string,
  h: Hunk,
  s: Stmt,
  call: Call,
  side: Stmt[],
  env: { comment: boolean[]; callLines: Set<number>; ctx: Ctx },
): Omit<Placement, "op" | "hunk"> | string {
  if (!(CALLOUT_NAMES as readonly string[]).includes(call.name)) {
    return `"${call.name}" is not a callout the model knows (${CALLOUT_NAMES.join(", ")})`;
  }
  // An `if (COND)` statement right before the call on the same side is its guard.
  const pos = side.indexOf(side.find((x) => x.idx[0] === s.idx[0])!);
  const prevStmt = pos > 0 ? side[pos - 1] : undefined;
  const cond = prevStmt ? ifCondition(prevStmt.text) : undefined;
  const skip = new Set(env.callLines);
  if (cond !== undefined) prevStmt!.idx.forEach((i) => skip.add(i));
  const before = neighbours(h.lines, s.idx[0] - 1, -1, skip, env.comment);
  const after = neighbours(h.lines, s.idx[s.idx.length - 1] + 1, 1, skip, env.comment);
  // The removed lines the statement replaces, and its own unchanged lines: where a test is joined.
  const block = new Set<string>();
  for (let i = s.idx[0]; i <= s.idx[s.idx.length - 1]; i++) block.add(norm(h.lines[i].text));
  for (let i = s.idx[0] - 1; i >= 0 && h.lines[i].kind !== " "; i--) {
    if (h.lines[i].kind === "-") block.add(norm(h.lines[i].text));
  }
  const fileFn = /(\w+)\s*\(/.exec(h.context)?.[1];
  const inFile = POINTS.filter((p) => p.file === file);
  const matches = (pts: AnchorPoint[]) =>
    pts.filter((p) =>
      p.follows.some((q) => endsWith(before, q)) ||
      p.precedes.some((q) => startsWith(after, q)) ||
      p.within.some((q) => block.has(q))
    );
  const inFn = inFile.filter((p) => p.fn === fileFn);
  let found = matches(inFn);
  let note: string | undefined;
  if (found.length === 0) {
    found = matches(inFile);
    if (found.length && inFn.length) {
      note = `the hunk header names ${fileFn}(), the context lines are in ${found[0].fn}()`;
    }
  }
  const around = `after "${before[0] ?? "(start of hunk)"}", before "${
    after[0] ?? "(end of hunk)"
  }"`;
  if (found.length === 0) {
    return `its context (${around}) matches no hook point anchor of ${
      fileFn ? `${fileFn}() or ` : ""
    }${file}`;
  }
  const keys = [...new Set(found.map((p) => `${p.path} ${p.at}`))];
  if (keys.length > 1) {
    return `its context (${around}) matches several hook points: ${keys.join(", ")}`;
  }
  const point = found[0];
  const hp = HOOK_POINTS[point.path][point.at];
  const kind = CALLOUT_KIND[call.name];
  const callout: Record<string, Json> = { at: point.at, call: call.name };
  const at = `${point.path} ${point.at}`;
  if (kind === "range" || kind === "begin" || kind === "end") {
    if (call.args.length < 3) {
      return `passes ${call.args.length} arguments (expected mm, start, end)`;
    }
    const key = `${norm(call.args[1])}, ${norm(call.args[2])}`;
    const table = RANGE_EXPRS[point.path] ?? {};
    const range = table[point.at]?.[key] ?? table["*"]?.[key];
    if (range === undefined || !(hp.ranges ?? []).includes(range)) {
      return `passes [${key}), which is not a range the model computes at ${at} (it has: ${
        (hp.ranges ?? []).join(", ") || "none"
      })`;
    }
    callout.range = range;
    if (call.args.length >= 4) {
      const a = norm(call.args[3]);
      if (a === "0" || a === "1") callout.atomic = Number(a);
      else {
        const expr = env.ctx.decls.get(a) ?? a;
        const name = ATOMIC_EXPRS[norm(expr)];
        if (name === undefined || !(hp.exprs ?? []).includes(name)) {
          return `passes atomic = "${expr}", which is not an expression the model computes at ${at} (it has: 0, 1${
            hp.exprs?.length ? ", " + hp.exprs.join(", ") : ""
          })`;
        }
        callout.atomic = name;
      }
    }
  } else if ((kind === "page" || kind === "young") && !hp.address) {
    return `${call.name} needs an address, and ${at} has none in scope`;
  } else if (kind === "rmap" && !hp.page) {
    return `${call.name} needs a struct page, and ${at} has none in scope`;
  }
  const guards = [
    cond !== undefined ? GUARD_EXPRS[cond] ?? `(${cond})` : undefined,
    kind === "young" ? youngGuard(s.text, call) : undefined,
    IMPLIED_GUARDS[at],
  ].filter((g): g is string => g !== undefined);
  if (guards.length > 1) return `sits under several conditions (${guards.join(", ")})`;
  if (guards.length === 1) {
    if (!(hp.guards ?? []).includes(guards[0])) {
      return `sits under "${
        guards[0]
      }", which is not a condition the model knows at ${at} (it has: ${
        (hp.guards ?? []).join(", ") || "none"
      })`;
    }
    callout.guard = guards[0];
  }
  callout.cite = env.ctx.where;
  return { path: point.path, callout, context: hp.doc, ...(note ? { note } : {}) };
}

/**
 * Reads a patch file as bad input is reported: a file that cannot be read,
 * or holds no well-formed unified diff, is an `InputError` naming it.
 *
 * @param path The file.
 * @returns The file's patches.
 * @throws {InputError} When it cannot be read or parsed.
 */
export function readPatchFile(path: string): PatchFile {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new InputError(path, "(file)", `cannot be read: ${(e as Error).message}`);
  }
  try {
    return { name: path, patches: parsePatches(text) };
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new InputError(path, "(file)", `is not a patch: ${e.message}`);
    }
    throw e;
  }
}

/**
 * The revision id a file name gives: its base name without extension, in
 * the characters an id may hold.
 *
 * @param path A file path, e.g. `out/My_Fix.json`.
 * @returns The id, e.g. `my-fix`.
 */
export function revisionIdOf(path: string): string {
  const base = path.split("/").pop()!.replace(/\.(json|patch|diff|mbox|txt)$/i, "");
  const id = base.toLowerCase().replace(/[^a-z0-9.+-]+/g, "-").replace(/^[^a-z0-9]+/, "");
  return id || "imported";
}

/**
 * What an import did, as the command line prints it: each call placed
 * (`+` added, `-` removed) with the lock context the model knows at its
 * point and the hunk it cites, then the hunks passed over.
 *
 * @param r The import.
 * @param base The base revision's id.
 * @returns Lines of text, ending with a newline.
 */
export function formatImport(r: PatchImport, base: string): string {
  const out = [`import-patch: ${r.placements.length} call(s) placed on top of ${base}`];
  for (const p of r.placements) {
    out.push(`  ${p.op === "add" ? "+" : "-"} ${describe(p.path, p.callout)}`);
    out.push(`      context: ${p.context}`);
    out.push(`      from: ${p.hunk}`);
    if (p.note) out.push(`      note: ${p.note}`);
  }
  for (const s of r.skipped) out.push(`  skipped ${s.hunk}: ${s.reason}`);
  return out.join("\n") + "\n";
}
