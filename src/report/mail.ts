/**
 * The report as plain text for a mailing-list reply, in the manner of a
 * regzbot report: each regression (then each fix) with what regressed, the
 * revision that introduced it, the config keys that cause it, the command
 * that reproduces it and the citation of the pinned expectation of each
 * revision involved. No line is longer than {@link MAIL_WIDTH} columns.
 *
 * @module
 */
import type { ScenarioChange } from "./diff.ts";
import type { ReportModel } from "../analysis/model.ts";
import { modelOutcome } from "../analysis/model.ts";
import { formatKeyChange, statusText, verdictText } from "./_format.ts";

/** The widest line of the mail report, as for a reply on a mailing list. */
export const MAIL_WIDTH = 78;

/**
 * Wraps text at spaces to lines of at most `width` columns, the first
 * prefixed by `first` and the others by spaces of its width; a word longer
 * than a line is cut.
 *
 * @param text The text.
 * @param first The prefix of the first line (a label).
 * @param width The widest line (default {@link MAIL_WIDTH}).
 * @returns The lines.
 *
 * @example
 * ```ts
 * import { wrapText } from "./mail.ts";
 * console.log(wrapText("a bb ccc dddd", "x: ", 8)); // ["x: a bb", "   ccc", "   dddd"]
 * ```
 */
export function wrapText(text: string, first: string, width = MAIL_WIDTH): string[] {
  const indent = " ".repeat(first.length);
  const room = Math.max(8, width - first.length);
  const lines: string[] = [];
  let cur = "";
  for (let word of text.split(/\s+/).filter((w) => w !== "")) {
    while (word.length > room) {
      if (cur) lines.push(cur);
      cur = "";
      const cut = breakAt(word, room);
      lines.push(word.slice(0, cut));
      word = word.slice(cut);
    }
    if (cur && cur.length + 1 + word.length > room) {
      lines.push(cur);
      cur = "";
    }
    cur = cur ? `${cur} ${word}` : word;
  }
  if (cur || lines.length === 0) lines.push(cur);
  return lines.map((l, i) => `${i === 0 ? first : indent}${l}`.trimEnd());
}

/**
 * Where to split a word longer than `room`: after the last `.`, `:`, `[`, `,`
 * or `/` that leaves at least half the room filled (a config key breaks
 * between its parts), else at `room`.
 */
function breakAt(word: string, room: number): number {
  for (let i = room; i > room / 2; i--) {
    if (".:[,/".includes(word[i - 1])) return i;
  }
  return room;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** A verdict change with the lineage it belongs to and whether it is a candidate's. */
interface Found {
  lineage: string;
  candidate: boolean;
  c: ScenarioChange;
}

/** The lines of one regression or fix. */
function entry(model: ReportModel, n: number, f: Found): string[] {
  const { c } = f;
  const delta = [...c.added.map((k) => `+${k}`), ...c.removed.map((k) => `-${k}`)].join(" ");
  const verb = c.classes.filter((k) => k === "regression" || k === "fix")
    .map((k) => k === "regression" ? "regressed" : "fixed").join(" and ");
  const where = f.candidate ? "candidate" : "introduced in";
  const out = [
    ...wrapText(`${c.scenario} ${verb} in ${c.to}`, `[${n}] `),
    ...wrapText(
      `${statusText(c.fromStatus, c.fromKinds)} -> ${statusText(c.toStatus, c.toKinds)} ` +
        `(${delta})`,
      "    verdict:       ",
    ),
    ...wrapText(`${c.to} (after ${c.from}, lineage ${f.lineage})`, `    ${where}:`.padEnd(19)),
  ];
  if (c.causes === undefined) {
    out.push(...wrapText("not searched", "    caused by:     "));
  } else if (c.causes.length === 0) {
    out.push(
      ...wrapText(
        `no set of the differing keys gives ${c.to}'s verdict when taken into ${c.from}`,
        "    caused by:     ",
      ),
    );
  } else {
    c.causes.forEach((k, i) =>
      out.push(...wrapText(formatKeyChange(k), i ? " ".repeat(19) : "    caused by:     "))
    );
  }
  const others = (c.alternatives?.length ?? 0) + (c.alsoDiffer?.length ?? 0);
  if (others) {
    out.push(
      ...wrapText(
        `${plural(others, "other key")} differ${others === 1 ? "s" : ""} (see --format md)`,
        "    also:          ",
      ),
    );
  }
  const after = modelOutcome(model, c.scenario, c.to);
  const before = modelOutcome(model, c.scenario, c.from);
  out.push(...wrapText(after.reproduce, "    reproduce:     "));
  out.push(...wrapText(before.reproduce, "    before:        "));
  for (const rev of [c.from, c.to]) {
    const j = model.judgements?.find((x) => x.scenario === c.scenario && x.revision === rev);
    if (!j?.expected) continue;
    const state = j.result === "match" ? "" : ` (the run differs: ${j.diagnosis})`;
    out.push(
      ...wrapText(
        `${rev}: pinned ${verdictText(j.expected.kinds)}${state}; cite: ${j.expected.cite}`,
        "    pinned:        ",
      ),
    );
  }
  return out;
}

/**
 * Renders the mail report of a model: a summary, the regressions against
 * the baseline when one was named, then every verdict change along the
 * lineages and of each candidate against its parent, each once: the
 * regressions, the fixes, and those where one kind appears and another
 * disappears.
 *
 * @param model The report model (see `analyse`); its judgements give the pins' citations.
 * @returns Plain text, every line at most {@link MAIL_WIDTH} columns, ending with a newline.
 *
 * @example
 * ```ts
 * import { analyse } from "../analysis/analyse.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { shippedExpectations } from "../analysis/expect.ts";
 * import { renderMail } from "./mail.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const m = runMatrix(loadScenarioDir("scenarios"), revs);
 * console.log(renderMail(analyse(m, { expect: shippedExpectations() })));
 * ```
 */
export function renderMail(model: ReportModel): string {
  const found: Found[] = [];
  for (const d of model.lineages) {
    for (const step of d.steps) {
      for (const c of step.scenarios) found.push({ lineage: d.lineage, candidate: false, c });
    }
    for (const step of d.candidateSteps) {
      for (const c of step.scenarios) found.push({ lineage: d.lineage, candidate: true, c });
    }
  }
  const only = (k: string) => found.filter((f) => f.c.classes.join() === k);
  const regressions = only("regression");
  const fixes = only("fix");
  const both = only("regression,fix");
  const names = model.lineages.map((d) => d.lineage).join(", ");
  const out: string[] = [
    ...wrapText(
      `${names}: ${plural(regressions.length, "regression")}, ` +
        `${plural(fixes.length, "fix", "fixes")}, ${both.length} both (a kind appears and ` +
        `another disappears); each verdict change counted once`,
      "mmbisect report: ",
    ),
    ...wrapText(`${model.digest}`, "matrix digest: "),
  ];
  if (model.baseline) {
    const b = model.baseline;
    out.push(
      "",
      ...wrapText(
        `${plural(b.regressions.length, "regression")} in ` +
          `${b.checked.join(", ") || "no other revision"}`,
        `Against baseline ${b.revision}: `,
      ),
    );
    for (const r of b.regressions) {
      out.push(
        ...wrapText(
          `${r.scenario} on ${r.revision}: ${statusText(r.baselineStatus, r.baselineKinds)} -> ` +
            `${statusText(r.status, r.kinds)}`,
          "  - ",
        ),
        ...wrapText(modelOutcome(model, r.scenario, r.revision).reproduce, "    reproduce: "),
      );
    }
  }
  const section = (title: string, list: Found[]) => {
    out.push("", title, "=".repeat(title.length));
    if (list.length === 0) out.push("", "none");
    list.forEach((f, i) => out.push("", ...entry(model, i + 1, f)));
  };
  section("Regressions", regressions);
  section("Fixes", fixes);
  if (both.length) section("Regressed and fixed at once", both);
  return out.join("\n") + "\n";
}
