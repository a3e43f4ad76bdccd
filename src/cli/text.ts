/**
 * Plain-text renderings of an outcome and of a comparison, for the terminal.
 *
 * @module
 */
import type { Outcome } from "../run/outcome.ts";
import type { BaselineCheck, ChangeClass, Comparison, ScenarioChange } from "../report/diff.ts";
import { raceCauseLines, type RaceChange, verdictsText } from "../report/races.ts";
import type { ComparisonModel } from "../analysis/comparison.ts";
import {
  causeLines,
  formatKeyChange,
  formatViolation,
  statusText,
  traceLine,
  verdictText,
} from "../report/_format.ts";
import { summaryText } from "../analysis/summary.ts";

/**
 * Renders one outcome: verdict, violations, callout trace, return values,
 * counters, secondary MMU state and the command that reproduces it.
 *
 * @param o The outcome.
 * @returns Text, ending with a newline.
 */
export function formatOutcome(o: Outcome): string {
  const lines = [`${o.scenario} on ${o.revision}: ${o.status} (${verdictText(o.kinds)})`];
  if (o.aborted) lines.push(`aborted: ${o.aborted}`);
  lines.push("", `violations (${o.violations.length}):`);
  for (const v of o.violations) lines.push(`  ${formatViolation(v)}`);
  lines.push("", `callout trace (${o.trace.length}):`);
  for (const t of o.trace) lines.push(`  ${traceLine(t)}`);
  lines.push("", "returns:");
  for (const r of o.returns) lines.push(`  step ${r.step} ${r.op}: ${r.value}`);
  const counters = Object.entries(o.counters).sort(([a], [b]) => a.localeCompare(b));
  if (o.views) {
    lines.push("", "what a read finds at the end:");
    for (const v of o.views) lines.push(`  ${v.mm} ${v.range}: ${v.sees}`);
    if (!o.views.length) lines.push("  (no live mm maps anything)");
  }
  lines.push("", `counters: ${counters.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  for (const s of o.secondaries) {
    const state = Object.entries(s.state).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) =>
      `${k}=${Array.isArray(v) ? JSON.stringify(v) : v}`
    );
    lines.push(`secondary ${s.id} (${s.driver}): ${state.join(" ")}`);
  }
  lines.push(`state digest: ${o.stateDigest}`, `reproduce: ${o.reproduce}`);
  return lines.join("\n") + "\n";
}

/** Names wrapped to lines of at most `width` columns, each line after `indent`. */
function nameLines(names: string[], indent: string, width = 100): string[] {
  const out: string[] = [];
  let cur = "";
  for (const n of names) {
    const next = cur ? `${cur}, ${n}` : n;
    if (cur && indent.length + next.length > width) {
      out.push(`${indent}${cur},`);
      cur = n;
    } else {
      cur = next;
    }
  }
  if (cur) out.push(`${indent}${cur}`);
  return out;
}

/**
 * Renders a comparison of two revisions, most telling first: the summary
 * (each scenario counted once, see `changeSummary`), every regression and
 * fix with the keys that cause it, the others that differ and the command
 * that reproduces it on the second revision, then the
 * other behaviour changes grouped by the parts of the outcome that differ,
 * the scenarios with the same outcome by name only, and the config keys
 * that differ. `--json` holds every detail.
 *
 * @param c The comparison.
 * @returns Text, ending with a newline.
 */
export function formatComparison(c: Comparison): string {
  const sum = c.summary;
  const lines = [`compare ${c.from} -> ${c.to}`, "", `summary: ${summaryText(sum)}`];
  const section = (title: string, list: ScenarioChange[]) => {
    lines.push("", `${title} (${list.length}):`);
    if (list.length === 0) lines.push("  none");
    for (const s of list) {
      const delta = [...s.added.map((k) => `+${k}`), ...s.removed.map((k) => `-${k}`)];
      lines.push(
        `  ${s.scenario}: ${statusText(s.fromStatus, s.fromKinds)} -> ${
          statusText(s.toStatus, s.toKinds)
        } (${delta.join(" ")})`,
      );
      lines.push(...causeLines(s, c.keys.length, { indent: "    ", countOthers: true }));
      if (s.reproduce !== undefined) lines.push(`    reproduce: ${s.reproduce}`);
    }
  };
  const only = (k: ChangeClass) => c.scenarios.filter((s) => s.classes.join() === k);
  section("regressions", only("regression"));
  section("fixes", only("fix"));
  const both = c.scenarios.filter((s) => s.classes.join() === "regression,fix");
  if (both.length) section("both: a kind appears and another disappears", both);
  const changed = c.scenarios.filter((s) => s.classes[0] === "change");
  if (changed.length) {
    lines.push("", `other behaviour changes, same verdict (${changed.length}):`);
    const byParts = new Map<string, string[]>();
    for (const s of changed) {
      const k = s.differs.join(", ");
      byParts.set(k, [...byParts.get(k) ?? [], s.scenario]);
    }
    for (const [parts, names] of byParts) {
      lines.push(`  ${parts} differ (${names.length}):`, ...nameLines(names, "    "));
    }
  }
  const same = c.scenarios.filter((s) => s.classes[0] === "same").map((s) => s.scenario);
  if (same.length) lines.push("", `same outcome (${same.length}):`, ...nameLines(same, "  "));
  lines.push("", `config keys that differ (${c.keys.length}):`);
  for (const k of c.keys) lines.push(`  ${formatKeyChange(k)}`);
  lines.push("", "every scenario's outcome parts and relevant keys: --json");
  return lines.join("\n") + "\n";
}

/**
 * The check against a baseline: a summary line, then one line per regression.
 *
 * @param b The check.
 * @returns The lines.
 */
export function baselineLines(b: BaselineCheck): string[] {
  const lines = b.regressions.map((r) =>
    `  ${r.scenario} on ${r.revision}: ${statusText(r.baselineStatus, r.baselineKinds)} -> ${
      statusText(r.status, r.kinds)
    }${r.added.length ? ` (${r.added.map((k) => `+${k}`).join(" ")})` : ""}`
  );
  const n = b.regressions.length;
  return [
    `baseline ${b.revision}: ${n ? `${n} regression${n === 1 ? "" : "s"}` : "no regression"} in ${
      b.checked.join(", ") || "no other revision"
    }`,
    ...lines,
  ];
}

/** The race changes of a comparison, each with its causes and replay commands. */
function raceLines(races: RaceChange[], from: string, to: string): string[] {
  return [
    `races, every schedule explored (${races.length} scenario${
      races.length === 1 ? "" : "s"
    } changed):`,
    ...races.flatMap((r) => [
      `  ${r.scenario}: ${verdictsText(r.from)}${r.fromStatus ? ` (${r.fromStatus})` : ""} -> ${
        verdictsText(r.to)
      }${r.toStatus ? ` (${r.toStatus})` : ""}`,
      ...raceCauseLines(r, from, to, "    "),
      ...r.replays.map((x) => `    replay: ${x}`),
    ]),
  ];
}

/**
 * Renders the model of `compare`: the comparison (see
 * {@link formatComparison}), the baseline check and the race changes.
 *
 * @param m The model.
 * @returns Text, ending with a newline.
 */
export function formatComparisonModel(m: ComparisonModel): string {
  const c = m.comparison;
  return formatComparison(c) +
    (m.baseline ? baselineLines(m.baseline).join("\n") + "\n" : "") +
    (m.races ? ["", ...raceLines(m.races, c.from, c.to), ""].join("\n") + "\n" : "");
}
