/**
 * Trace diff: the callouts two outcomes of one scenario share, and those
 * only one of them makes, as a line diff of their traces (a longest common
 * subsequence, so a callout moved or added shows as one line).
 *
 * @module
 */
import type { TraceEntry } from "../run/outcome.ts";
import { traceLine } from "./_format.ts";

/** One line of a trace diff. */
export interface TraceDiffLine {
  /** `same` (in both traces), `removed` (only in the first), `added` (only in the second). */
  op: "same" | "removed" | "added";
  /** The callout, formatted on one line. */
  line: string;
  /** Its index in the first trace (`same` and `removed` lines). */
  from?: number;
  /** Its index in the second trace (`same` and `added` lines). */
  to?: number;
}

/**
 * Diffs two callout traces line by line. Among diffs of equal length, a
 * removal comes before an addition at the same place.
 *
 * @param a The trace on the earlier (or neighbouring) revision.
 * @param b The trace on the revision looked at.
 * @returns The diff, in trace order.
 *
 * @example
 * ```ts
 * import { diffTraces } from "./trace_diff.ts";
 * import type { TraceEntry } from "../run/outcome.ts";
 * const t = (call: string): TraceEntry => ({
 *   step: 1, thread: "cpu0", path: "do_wp_page", at: "unlock", call, mm: "A",
 *   atomic: 0, locks: [], inAtomic: false, listeners: ["kvm0"],
 * });
 * const d = diffTraces([t("invalidate_range_end")], [t("invalidate_page")]);
 * console.log(d.map((x) => x.op)); // ["removed", "added"]
 * ```
 */
export function diffTraces(a: TraceEntry[], b: TraceEntry[]): TraceDiffLine[] {
  const x = a.map(traceLine);
  const y = b.map(traceLine);
  // lcs[i][j]: length of the longest common subsequence of x[i..] and y[j..].
  const lcs = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: TraceDiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      out.push({ op: "same", line: x[i], from: i, to: j });
      i++;
      j++;
    } else if (i < x.length && (j >= y.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ op: "removed", line: x[i], from: i });
      i++;
    } else {
      out.push({ op: "added", line: y[j], to: j });
      j++;
    }
  }
  return out;
}
