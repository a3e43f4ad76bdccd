/**
 * The Markdown regression report, fit to paste into a mailing-list reply:
 * plain-text tables padded for a fixed-width font, no HTML, no timestamps.
 *
 * @module
 */
import { renderDriverTable } from "./drivers.ts";
import { renderRaces } from "./_race_text.ts";
import { renderCostTable } from "./_cost_text.ts";
import type { BaselineCheck, Comparison, LineageDiff, ScenarioChange } from "./diff.ts";
import { isVerdictChange } from "./_classes.ts";
import { addSummaries } from "../analysis/summary.ts";
import {
  modelOutcome,
  modelRevision,
  modelScenarios,
  type ReportModel,
  shownRevisions,
} from "../analysis/model.ts";
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
 * Renders the regression report: per lineage, a scenario-by-revision
 * verdict matrix (candidates next to their parent), the revisions grouped by
 * equal outcome, every regression and fix along the lineage with the
 * revision that introduced it, the config keys that cause it and the others
 * that differ, the first violation and the command that reproduces it, and
 * each candidate against its parent.
 *
 * @param model The report model (see `analyse`).
 * @returns Markdown text, ending with a newline; equal models give equal text.
 *
 * @example
 * ```ts
 * import { analyse } from "../analysis/analyse.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { renderMarkdown } from "./markdown.ts";
 * const emmu = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const m = runMatrix(loadScenarioDir("scenarios"), emmu);
 * const md = renderMarkdown(analyse(m, { lineages: ["emmu"] }));
 * console.log(md.split("\n").slice(0, 12).join("\n"));
 * ```
 */
export function renderMarkdown(model: ReportModel): string {
  const shown = new Set(shownRevisions(model));
  const cells = model.outcomes.filter((c) => shown.has(c.revision));
  const failing = cells.filter((c) => c.verdict === "fail").length;
  const candidates = model.revisions.filter((r) => shown.has(r.id) && r.candidate).length;
  const out: string[] = [
    "# mmbisect regression report",
    "",
    `${plural(model.scenarios.length, "scenario")} on ${plural(shown.size, "revision")} ` +
    `(${plural(candidates, "candidate")}): ${plural(cells.length, "run")}, ${failing} with ` +
    `violations. Matrix digest ${model.digest}.`,
    "",
    'A cell reads "pass" or the violation kinds the run observed. Revisions marked * are',
    "candidates (fixes or variants proposed in a thread), shown after the revision they follow.",
    'A run that did not complete reads "timeout" (a bound stopped it) or "unsupported" (a step',
    "the revision or driver cannot run), with the kinds it observed. A run stopped by the time",
    "bound (--timeout) holds the steps it ran before, which depend on the machine's speed.",
  ];
  if (model.baseline) out.push("", ...baselineSection(model.baseline));
  model.lineages.forEach((d, i) => out.push("", ...lineageSection(model, d, model.columns[i])));
  if (model.races) out.push("", ...renderRaces(model.races));
  out.push("", ...renderDriverTable(model.drivers));
  if (model.costs) out.push("", ...renderCostTable(model.costs));
  return out.join("\n").replace(/\n+$/, "") + "\n";
}

/** The regressions against a baseline, or the statement that there are none. */
function baselineSection(b: BaselineCheck): string[] {
  const out = [
    `## Against baseline ${b.revision}`,
    "",
    `Checked: ${b.checked.join(", ") || "no revision"} (those after ${b.revision} in its ` +
    "lineage, and those of --revision).",
    "",
  ];
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

function lineageSection(model: ReportModel, d: LineageDiff, cols: string[]): string[] {
  const cand = new Set(d.candidates.map((c) => c.id));
  const label = (id: string) => cand.has(id) ? `${id}*` : id;
  const out = [`## Lineage ${d.lineage}`, "", `Order: ${d.order.join(" -> ")}`];
  if (d.candidates.length) {
    out.push(
      `Candidates: ${
        d.candidates.map((c) => `${label(c.id)}${c.parent ? ` (on ${c.parent})` : ""}`).join(", ")
      }`,
    );
  }
  out.push("", "Posted against:", "");
  const postedText = (id: string) => postedAgainstText(modelRevision(model, id));
  for (const g of postedAgainstGroups(cols, postedText)) {
    out.push(`- ${g.text}: ${g.revisions.map(label).join(", ")}`);
  }
  out.push("");
  out.push(
    ...textTable(
      ["scenario", ...cols.map(label)],
      modelScenarios(model, cols).map((s) => [
        s.id,
        ...cols.map((r) => cellText(modelOutcome(model, s.id, r))),
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
  // Each scenario of each step counted once, as compare counts (see changeSummary).
  const sum = addSummaries(d.steps.map((s) => s.summary));
  out.push("", `### Regressions and fixes along ${d.lineage}`, "");
  if (d.steps.length === 0) {
    out.push(`${d.lineage} has one posted revision: nothing to compare along it.`);
  } else {
    out.push(
      `${plural(sum.regression + sum.fix + sum.both, "verdict change")} over ` +
        `${plural(d.steps.length, "step")} = ${plural(sum.regression, "regression")} + ` +
        `${sum.fix} ${sum.fix === 1 ? "fix" : "fixes"} + ${sum.both} both (a kind appears and ` +
        `another disappears); ${plural(sum.change, "other behaviour change")}, ${sum.same} same.`,
    );
  }
  for (const c of verdictChanges) out.push("", ...changeDetail(model, c, d.steps));

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
    for (const step of d.candidateSteps) out.push("", ...candidateSection(model, step, label));
  }
  return out;
}

function keysOf(c: ScenarioChange, steps: Comparison[]): number {
  return steps.find((s) => s.from === c.from && s.to === c.to)?.keys.length ?? 0;
}

/** The details of one regression or fix: what changed, why, and how to see it. */
function changeDetail(model: ReportModel, c: ScenarioChange, steps: Comparison[]): string[] {
  const title = c.classes.join(" and ");
  const delta = [...c.added.map((k) => `+${k}`), ...c.removed.map((k) => `-${k}`)].join(" ");
  const out = [
    `#### ${c.scenario}: ${title} in ${c.to} (after ${c.from})`,
    "",
    `- verdict: ${verdictText(c.fromKinds)} -> ${verdictText(c.toKinds)} (${delta})`,
  ];
  const before = modelOutcome(model, c.scenario, c.from);
  const after = modelOutcome(model, c.scenario, c.to);
  const fresh = after.violations.find((v) => c.added.includes(v.kind));
  if (fresh) out.push(`- first new violation on ${c.to}: ${formatViolation(fresh)}`);
  const gone = before.violations.find((v) => c.removed.includes(v.kind));
  if (gone) out.push(`- first violation gone after ${c.from}: ${formatViolation(gone)}`);
  out.push(...causeLines(c, keysOf(c, steps), { markdown: true, countOthers: true }));
  out.push(`- reproduce: \`${after.reproduce}\` (before: \`${before.reproduce}\`)`);
  return out;
}

function candidateSection(
  model: ReportModel,
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
    out.push("", ...changeDetail(model, c, [step]));
  }
  return out;
}
