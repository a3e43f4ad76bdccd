/**
 * The HTML regression report: one self-contained page (inline style and
 * script, no network access, a Content-Security-Policy that forbids any)
 * with, per lineage, the scenario-by-revision matrix in colour and symbols,
 * and for each cell a drill-down to its violations, its callout trace, a
 * sequence diagram of its callouts and the trace diff against the
 * neighbouring revision along the lineage.
 *
 * Every string that comes from a scenario or a revision is HTML-escaped in
 * the page, and the data block is JSON with `<`, `>` and `&` escaped, so
 * neither can close a tag or start one.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { KeyChange } from "../run/revision.ts";
import type {
  BaselineCheck,
  ChangeClass,
  LineageDiff,
  LineageOrder,
  ScenarioChange,
} from "./diff.ts";
import {
  type CellStatus,
  modelOutcome,
  modelRevision,
  modelScenarios,
  type Outcome,
  type ReportModel,
} from "../analysis/model.ts";
import type { RaceTable } from "./races.ts";
import type { CostTable } from "./costs.ts";
import { raceCell } from "./_race_text.ts";
import { COST_COLUMNS, costCells } from "./_cost_text.ts";
import { diffTraces, type TraceDiffLine } from "./trace_diff.ts";
import {
  type CausedChange,
  causeLines,
  postedAgainstGroups,
  postedAgainstText,
  statusText,
} from "./_format.ts";
import { HTML_SCRIPT, HTML_STYLE, STATUS_SYMBOLS } from "./_html_assets.ts";

export { STATUS_SYMBOLS };

/** Version of the data block embedded in the HTML report. */
export const HTML_DATA_SCHEMA = "mmbisect/html-data@1";

/** How a cell compares with the cell of the neighbouring revision. */
export interface HtmlNeighbour {
  /** The neighbouring revision. */
  revision: string;
  /** Index of the neighbour's cell in {@link HtmlData.cells}. */
  cell: number;
  /** `previous` (the posted revision before), `parent` (of a candidate) or `next` (after a root). */
  relation: "previous" | "parent" | "next";
  /** The earlier revision of the two. */
  from: string;
  /** The later revision of the two. */
  to: string;
  /** The classes of the change from `from` to `to`. */
  classes: ChangeClass[];
  /** Kinds on `to` that `from` lacks. */
  added: string[];
  /** Kinds on `from` that `to` lacks. */
  removed: string[];
  /** The config keys that differ from `from` to `to` and are relevant to the scenario. */
  relevant: KeyChange[];
  /**
   * For a verdict change whose causes were searched: the smallest set of
   * differing keys that alone flips the verdict ("caused by"; empty when
   * none does), as the analysis found it (see `ScenarioChange.causes`).
   */
  causes?: KeyChange[];
  /** With {@link HtmlNeighbour.causes}: other keys that each flip the verdict alone as well. */
  alternatives?: KeyChange[];
  /** With {@link HtmlNeighbour.causes}: the other keys that differ. */
  alsoDiffer?: KeyChange[];
}

/** One cell as the page's data block holds it. */
export interface HtmlCell {
  /** The scenario id. */
  scenario: string;
  /** The revision id. */
  revision: string;
  /** The cell status. */
  status: CellStatus;
  /** Violation kinds. */
  kinds: Outcome["kinds"];
  /** Content hashes of the scenario and revision. */
  hashes: Outcome["hashes"];
  /** Every violation. */
  violations: Outcome["violations"];
  /** The callout trace. */
  trace: Outcome["trace"];
  /** What each step returned, as `step op: value`. */
  returns: string[];
  /** 2.5.42 scenarios: what a read finds through each address at the end. */
  views?: NonNullable<Outcome["views"]>;
  /** Why the run stopped early, if it did. */
  aborted?: string;
  /** The command that reproduces the outcome. */
  reproduce: string;
  /** The neighbouring revision along the lineage, when the lineage has another. */
  neighbour?: HtmlNeighbour;
  /**
   * The trace diff from `neighbour.from`'s trace to `neighbour.to`'s: per
   * line, `same` or `added` with an index into the second trace, or
   * `removed` with an index into the first.
   */
  diff: [TraceDiffLine["op"], number][];
}

/** The data block of the HTML report. */
export interface HtmlData {
  /** Always {@link HTML_DATA_SCHEMA}. */
  schema: typeof HTML_DATA_SCHEMA;
  /** Scenarios by id: purpose, content hash and the operation of each step. */
  scenarios: Record<string, { purpose: string; hash: string; steps: string[] }>;
  /**
   * Revisions by id: title, lineage, whether a candidate, content hash, and
   * the kernel it was posted against ("version (tree)").
   */
  revisions: Record<
    string,
    { title: string; lineage: string; candidate: boolean; hash: string; postedAgainst: string }
  >;
  /** Every cell shown, lineage by lineage, scenario-major; buttons refer to them by index. */
  cells: HtmlCell[];
}

/**
 * Escapes text for HTML content and attribute values: `&`, `<`, `>`, `"`
 * and `'`.
 *
 * @param s Any text.
 * @returns The escaped text.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * console.log(escapeHtml('<img src=x onerror="alert(1)">'));
 * // &lt;img src=x onerror=&quot;alert(1)&quot;&gt;
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Serialises a value as JSON safe inside a `<script>` element: `<`, `>`,
 * `&` and the line separators U+2028 and U+2029 are written as `\uXXXX`
 * escapes, so the text can neither close the element nor open a comment.
 *
 * @param value A JSON value.
 * @returns JSON text without `<`, `>` or `&`.
 *
 * @example
 * ```ts
 * import { scriptJson } from "./html.ts";
 * console.log(scriptJson({ id: "</script><script>alert(1)</script>" }));
 * ```
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The neighbour of a revision along its lineage: previous, parent, or next after the root. */
function neighbourOf(
  lo: LineageOrder,
  id: string,
): [string, HtmlNeighbour["relation"]] | undefined {
  const cand = lo.candidates.find((c) => c.id === id);
  if (cand) return cand.parent === undefined ? undefined : [cand.parent, "parent"];
  const i = lo.order.indexOf(id);
  if (i > 0) return [lo.order[i - 1], "previous"];
  if (i === 0 && lo.order.length > 1) return [lo.order[1], "next"];
  return undefined;
}

/** The comparison of a lineage from `from` to `to` on one scenario. */
function changeOf(d: LineageDiff, scenario: string, from: string, to: string): ScenarioChange {
  const step = [...d.steps, ...d.candidateSteps].find((c) => c.from === from && c.to === to)!;
  return step.scenarios.find((c) => c.scenario === scenario)!;
}

/**
 * Builds the data block of the HTML report: every cell of the reported
 * lineages with its violations, trace, hashes, and its change and trace
 * diff against the neighbouring revision.
 *
 * @param model The report model (see `analyse`).
 * @returns The data, in display order.
 *
 * @example
 * ```ts
 * import { analyse } from "../analysis/analyse.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { buildHtmlData } from "./html.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const data = buildHtmlData(analyse(runMatrix(loadScenarioDir("scenarios"), revs)));
 * console.log(data.cells[0].neighbour?.relation); // "next"
 * ```
 */
export function buildHtmlData(model: ReportModel): HtmlData {
  const scenarios: HtmlData["scenarios"] = {};
  for (const s of model.scenarios) {
    scenarios[s.id] = { purpose: s.purpose, hash: s.hash, steps: s.steps };
  }
  const revisions: HtmlData["revisions"] = {};
  const cells: HtmlCell[] = [];
  const shown: { d: LineageDiff; id: string; o: Outcome }[] = [];
  model.lineages.forEach((d, li) => {
    const cols = model.columns[li];
    for (const id of cols) {
      const r = modelRevision(model, id);
      revisions[id] = {
        title: r.title,
        lineage: r.lineage,
        candidate: r.candidate,
        hash: r.hash,
        postedAgainst: postedAgainstText(r),
      };
    }
    for (const s of modelScenarios(model, cols)) {
      for (const id of cols) shown.push({ d, id, o: modelOutcome(model, s.id, id) });
    }
  });
  const at = new Map(shown.map((x, i) => [`${x.o.scenario}\n${x.id}`, i]));
  for (const { d, id, o } of shown) {
    const cell: HtmlCell = {
      scenario: o.scenario,
      revision: id,
      status: o.status,
      kinds: o.kinds,
      hashes: o.hashes,
      violations: o.violations,
      trace: o.trace,
      returns: o.returns.map((r) => `${r.step} ${r.op}: ${r.value}`),
      reproduce: o.reproduce,
      diff: [],
    };
    if (o.aborted !== undefined) cell.aborted = o.aborted;
    if (o.views) cell.views = o.views;
    const nb = neighbourOf(d, id);
    if (nb) {
      const [other, relation] = nb;
      const n = modelOutcome(model, o.scenario, other);
      const [a, b] = relation === "next" ? [o, n] : [n, o];
      const c = changeOf(d, o.scenario, a.revision, b.revision);
      cell.neighbour = {
        revision: other,
        cell: at.get(`${o.scenario}\n${other}`)!,
        relation,
        from: a.revision,
        to: b.revision,
        classes: c.classes,
        added: c.added,
        removed: c.removed,
        relevant: c.relevant,
      };
      if (c.causes !== undefined) {
        cell.neighbour.causes = c.causes;
        cell.neighbour.alternatives = c.alternatives ?? [];
        cell.neighbour.alsoDiffer = c.alsoDiffer ?? [];
      }
      cell.diff = diffTraces(a.trace, b.trace).map((
        d,
      ) => [d.op, d.op === "removed" ? d.from! : d.to!]);
    }
    cells.push(cell);
  }
  return { schema: HTML_DATA_SCHEMA, scenarios, revisions, cells };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The text of a cell button: symbol, then the verdict; a verdict change is marked. */
function cellLabel(c: HtmlCell): string {
  const text = `${STATUS_SYMBOLS[c.status]} ${statusText(c.status, c.kinds)}`;
  const n = c.neighbour;
  if (!n || n.relation === "next") return text;
  const mark = n.classes.includes("regression")
    ? " \u25b2"
    : n.classes.includes("fix")
    ? " \u25bc"
    : "";
  return text + mark;
}

/** Whether a cell's verdict differs from its neighbour before it (previous, or parent). */
function isVerdictChange(c: HtmlCell): boolean {
  const n = c.neighbour;
  return n !== undefined && n.relation !== "next" &&
    (n.classes.includes("regression") || n.classes.includes("fix"));
}

/**
 * The keys that cause a verdict change, as the Markdown report lists them:
 * "caused by", the keys that do so alone as well, then the others that differ.
 */
function causeList(c: CausedChange, keyCount: number): string {
  const groups: { head: string; keys: string[] }[] = [];
  for (const line of causeLines(c, keyCount, { countOthers: true })) {
    if (line.startsWith(" ") && groups.length) groups[groups.length - 1].keys.push(line.trim());
    else groups.push({ head: line, keys: [] });
  }
  return `<ul class="causes">${
    groups.map((g) =>
      `<li>${escapeHtml(g.head)}${
        g.keys.length
          ? `<ul class="keys">${
            g.keys.map((k) => `<li><code>${escapeHtml(k)}</code></li>`).join("")
          }</ul>`
          : ""
      }</li>`
    ).join("")
  }</ul>`;
}

function cellTitle(c: HtmlCell): string {
  const n = c.neighbour;
  const change = n && n.relation !== "next" && n.classes[0] !== "same"
    ? `; ${n.classes.join(" and ")} against ${n.revision}`
    : "";
  return `${c.scenario} on ${c.revision}: ${c.status}${change}. Open the details.`;
}

/** A button that opens a cell; a line of its label may break after a comma. */
function button(index: number, cls: string, label: string, title: string): string {
  return `<button type="button" class="${cls}" data-cell="${index}" title="${escapeHtml(title)}">${
    escapeHtml(label).replaceAll(",", ",<wbr>")
  }</button>`;
}

/**
 * Renders the HTML report: one self-contained page. Equal inputs give
 * equal bytes (no timestamps).
 *
 * @param model The report model (see `analyse`).
 * @returns The page.
 *
 * @example
 * ```ts
 * import { analyse } from "../analysis/analyse.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { renderHtml } from "./html.ts";
 * const emmu = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const m = runMatrix(loadScenarioDir("scenarios"), emmu);
 * const page = renderHtml(analyse(m, { lineages: ["emmu"] }));
 * console.log(page.startsWith("<!DOCTYPE html>"));
 * ```
 */
export function renderHtml(model: ReportModel): string {
  const names = model.lineages.map((d) => d.lineage);
  const data = buildHtmlData(model);
  const index = new Map(data.cells.map((c, i) => [`${c.scenario}\n${c.revision}`, i]));
  const at = (s: string, r: string) => index.get(`${s}\n${r}`)!;
  const find = (s: string, r: string) => index.get(`${s}\n${r}`);
  const counts = { pass: 0, fail: 0, unsupported: 0, timeout: 0 };
  for (const c of data.cells) counts[c.status]++;
  const e = escapeHtml;
  const body: string[] = [];
  body.push(
    "<header>",
    "<h1>mmbisect regression report</h1>",
    `<p>${plural(model.scenarios.length, "scenario")} on ${
      plural(Object.keys(data.revisions).length, "revision")
    }: ${
      plural(data.cells.length, "cell")
    }, ${counts.pass} pass, ${counts.fail} fail, ${counts.unsupported} unsupported, ${counts.timeout} timeout. Matrix digest <code>${
      e(model.digest)
    }</code>.</p>`,
    '<ul class="legend" aria-label="Legend">',
    ...(["pass", "fail", "unsupported", "timeout"] as const).map((s) =>
      `<li><span class="st-${s}">&nbsp;${STATUS_SYMBOLS[s]} ${s}&nbsp;</span> ${
        {
          pass: "no violation",
          fail: "the violation kinds observed",
          unsupported: "a step the revision or driver cannot run",
          timeout:
            "a bound stopped the run: a step's scheduling points, or the time bound (--timeout), after which what ran depends on the machine's speed",
        }[s]
      }</li>`
    ),
    "<li>\u25b2 regression / \u25bc fix against the revision before (or the parent of a candidate)</li>",
    "<li><i>italic</i>: candidate revision</li>",
    "</ul>",
    "<p>Click a cell for its violations, callout trace, sequence diagram and trace diff against the neighbouring revision.</p>",
    `<nav><p>Lineages: ${
      names.map((n) => `<a href="#lineage-${e(n)}">${e(n)}</a>`).join(" \u00b7 ")
    }${
      model.races && model.races.scenarios.length ? ' \u00b7 <a href="#races">races</a>' : ""
    }</p></nav>`,
    "</header>",
    "<main>",
  );
  if (model.baseline) body.push(...baselineSection(model.baseline, find));
  for (const [li, lo] of model.lineages.entries()) {
    const name = lo.lineage;
    const cols = model.columns[li];
    const cand = new Set(lo.candidates.map((c) => c.id));
    const label = (id: string) => `${e(id)}${cand.has(id) ? "*" : ""}`;
    body.push(
      `<section class="lineage" id="lineage-${e(name)}">`,
      `<h2>Lineage ${e(name)}</h2>`,
      `<p>Order: ${lo.order.map(e).join(" \u2192 ")}${
        lo.candidates.length
          ? `. Candidates: ${
            lo.candidates.map((c) => `<i>${e(c.id)}</i>${c.parent ? ` (on ${e(c.parent)})` : ""}`)
              .join(", ")
          }`
          : ""
      }.</p>`,
      `<p>Posted against: ${
        postedAgainstGroups(cols, (id) => data.revisions[id].postedAgainst).map((g) =>
          `${e(g.text)}: ${
            g.revisions.map((id) => cand.has(id) ? `<i>${e(id)}</i>` : e(id)).join(", ")
          }`
        ).join("; ")
      }.</p>`,
      `<div class="tools" data-lineage="${e(name)}">`,
      `<label>Scenarios <input type="search" class="filter" placeholder="filter by id" aria-label="Filter the scenarios of ${
        e(name)
      } by id" autocomplete="off"></label>`,
      '<label><input type="checkbox" class="changed-only"> only rows with a verdict change</label>',
      `<span class="columns" role="group" aria-label="Revision columns of ${e(name)}">Revisions ${
        cols.map((id, k) =>
          `<label${
            cand.has(id) ? ' class="cand"' : ""
          }><input type="checkbox" class="col" data-col="${k + 1}" checked> ${label(id)}</label>`
        ).join(" ")
      }</span>`,
      '<span class="shown muted" aria-live="polite"></span>',
      "</div>",
      `<div class="scroll" tabindex="0"><table class="matrix revisions" style="--cols: ${cols.length}">`,
      `<caption class="muted">Scenarios by revisions of ${e(name)}</caption>`,
      `<thead><tr><th scope="col" class="corner">scenario</th>${
        cols.map((id, k) =>
          `<th scope="col" data-col="${k + 1}" title="${
            e(data.revisions[id].title)
          }, posted against ${e(data.revisions[id].postedAgainst)} (hash ${
            e(data.revisions[id].hash)
          })"${cand.has(id) ? ' class="cand"' : ""}>${label(id)}</th>`
        ).join("")
      }</tr></thead>`,
      "<tbody>",
    );
    const rows = modelScenarios(model, cols);
    for (const s of rows) {
      const cells = cols.map((id, k) => {
        const i = at(s.id, id);
        const c = data.cells[i];
        return `<td data-col="${k + 1}" class="st-${c.status}">${
          button(i, `cell st-${c.status}`, cellLabel(c), cellTitle(c))
        }</td>`;
      });
      const changed = cols.some((id) => isVerdictChange(data.cells[at(s.id, id)]));
      body.push(
        `<tr data-scenario="${e(s.id)}"${
          changed ? ' class="changed"' : ""
        }><th scope="row" title="${e(s.purpose)}">${e(s.id)}</th>${cells.join("")}</tr>`,
      );
    }
    body.push("</tbody></table></div>");
    const blamed = new Map<string, [CausedChange, number]>();
    for (const step of [...lo.steps, ...lo.candidateSteps]) {
      for (const c of step.scenarios) {
        blamed.set(`${c.scenario}\n${c.from}\n${c.to}`, [c, step.keys.length]);
      }
    }
    const changes: string[] = [];
    for (const s of rows) {
      for (const id of cols) {
        const i = at(s.id, id);
        const c = data.cells[i];
        const n = c.neighbour;
        if (!n || !isVerdictChange(c)) continue;
        const verbs = n.classes.filter((k) => k !== "change" && k !== "same")
          .map((k) => k === "regression" ? "regressed" : "fixed").join(" and ");
        const delta = [...n.added.map((k) => `+${k}`), ...n.removed.map((k) => `-${k}`)].join(" ");
        const mark = n.classes.includes("regression") ? "\u25b2" : "\u25bc";
        const why = blamed.get(`${s.id}\n${n.from}\n${n.to}`);
        changes.push(
          `<li>${
            button(
              i,
              "link",
              `${mark} ${s.id}: ${verbs} in ${id} (after ${n.revision}): ${delta}`,
              cellTitle(c),
            )
          }${why ? causeList(...why) : ""}</li>`,
        );
      }
    }
    body.push(
      `<h3>Verdict changes along ${e(name)} (${changes.length})</h3>`,
      changes.length ? `<ul class="changes">${changes.join("")}</ul>` : '<p class="muted">none</p>',
      "</section>",
    );
  }
  if (model.races && model.races.scenarios.length) body.push(...raceSection(model.races));
  if (model.costs) body.push(...costSection(model.costs));
  body.push("</main>");
  body.push('<aside id="detail" hidden aria-label="Cell details" tabindex="-1"></aside>');
  const hash = createHash("sha256").update(HTML_SCRIPT).digest("base64");
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; img-src data:; base-uri 'none'; form-action 'none'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>mmbisect regression report (${e(names.join(", "))})</title>`,
    `<style>${HTML_STYLE}</style>`,
    "</head>",
    "<body>",
    ...body,
    `<script type="application/json" id="mmbisect-data">${scriptJson(data)}</script>`,
    `<script>${HTML_SCRIPT}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function baselineSection(
  b: BaselineCheck,
  at: (s: string, r: string) => number | undefined,
): string[] {
  const e = escapeHtml;
  const out = [`<section id="baseline"><h2>Against baseline ${e(b.revision)}</h2>`];
  if (b.regressions.length === 0) {
    out.push(
      `<p>${STATUS_SYMBOLS.pass} No regression: none of ${
        plural(b.checked.length, "revision")
      } has a violation kind or an incomplete run that ${e(b.revision)} lacks.</p>`,
    );
  } else {
    out.push(
      `<p>${STATUS_SYMBOLS.fail} ${
        plural(b.regressions.length, "regression")
      }:</p><ul class="changes">`,
    );
    for (const r of b.regressions) {
      const text = `${r.scenario} on ${r.revision}: ${
        statusText(r.baselineStatus, r.baselineKinds)
      } -> ${statusText(r.status, r.kinds)}${r.added.length ? ` (+${r.added.join(" +")})` : ""}`;
      const i = at(r.scenario, r.revision);
      out.push(`<li>${i === undefined ? e(text) : button(i, "link", text, text)}</li>`);
    }
    out.push("</ul>");
  }
  out.push("</section>");
  return out;
}

function costSection(t: CostTable): string[] {
  const e = escapeHtml;
  const out = [
    '<section id="costs"><h2>The F8 cover letter\'s claims, measured</h2>',
    `<p>Run on ${
      e(t.revision)
    }. Entries are system calls plus page faults; whole-TLB flushes are the mmu_gather flushes of munmap (flush_tlb_mm on x86); page-table pages use x86-64 geometry.</p>`,
    `<div class="scroll"><table class="matrix"><thead><tr>${
      COST_COLUMNS.map((c) => `<th scope="col">${e(c)}</th>`).join("")
    }</tr></thead><tbody>`,
  ];
  for (const r of t.rows) {
    const [family, ...rest] = costCells(r);
    const cells = rest.map((v) => `<td class="mono">${e(v)}</td>`).join("");
    out.push(`<tr><th scope="row">${e(family)}</th>${cells}</tr>`);
  }
  out.push("</tbody></table></div>", '<ul class="changes">');
  for (const c of t.claims) {
    const sym = c.verdict === "reproduced" ? STATUS_SYMBOLS.pass : STATUS_SYMBOLS.fail;
    out.push(`<li>${sym} ${e(c.verdict)}: \u201c${e(c.claim)}\u201d (${e(c.evidence)})</li>`);
  }
  out.push("</ul></section>");
  return out;
}

function raceSection(t: RaceTable): string[] {
  const e = escapeHtml;
  const out = [
    '<section id="races"><h2>Races (every schedule explored)</h2>',
    '<p>Each cell is what the explorer found over every interleaving of the scenario\'s threads: a violation kind reached on "always" or "sometimes" the schedules, or "never". A cell marked "(timeout)" (the time bound, --timeout) or "(bounded)" (the run bound) holds what the schedules explored before that bound found; a timed-out cell\'s counts depend on the machine\'s speed.</p>',
  ];
  for (const s of t.scenarios) {
    out.push(
      `<h3>${e(s)}</h3>`,
      '<div class="scroll"><table class="matrix"><thead><tr><th scope="col">revision</th><th scope="col">verdict</th><th scope="col">schedules</th><th scope="col">states</th></tr></thead><tbody>',
    );
    for (const r of t.revisions) {
      const x = t.results.find((y) => y.scenario === s && y.revision === r);
      if (!x) continue;
      // A partial exploration shows as one whatever it saw, so it never reads as a clean pass.
      const st = x.status !== "complete"
        ? "timeout"
        : Object.keys(x.verdicts).length
        ? "fail"
        : "pass";
      const cls = `st-${st}`;
      const sym = STATUS_SYMBOLS[st];
      out.push(
        `<tr><th scope="row">${e(r)}</th><td class="${cls} mono">${sym} ${
          e(raceCell(x))
        }</td><td>${x.schedules}</td><td>${x.states}</td></tr>`,
      );
    }
    out.push("</tbody></table></div>");
  }
  out.push("</section>");
  return out;
}
