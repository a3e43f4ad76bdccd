/**
 * Summary counts that add up, in every format: each scenario of each
 * comparison counts in exactly one class (regression, fix, both, other
 * change, same), and the Markdown, JSON and mail reports of one model give
 * the same counts, which match the verdict changes each lists.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  addSummaries,
  analyse,
  buildReport,
  changeSummary,
  isVerdictChange,
  loadRevisionDir,
  loadScenarioDir,
  renderMail,
  renderMarkdown,
  type ReportModel,
  runMatrix,
} from "../mod.ts";

let cached: ReportModel | undefined;
/** Every lineage's report model (causes not searched: the counts do not depend on them). */
const model = () =>
  cached ??= analyse(runMatrix(loadScenarioDir("scenarios"), loadRevisionDir("patches")), {
    blame: false,
  });

Deno.test("changeSummary() puts a scenario whose kinds swap in both, once", () => {
  const s = changeSummary([
    { classes: ["regression", "fix"] },
    { classes: ["regression"] },
    { classes: ["fix"] },
    { classes: ["change"] },
    { classes: ["same"] },
    { classes: ["same"] },
  ]);
  assert.deepEqual(s, { scenarios: 6, regression: 1, fix: 1, both: 1, change: 1, same: 2 });
  assert.deepEqual(addSummaries([s, s]), {
    scenarios: 12,
    regression: 2,
    fix: 2,
    both: 2,
    change: 2,
    same: 4,
  });
});

Deno.test("buildReport() gives each comparison a summary that adds up to its scenarios", () => {
  const report = buildReport(model());
  let both = 0;
  for (const d of report.lineages) {
    for (const step of [...d.steps, ...d.candidateSteps]) {
      const s = step.summary;
      assert.equal(s.regression + s.fix + s.both + s.change + s.same, s.scenarios);
      assert.equal(s.scenarios, step.scenarios.length);
      assert.equal(
        s.regression + s.fix + s.both,
        step.scenarios.filter(isVerdictChange).length,
        `${step.from} -> ${step.to}`,
      );
      both += s.both;
    }
  }
  // expectations/emmu.json: fork-enomem goes from stale-secondary on emmu-v4 to
  // no-progress,unbalanced-range on emmu-v5, one scenario both regressed and fixed.
  assert.ok(both >= 1);
});

Deno.test("renderMarkdown() counts each lineage's verdict changes once, as the JSON does", () => {
  const m = model();
  const md = renderMarkdown(m);
  const lines = [
    ...md.matchAll(
      /^(\d+) verdict changes? over (\d+) steps? = (\d+) regressions? \+ (\d+) fix(?:es)? \+ (\d+) both .*; (\d+) other behaviour changes?, (\d+) same\.$/gm,
    ),
  ];
  const stepped = m.lineages.filter((d) => d.steps.length > 0);
  assert.equal(lines.length, stepped.length);
  stepped.forEach((d, i) => {
    const [, total, steps, r, f, b, c, same] = lines[i].map(Number);
    const sum = addSummaries(d.steps.map((s) => s.summary));
    assert.equal(total, r + f + b, "the verdict changes are the three classes' sum");
    assert.deepEqual([steps, r, f, b, c, same], [
      d.steps.length,
      sum.regression,
      sum.fix,
      sum.both,
      sum.change,
      sum.same,
    ]);
    // One detail section per verdict change along the lineage.
    const section = md.slice(
      md.indexOf(`### Regressions and fixes along ${d.lineage}\n`),
      md.indexOf(`\n## `, md.indexOf(`### Regressions and fixes along ${d.lineage}\n`)),
    );
    const along = section.split("### Candidates against their parent")[0];
    assert.equal([...along.matchAll(/^#### /gm)].length, total, d.lineage);
  });
});

Deno.test("renderMail() counts each verdict change once, as the JSON does", () => {
  const m = model();
  const mail = renderMail(m);
  const head = mail.split("\nmatrix digest:")[0].replace(/\n +/g, " ");
  const [, r, f, b] = /: (\d+) regressions?, (\d+) fix(?:es)?, (\d+) both/.exec(head)!.map(Number);
  const sum = addSummaries(
    m.lineages.flatMap((d) => [...d.steps, ...d.candidateSteps]).map((s) => s.summary),
  );
  assert.deepEqual([r, f, b], [sum.regression, sum.fix, sum.both]);
  // Each section lists as many entries as its count.
  const entries = (title: string) => {
    const at = mail.indexOf(`\n${title}\n${"=".repeat(title.length)}\n`);
    if (at < 0) return 0;
    const rest = mail.slice(at + title.length * 2 + 3);
    const end = rest.search(/\n[A-Z][^\n]*\n=+\n/);
    return [...(end < 0 ? rest : rest.slice(0, end)).matchAll(/^\[\d+\] /gm)].length;
  };
  assert.equal(entries("Regressions"), r);
  assert.equal(entries("Fixes"), f);
  assert.equal(entries("Regressed and fixed at once"), b);
});
