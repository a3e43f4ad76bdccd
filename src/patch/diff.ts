/**
 * Unified diffs as posted: one patch, or a series (mbox messages separated
 * by `From ` lines, each with its `Subject:`), read into patches, files and
 * hunks in the order they apply.
 *
 * @module
 */

/** One line of a hunk: context (" "), removed ("-") or added ("+"). */
export interface DiffLine {
  /** Which side the line is on. */
  kind: " " | "-" | "+";
  /** The line without its marker. */
  text: string;
}

/** One hunk of a file's diff. */
export interface Hunk {
  /** The hunk header as a citation needs it, `@@ -a,b +c,d @@`. */
  header: string;
  /** First line of the old side (1-based). */
  oldStart: number;
  /** First line of the new side (1-based). */
  newStart: number;
  /** What follows the second `@@`: the enclosing function or label diff printed. */
  context: string;
  /** The hunk's lines in order. */
  lines: DiffLine[];
}

/** The diff of one file within a patch. */
export interface FileDiff {
  /** The path after stripping the first component (`a/`, `linux-2.6/`), `/dev/null` kept. */
  oldPath: string;
  /** As `oldPath`, for the new side. */
  newPath: string;
  /** The hunks in order. */
  hunks: Hunk[];
}

/** One patch (one message of a series). */
export interface Patch {
  /** Its subject (`[PATCH 2/4] ...`), or "" when the text has none. */
  subject: string;
  /** Its `Date:` header as written, when it has one. */
  date?: string;
  /** The files it changes, in order. */
  files: FileDiff[];
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

/**
 * Reads a patch or a series of patches. Messages are split at mbox `From `
 * lines; text outside the diffs (mail headers, the changelog, replies) is
 * passed over, and a hunk must hold the line counts its header gives.
 *
 * @param text The file's text.
 * @returns The patches that hold at least one hunk, in the order of the text.
 * @throws {SyntaxError} When there is no hunk at all, or a hunk is cut short.
 *
 * @example
 * ```ts
 * import { parsePatches } from "./diff.ts";
 * const [p] = parsePatches([
 *   "Subject: [PATCH] demo",
 *   "--- a/mm/memory.c",
 *   "+++ b/mm/memory.c",
 *   "@@ -1,2 +1,3 @@ int f(void)",
 *   " a();",
 *   "+b();",
 *   " c();",
 * ].join("\n"));
 * console.log(p.subject, p.files[0].newPath, p.files[0].hunks[0].header);
 * ```
 */
export function parsePatches(text: string): Patch[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const out: Patch[] = [];
  let cur: Patch = { subject: "", files: [] };
  const flush = () => {
    if (cur.files.some((f) => f.hunks.length > 0)) out.push(cur);
  };
  // A new message starts at an mbox "From " line, or at a header once the current one has files.
  const next = () => {
    if (cur.files.length === 0) return;
    flush();
    cur = { subject: "", files: [] };
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^From \S+/.test(line) && !line.startsWith("From: ")) {
      flush();
      cur = { subject: "", files: [] };
      continue;
    }
    const subject = /^Subject:\s*(.*)$/i.exec(line);
    if (subject) {
      next();
      let s = subject[1];
      while (i + 1 < lines.length && /^[ \t]+\S/.test(lines[i + 1])) s += " " + lines[++i].trim();
      cur.subject = s.trim();
      continue;
    }
    const date = /^Date:\s*(.*)$/i.exec(line);
    if (date) {
      next();
      cur.date = date[1].trim();
      continue;
    }
    if (line.startsWith("--- ") && lines[i + 1]?.startsWith("+++ ")) {
      const file: FileDiff = {
        oldPath: stripPath(lines[i].slice(4)),
        newPath: stripPath(lines[i + 1].slice(4)),
        hunks: [],
      };
      i += 2;
      while (i < lines.length && HUNK.test(lines[i])) {
        const [hunk, after] = readHunk(lines, i, file.newPath);
        file.hunks.push(hunk);
        i = after;
      }
      i--;
      cur.files.push(file);
    }
  }
  flush();
  if (out.length === 0) {
    throw new SyntaxError(
      "no unified diff found (expected '--- FILE', '+++ FILE' and '@@ -a,b +c,d @@' lines)",
    );
  }
  return out;
}

/** `a/mm/memory.c` -> `mm/memory.c`; `/dev/null` stays; a date after a tab goes. */
function stripPath(raw: string): string {
  const path = raw.split("\t")[0].trim();
  if (path === "/dev/null") return path;
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}

function readHunk(lines: string[], at: number, file: string): [Hunk, number] {
  const m = HUNK.exec(lines[at])!;
  const oldCount = m[2] === undefined ? 1 : Number(m[2]);
  const newCount = m[4] === undefined ? 1 : Number(m[4]);
  const header = `@@ -${m[1]}${m[2] === undefined ? "" : "," + m[2]} +${m[3]}${
    m[4] === undefined ? "" : "," + m[4]
  } @@`;
  const hunk: Hunk = {
    header,
    oldStart: Number(m[1]),
    newStart: Number(m[3]),
    context: m[5].trim(),
    lines: [],
  };
  let olds = 0;
  let news = 0;
  let i = at + 1;
  while (olds < oldCount || news < newCount) {
    const line = lines[i];
    if (line === undefined || !/^[ +\-\\]/.test(line) && line !== "") {
      throw new SyntaxError(
        `${file} ${header} ends after ${olds} old and ${news} new lines (its header gives ${oldCount} and ${newCount})`,
      );
    }
    i++;
    if (line.startsWith("\\")) continue;
    // A blank context line loses its space in many mailers.
    const kind = (line === "" ? " " : line[0]) as DiffLine["kind"];
    if (kind !== "+") olds++;
    if (kind !== "-") news++;
    hunk.lines.push({ kind, text: line.slice(1) });
  }
  if (lines[i]?.startsWith("\\")) i++;
  return [hunk, i];
}
