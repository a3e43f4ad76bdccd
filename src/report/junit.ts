/**
 * The report as JUnit XML, for CI systems that read it: one `testsuite`
 * per lineage, one `testcase` per cell shown, judged against the pinned
 * expectations — a `failure` with the diagnosis when the run does not
 * match, `skipped` when the table does not pin the cell.
 *
 * @module
 */
import type { ReportModel } from "../analysis/model.ts";
import type { Judgement } from "../analysis/expect.ts";

/**
 * Escapes text for XML content and attribute values; characters XML 1.0
 * forbids are replaced by U+FFFD.
 *
 * @param s Any text.
 * @returns The escaped text.
 *
 * @example
 * ```ts
 * import { escapeXml } from "./junit.ts";
 * console.log(escapeXml(`a<b & "c"`)); // "a&lt;b &amp; &quot;c&quot;"
 * ```
 */
export function escapeXml(s: string): string {
  // XML 1.0 allows no control character but tab, newline and carriage return.
  // deno-lint-ignore no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")
    .replace(
      /[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
    );
}

function counts(js: Judgement[]): string {
  const failures = js.filter((j) => j.result === "mismatch").length;
  const skipped = js.filter((j) => j.result === "unpinned").length;
  return `tests="${js.length}" failures="${failures}" errors="0" skipped="${skipped}"`;
}

/**
 * Renders the JUnit XML report of a model's judgements.
 *
 * @param model The report model, analysed with an expectation table (see `analyse`).
 * @returns An XML document, ending with a newline.
 * @throws {RangeError} When the model has no judgements.
 *
 * @example
 * ```ts
 * import { analyse } from "../analysis/analyse.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { shippedExpectations } from "../analysis/expect.ts";
 * import { renderJunit } from "./junit.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const m = runMatrix(loadScenarioDir("scenarios"), revs);
 * console.log(renderJunit(analyse(m, { expect: shippedExpectations() })).split("\n")[1]);
 * ```
 */
export function renderJunit(model: ReportModel): string {
  const js = model.judgements;
  if (!js) throw new RangeError("The model was analysed without an expectation table");
  const e = escapeXml;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mmbisect" ${counts(js)}>`,
  ];
  model.lineages.forEach((d, i) => {
    const cols = new Set(model.columns[i]);
    const mine = js.filter((j) => cols.has(j.revision));
    out.push(`  <testsuite name="${e(d.lineage)}" ${counts(mine)}>`);
    for (const j of mine) {
      const head = `    <testcase classname="${e(`${d.lineage}.${j.revision}`)}" name="${
        e(j.scenario)
      }"`;
      if (j.result === "match") {
        out.push(`${head}/>`);
      } else if (j.result === "unpinned") {
        out.push(`${head}>`, '      <skipped message="no pinned expectation"/>', "    </testcase>");
      } else {
        out.push(
          `${head}>`,
          `      <failure type="mismatch" message="${e(j.diagnosis!)}">${
            e(`${j.diagnosis}\ncite: ${j.expected!.cite}\nreproduce: ${j.reproduce}`)
          }</failure>`,
          "    </testcase>",
        );
      }
    }
    out.push("  </testsuite>");
  });
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}
