/**
 * Plain-text renderings of an outcome and of a comparison, for the terminal.
 *
 * @module
 */
import type { Outcome } from "../run/outcome.ts";
import { type ChangeClass, type Comparison, isVerdictChange } from "../report/diff.ts";
import {
  causeLines,
  formatKeyChange,
  formatViolation,
  statusText,
  textTable,
  traceLine,
  verdictText,
} from "../report/_format.ts";
import { cellStatus } from "../report/diff.ts";

/**
 * Renders one outcome: verdict, violations, callout trace, return values,
 * counters, secondary MMU state and the command that reproduces it.
 *
 * @param o The outcome.
 * @returns Text, ending with a newline.
 */
export function formatOutcome(o: Outcome): string {
  const lines = [`${o.scenario} on ${o.revision}: ${cellStatus(o)} (${verdictText(o.kinds)})`];
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

/**
 * Renders a comparison of two revisions: the config keys that differ, then
 * one row per scenario with both verdicts and the class of change, then for
 * every regression and fix the keys that cause it and the others that differ,
 * then the count of each class (a scenario both regressed and fixed counts
 * in each, and the line says how many do).
 *
 * @param c The comparison.
 * @returns Text, ending with a newline.
 */
export function formatComparison(c: Comparison): string {
  const lines = [`compare ${c.from} -> ${c.to}`, "", `config keys that differ (${c.keys.length}):`];
  for (const k of c.keys) lines.push(`  ${formatKeyChange(k)}`);
  lines.push("");
  lines.push(
    ...textTable(
      ["scenario", c.from, c.to, "change"],
      c.scenarios.map((s) => [
        s.scenario,
        statusText(s.fromStatus, s.fromKinds),
        statusText(s.toStatus, s.toKinds),
        s.classes.join("+") + (s.differs.length ? ` (${s.differs.join(", ")})` : ""),
      ]),
    ),
  );
  // Details only for verdict changes; a behaviour change is one table row.
  const changed = c.scenarios.filter(isVerdictChange);
  for (const s of changed) {
    lines.push("", `${s.scenario}: ${s.classes.join(" and ")}`);
    const delta = [...s.added.map((k) => `+${k}`), ...s.removed.map((k) => `-${k}`)];
    lines.push(`  kinds: ${delta.join(" ")}`);
    lines.push(...causeLines(s, c.keys.length, { indent: "  " }));
  }
  const classes: ChangeClass[] = ["regression", "fix", "change", "same"];
  const counts = classes.map((k) =>
    `${c.scenarios.filter((s) => s.classes.includes(k)).length} ${k}`
  );
  const both = c.scenarios.filter((s) => s.classes.length > 1).length;
  const n = c.scenarios.length;
  lines.push(
    "",
    `summary: ${counts.join(", ")} (${n} scenario${n === 1 ? "" : "s"}${
      both ? `; ${both} both a regression and a fix, counted in each` : ""
    })`,
  );
  return lines.join("\n") + "\n";
}
