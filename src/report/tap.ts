/**
 * The report as TAP version 14 (the KTAP subset the kernel's selftests
 * print): one test point per cell shown, `ok` when the run matches its
 * pinned expectation, `not ok` with the diagnosis in a YAML block when it
 * does not, and `# SKIP` for a cell the expectation table does not pin.
 *
 * @module
 */
import type { ReportModel } from "../analysis/model.ts";
import { modelOutcome } from "../analysis/model.ts";

/** A TAP description: `#` and `\` escaped, as TAP 14 asks. */
function description(s: string): string {
  return s.replace(/[\\#]/g, (c) => `\\${c}`);
}

/**
 * Renders the TAP report of a model's judgements.
 *
 * @param model The report model, analysed with an expectation table (see `analyse`).
 * @returns TAP 14 text, ending with a newline.
 * @throws {RangeError} When the model has no judgements.
 *
 * @example
 * ```ts
 * import { analyse } from "../analysis/analyse.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { shippedExpectations } from "../analysis/expect.ts";
 * import { renderTap } from "./tap.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const m = runMatrix(loadScenarioDir("scenarios"), revs);
 * console.log(renderTap(analyse(m, { expect: shippedExpectations() })).split("\n")[0]);
 * ```
 */
export function renderTap(model: ReportModel): string {
  const js = model.judgements;
  if (!js) throw new RangeError("The model was analysed without an expectation table");
  const out = ["TAP version 14", `1..${js.length}`];
  js.forEach((j, i) => {
    const name = description(`${j.scenario} on ${j.revision}`);
    if (j.result === "unpinned") {
      out.push(`ok ${i + 1} - ${name} # SKIP no pinned expectation`);
      return;
    }
    out.push(`${j.result === "match" ? "ok" : "not ok"} ${i + 1} - ${name}`);
    if (j.result === "match") return;
    const o = modelOutcome(model, j.scenario, j.revision);
    const yaml = (v: unknown) => JSON.stringify(v);
    out.push(
      "  ---",
      `  message: ${yaml(j.diagnosis)}`,
      "  severity: fail",
      `  status: ${yaml(o.status)}`,
      `  got: ${yaml(o.kinds)}`,
      `  expected: ${yaml(j.expected!.kinds)}`,
      `  cite: ${yaml(j.expected!.cite)}`,
      `  reproduce: ${yaml(j.reproduce)}`,
      "  ...",
    );
  });
  return out.join("\n") + "\n";
}
