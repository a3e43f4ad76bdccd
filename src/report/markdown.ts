/**
 * The Markdown regression report, fit to paste into a mailing-list reply:
 * plain-text tables padded for a fixed-width font, no HTML, no timestamps.
 *
 * @module
 */
import { driverTable, renderDriverTable } from "./drivers.ts";
import { type RaceTable, renderRaces } from "./races.ts";
import { type CostTable, renderCostTable } from "./costs.ts";
import { type Matrix, scenariosFor } from "../run/matrix.ts";
import { digest } from "../model/state.ts";
import {
  type BaselineCheck,
  type CompareOptions,
  type Comparison,
  displayOrder,
  isVerdictChange,
  type LineageDiff,
  lineageDiff,
  lineages,
  outcomeOf,
  revisionOf,
  type ScenarioChange,
} from "./diff.ts";
import {
  causeLines,
  cellText,
  formatKeyChange,
  formatViolation,
  postedAgainstGroups,
  postedAgainstText,
  statusText,
  textTable,
  verdictText,
} from "./_format.ts";

/**
 * Options of {@link renderMarkdown}; `blame` and `timeout` are those of
 * `lineageDiff` (the causes of each regression and fix).
 */
export interface MarkdownOptions extends CompareOptions {
  /** Lineages to report, in order (default: every lineage of the matrix). */
  lineages?: string[];
  /** Explorer results of the race scenarios, reported after the lineages. */
  races?: RaceTable;
  /** Revisions checked against a baseline, reported first (see `checkBaseline`). */
  baseline?: BaselineCheck;
  /** The F8 cover letter's claims measured on a 2.5.42 revision (see `costTable`), reported last. */
  costs?: CostTable;
}

/**
 * Digest of a matrix's inputs and outcomes: equal digests mean the same
 * revisions, scenarios and results.
 *
 * @param matrix The matrix.
 * @returns 16 hex digits.
 */
export function matrixDigest(matrix: Matrix): string {
  return digest(matrix.cells);
}

/**
 * Renders the regression report: per lineage, a scenario-by-revision
 * verdict matrix (candidates next to their parent), the revisions grouped by
 * equal outcome, every regression and fix along the lineage with the
 * revision that introduced it, the config keys that cause it and the others
 * that differ, the first violation and the command that reproduces it, and
 * each candidate against its parent.
 *
 * @param matrix The matrix to report on.
 * @param opts Which lineages to report, the sections to add, and the blame search.
 * @returns Markdown text, ending with a newline; equal inputs give equal text.
 * @throws {RangeError} When a lineage is unknown or malformed.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenarioDir, runMatrix } from "../../mod.ts";
 * import { renderMarkdown } from "./markdown.ts";
 * const m = runMatrix(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
 * const md = renderMarkdown(m, { lineages: ["emmu"] });
 * console.log(md.split("\n").slice(0, 12).join("\n"));
 * ```
 */
export function renderMarkdown(matrix: Matrix, opts: MarkdownOptions = {}): string {
  const names = opts.lineages ?? lineages(matrix.revisions);
  const diffs = names.map((l) => lineageDiff(matrix, l, opts));
  const shown = new Set(diffs.flatMap((d) => displayOrder(d)));
  const cells = matrix.cells.filter((c) => shown.has(c.revision));
  const failing = cells.filter((c) => c.verdict === "fail").length;
  const candidates = matrix.revisions.filter((r) => shown.has(r.id) && r.candidate).length;
  const out: string[] = [
    "# mmbisect regression report",
    "",
    `${plural(matrix.scenarios.length, "scenario")} on ${plural(shown.size, "revision")} ` +
    `(${plural(candidates, "candidate")}): ${plural(cells.length, "run")}, ${failing} with ` +
    `violations. Matrix digest ${matrixDigest(matrix)}.`,
    "",
    'A cell reads "pass" or the violation kinds the run observed. Revisions marked * are',
    "candidates (fixes or variants proposed in a thread), shown after the revision they follow.",
    'A run that did not complete reads "timeout" (a bound stopped it) or "unsupported" (a step',
    "the revision or driver cannot run), with the kinds it observed. A run stopped by the time",
    "bound (--timeout) holds the steps it ran before, which depend on the machine's speed.",
  ];
  if (opts.baseline) out.push("", ...baselineSection(opts.baseline));
  for (const d of diffs) out.push("", ...lineageSection(matrix, d));
  if (opts.races) out.push("", ...renderRaces(opts.races));
  out.push("", ...renderDriverTable(driverTable(matrix, opts.races)));
  if (opts.costs) out.push("", ...renderCostTable(opts.costs));
  return out.join("\n").replace(/\n+$/, "") + "\n";
}

/** The regressions against a baseline, or the statement that there are none. */
function baselineSection(b: BaselineCheck): string[] {
  const out = [`## Against baseline ${b.revision}`, ""];
  if (b.regressions.length === 0) {
    out.push(
      `No regression: none of ${plural(b.checked.length, "revision")} has a violation kind ` +
        `or an incomplete run that ${b.revision} lacks.`,
    );
    return out;
  }
  const revs = new Set(b.regressions.map((r) => r.revision)).size;
  out.push(
    `${plural(b.regressions.length, "regression")} on ${plural(revs, "revision")} of ` +
      `${b.checked.length} checked:`,
    "",
    ...textTable(
      ["scenario", "revision", b.revision, "verdict", "new kinds"],
      b.regressions.map((r) => [
        r.scenario,
        r.revision,
        statusText(r.baselineStatus, r.baselineKinds),
        statusText(r.status, r.kinds),
        r.added.join(",") || "-",
      ]),
    ),
  );
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function lineageSection(matrix: Matrix, d: LineageDiff): string[] {
  const cand = new Set(d.candidates.map((c) => c.id));
  const label = (id: string) => cand.has(id) ? `${id}*` : id;
  const cols = displayOrder(d);
  const out = [`## Lineage ${d.lineage}`, "", `Order: ${d.order.join(" -> ")}`];
  if (d.candidates.length) {
    out.push(
      `Candidates: ${
        d.candidates.map((c) => `${label(c.id)}${c.parent ? ` (on ${c.parent})` : ""}`).join(", ")
      }`,
    );
  }
  out.push("", "Posted against:", "");
  const postedText = (id: string) => postedAgainstText(revisionOf(matrix, id));
  for (const g of postedAgainstGroups(cols, postedText)) {
    out.push(`- ${g.text}: ${g.revisions.map(label).join(", ")}`);
  }
  out.push("");
  out.push(
    ...textTable(
      ["scenario", ...cols.map(label)],
      scenariosFor(matrix, ...cols).map((s) => [
        s.id,
        ...cols.map((r) => cellText(outcomeOf(matrix, s.id, r))),
      ]),
    ),
  );
  if (cols.length > 1) {
    out.push("", "Revisions with equal outcomes (one group per distinct behaviour):", "");
    for (const g of d.groups) {
      const groups = g.groups.map((x) => `[${x.revisions.map(label).join(" ")}]`).join(" ");
      out.push(`- ${g.scenario}: ${groups}`);
    }
  }

  const changes = d.steps.flatMap((c) => c.scenarios);
  const verdictChanges = changes.filter(isVerdictChange);
  const regressions = changes.filter((c) => c.classes.includes("regression")).length;
  const fixes = changes.filter((c) => c.classes.includes("fix")).length;
  const both = changes.filter((c) => c.classes.length > 1).length;
  out.push("", `### Regressions and fixes along ${d.lineage}`, "");
  if (d.steps.length === 0) {
    out.push(`${d.lineage} has one posted revision: nothing to compare along it.`);
  } else {
    // A scenario whose kinds swap in one step is both: counted in each, and said so.
    const swapped = both
      ? ` (${both === 1 ? "one is" : `${both} are`} both a regression and a fix, counted in each)`
      : "";
    out.push(
      `${plural(verdictChanges.length, "verdict change")}: ${plural(regressions, "regression")} ` +
        `and ${fixes} ${fixes === 1 ? "fix" : "fixes"}${swapped}, over ` +
        `${plural(d.steps.length, "step")}; ${
          plural(changes.filter((c) => c.classes[0] === "change").length, "other behaviour change")
        }.`,
    );
  }
  for (const c of verdictChanges) out.push("", ...changeDetail(matrix, c, d.steps));

  const others = d.steps.map((step) => ({
    step,
    changed: step.scenarios.filter((c) => c.classes[0] === "change"),
  })).filter((x) => x.changed.length);
  if (others.length) {
    out.push(
      "",
      `### Other behaviour changes along ${d.lineage} (same verdict; trace, counters or state)`,
      "",
    );
    for (const { step, changed } of others) {
      out.push(
        `- ${step.from} -> ${step.to} (${plural(step.keys.length, "key")} differ): ${
          changed.map((c) => c.scenario).join(", ")
        }`,
      );
    }
  }

  if (d.candidateSteps.length) {
    out.push("", `### Candidates against their parent`);
    for (const step of d.candidateSteps) out.push("", ...candidateSection(matrix, step, label));
  }
  return out;
}

function keysOf(c: ScenarioChange, steps: Comparison[]): number {
  return steps.find((s) => s.from === c.from && s.to === c.to)?.keys.length ?? 0;
}

/** The details of one regression or fix: what changed, why, and how to see it. */
function changeDetail(matrix: Matrix, c: ScenarioChange, steps: Comparison[]): string[] {
  const title = c.classes.join(" and ");
  const delta = [...c.added.map((k) => `+${k}`), ...c.removed.map((k) => `-${k}`)].join(" ");
  const out = [
    `#### ${c.scenario}: ${title} in ${c.to} (after ${c.from})`,
    "",
    `- verdict: ${verdictText(c.fromKinds)} -> ${verdictText(c.toKinds)} (${delta})`,
  ];
  const before = outcomeOf(matrix, c.scenario, c.from);
  const after = outcomeOf(matrix, c.scenario, c.to);
  const fresh = after.violations.find((v) => c.added.includes(v.kind));
  if (fresh) out.push(`- first new violation on ${c.to}: ${formatViolation(fresh)}`);
  const gone = before.violations.find((v) => c.removed.includes(v.kind));
  if (gone) out.push(`- first violation gone after ${c.from}: ${formatViolation(gone)}`);
  out.push(...causeLines(c, keysOf(c, steps), { markdown: true, countOthers: true }));
  out.push(`- reproduce: \`${after.reproduce}\` (before: \`${before.reproduce}\`)`);
  return out;
}

function candidateSection(
  matrix: Matrix,
  step: Comparison,
  label: (id: string) => string,
): string[] {
  const out = [`#### ${label(step.to)} against ${step.from}`, ""];
  if (step.keys.length) {
    out.push(`Config keys that differ (${step.keys.length}):`, "");
    for (const k of step.keys) out.push(`- \`${formatKeyChange(k)}\``);
  } else {
    out.push("No config key differs.");
  }
  const changed = step.scenarios.filter((c) => c.classes[0] !== "same");
  out.push("");
  if (changed.length) {
    out.push(
      ...textTable(
        ["scenario", step.from, label(step.to), "change"],
        changed.map((c) => [
          c.scenario,
          statusText(c.fromStatus, c.fromKinds),
          statusText(c.toStatus, c.toKinds),
          c.classes.join("+") + (c.classes[0] === "change" ? ` (${c.differs.join(", ")})` : ""),
        ]),
      ),
      "",
    );
  }
  const same = step.scenarios.length - changed.length;
  out.push(
    `Same outcome on ${same === step.scenarios.length ? "every" : "the other"} ${
      plural(same, "scenario")
    }.`,
  );
  for (const c of step.scenarios.filter(isVerdictChange)) {
    out.push("", ...changeDetail(matrix, c, [step]));
  }
  return out;
}
