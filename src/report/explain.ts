/**
 * Explain: why a scenario has its verdict on a revision. Each violation
 * comes with the callouts made during the step that observed it and the
 * revision's config keys of the kernel paths those callouts come from; the
 * paths the scenario says it exercises are listed too, so a callout the
 * revision does not make (a lost write after a path with no callout) is
 * visible as well.
 *
 * @module
 */
import type { Violation } from "../check/checker.ts";
import type { Outcome, TraceEntry } from "../run/outcome.ts";
import { flattenConfig, nonlinearKeyFunction, type Revision } from "../run/revision.ts";
import type { Scenario } from "../run/scenario.ts";
import { type CellStatus, cellStatus } from "./diff.ts";
import { formatViolation, statusText, traceLine } from "./_format.ts";

/** Version of the explain JSON schema. */
export const EXPLAIN_SCHEMA = "mmbisect/explain@1";

/** A config key and its value, as `flattenConfig` gives them. */
export interface ConfigKey {
  /** The flattened key, e.g. `paths.do_wp_page.callouts[unlock:invalidate_range_end]`. */
  key: string;
  /** Its value, e.g. `range=page atomic=0`. */
  value: string;
}

/** The config of one kernel path on the revision. */
export interface PathConfigKeys {
  /** The kernel path. */
  path: string;
  /** Its keys (`paths.<path>.*`); empty when the revision places no callout there. */
  keys: ConfigKey[];
}

/** One violation and what led to it. */
export interface ViolationExplanation {
  /** The violation. */
  violation: Violation;
  /** The operation of the step that observed it. */
  op: string;
  /**
   * The callouts made during that step, in order (a violation carries its
   * step, not its position within the step).
   */
  callouts: TraceEntry[];
  /** For each of {@link ViolationExplanation.callouts}, whether its range or address covers the violation's. */
  touches: boolean[];
  /** The config of each kernel path those callouts come from, sorted by path. */
  paths: PathConfigKeys[];
}

/** Why a scenario has its verdict on a revision. */
export interface Explanation {
  /** Always {@link EXPLAIN_SCHEMA}. */
  schema: typeof EXPLAIN_SCHEMA;
  /** The scenario id. */
  scenario: string;
  /** The revision id. */
  revision: string;
  /** The cell status. */
  status: CellStatus;
  /** The violation kinds. */
  kinds: Outcome["kinds"];
  /** Content hashes of the scenario and the revision. */
  hashes: Outcome["hashes"];
  /** Why the run stopped early, when it did. */
  aborted?: string;
  /** One entry per violation, in outcome order. */
  violations: ViolationExplanation[];
  /** The config of the paths the scenario exercises (its `exercises` field), sorted by path. */
  exercised: PathConfigKeys[];
  /** The notifier chain's keys (`chain.*`) on the revision. */
  chain: ConfigKey[];
  /**
   * 2.5.42 revisions: the `nonlinear.*` keys of the kernel functions the run
   * went through (the outcome's `paths`), each with the citation of its part.
   */
  nonlinear?: (ConfigKey & { function: string; cite: string })[];
  /** The command that reproduces the outcome. */
  reproduce: string;
}

/** Parses `0x1000` or `0x1000-0x3000` as a half-open range; undefined for anything else. */
function parseWhere(s: string | undefined): [number, number] | undefined {
  const m = /^(0x[0-9a-f]+)(?:-(0x[0-9a-f]+))?$/i.exec(s ?? "");
  if (!m) return undefined;
  const lo = Number(m[1]);
  return [lo, m[2] ? Number(m[2]) : lo + 1];
}

function overlaps(a: [number, number] | undefined, b: [number, number] | undefined): boolean {
  return !!a && !!b && a[0] < b[1] && b[0] < a[1];
}

/**
 * Explains an outcome: for each violation, the callouts of its step and the
 * revision's config keys of the paths involved.
 *
 * @param outcome The outcome of `scenario` on `revision`.
 * @param revision The revision it ran on (its config is read with `flattenConfig`).
 * @param scenario The scenario (for step operations and the paths it exercises).
 * @returns The explanation.
 * @throws {RangeError} When the outcome is not of that scenario and revision.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenario } from "../run/scenario.ts";
 * import { runScenario } from "../run/runner.ts";
 * import { explainOutcome, formatExplanation } from "./explain.ts";
 * const s = loadScenario("scenarios/mremap-move.json");
 * const r = loadRevisionDir("patches").find((x) => x.id === "emmu-v2")!;
 * console.log(formatExplanation(explainOutcome(runScenario(s, r), r, s)));
 * ```
 */
export function explainOutcome(
  outcome: Outcome,
  revision: Revision,
  scenario: Scenario,
): Explanation {
  if (outcome.scenario !== scenario.id || outcome.revision !== revision.id) {
    throw new RangeError(
      `Outcome of "${outcome.scenario}" on "${outcome.revision}" explained with ` +
        `"${scenario.id}" on "${revision.id}"`,
    );
  }
  const flat = flattenConfig(revision);
  const pathKeys = (path: string): PathConfigKeys => ({
    path,
    keys: Object.keys(flat).filter((k) => k.startsWith(`paths.${path}.`)).sort()
      .map((key) => ({ key, value: flat[key] })),
  });
  const violations = outcome.violations.map((v): ViolationExplanation => {
    const callouts = outcome.trace.filter((t) => t.step === v.step);
    const where = parseWhere(v.where);
    return {
      violation: v,
      op: scenario.steps[v.step]?.op ?? "(end of run)",
      callouts,
      touches: callouts.map((t) => overlaps(parseWhere(t.range ?? t.address), where)),
      paths: [...new Set(callouts.map((t) => t.path))].sort().map(pathKeys),
    };
  });
  const out: Explanation = {
    schema: EXPLAIN_SCHEMA,
    scenario: outcome.scenario,
    revision: outcome.revision,
    status: cellStatus(outcome),
    kinds: outcome.kinds,
    hashes: outcome.hashes,
    violations,
    exercised: [...new Set(scenario.exercises)].sort().map(pathKeys),
    chain: Object.keys(flat).filter((k) => k.startsWith("chain.")).sort()
      .map((key) => ({ key, value: flat[key] })),
    reproduce: outcome.reproduce,
  };
  if (outcome.aborted !== undefined) out.aborted = outcome.aborted;
  if (revision.nonlinear) {
    const parts = revision.resolved.nonlinear as Record<string, { cite: string }>;
    out.nonlinear = Object.keys(flat).filter((k) => k.startsWith("nonlinear.")).sort()
      .filter((key) => outcome.paths?.includes(nonlinearKeyFunction(key)))
      .map((key) => ({
        key,
        value: flat[key],
        function: nonlinearKeyFunction(key),
        cite: parts[key.split(".")[1]].cite,
      }));
  }
  return out;
}

function pathLines(p: PathConfigKeys, indent: string): string[] {
  if (p.keys.length === 0) return [`${indent}paths.${p.path}: no callout configured`];
  return p.keys.map((k) => `${indent}${k.key}: ${k.value}`);
}

/**
 * Renders an explanation as plain text. Callouts whose range or address
 * covers the violation's are marked `*`.
 *
 * @param e The explanation.
 * @returns Text, ending with a newline.
 */
export function formatExplanation(e: Explanation): string {
  const lines = [
    `explain ${e.scenario} on ${e.revision}: ${e.status} (${statusText(e.status, e.kinds)})`,
    `hashes: scenario ${e.hashes.scenario}, revision ${e.hashes.revision}`,
  ];
  if (e.aborted) lines.push(`aborted: ${e.aborted}`);
  if (e.violations.length === 0) lines.push("", "no violation");
  e.violations.forEach((x, i) => {
    lines.push("", `violation ${i + 1} of ${e.violations.length}: ${formatViolation(x.violation)}`);
    const n = x.callouts.length;
    if (n === 0) {
      lines.push(`  step ${x.violation.step} (${x.op}) made no callout`);
    } else {
      const mark = x.touches.some((b) => b) ? `; * covers ${x.violation.where}` : "";
      lines.push(`  callouts of step ${x.violation.step} (${x.op}), ${n}${mark}:`);
      x.callouts.forEach((t, j) => lines.push(`  ${x.touches[j] ? "*" : " "} ${traceLine(t)}`));
      lines.push(`  config of the paths of those callouts on ${e.revision}:`);
      for (const p of x.paths) lines.push(...pathLines(p, "    "));
    }
  });
  if (e.nonlinear) {
    lines.push("", `config of the 2.5.42 functions the run went through on ${e.revision}:`);
    for (const k of e.nonlinear) lines.push(`  ${k.key}: ${k.value}`, `    (${k.cite})`);
    lines.push(`reproduce: ${e.reproduce}`);
    return lines.join("\n") + "\n";
  }
  const shown = new Set(e.violations.flatMap((x) => x.paths.map((p) => p.path)));
  const rest = e.exercised.filter((p) => !shown.has(p.path));
  if (rest.length) {
    lines.push(
      "",
      `config of the paths the scenario exercises${
        shown.size ? " (others)" : ""
      } on ${e.revision}:`,
    );
    for (const p of rest) lines.push(...pathLines(p, "  "));
  }
  lines.push("", `chain: ${e.chain.map((k) => `${k.key.slice(6)}=${k.value}`).join(" ")}`);
  lines.push(`reproduce: ${e.reproduce}`);
  return lines.join("\n") + "\n";
}
