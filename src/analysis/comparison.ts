/**
 * The model of `compare`: two revisions' comparison over every scenario,
 * built once, with the check against a baseline (one of the two) and the
 * changes of the race scenarios explored on both; the command line renders
 * it as text or JSON.
 *
 * @module
 */
import type { Matrix } from "../run/matrix.ts";
import type { ExploreResult } from "../explore/explorer.ts";
import {
  type BaselineCheck,
  checkBaseline,
  compareRevisions,
  type Comparison,
  revisionOf,
} from "../report/diff.ts";
import { addRaceCauses, type RaceChange, raceChanges } from "../report/races.ts";

/** What {@link analyseComparison} returns. */
export interface ComparisonModel {
  /** The comparison of the two revisions, with the causes of each verdict change. */
  comparison: Comparison;
  /** The other revision checked against the baseline, when one was named. */
  baseline?: BaselineCheck;
  /** The race scenarios whose explored verdicts differ, when they were explored. */
  races?: RaceChange[];
}

/** Options of {@link analyseComparison}. */
export interface ComparisonOptions {
  /** The baseline: one of the two revisions; the other is checked against it. */
  baseline?: string;
  /** Explorer results of the race scenarios on both revisions (see `compareRacePairs`). */
  explorations?: ExploreResult[];
  /** The time bound of each run of the blame search, in seconds. */
  timeout?: number;
  /** Search the keys that cause each change (default true). */
  blame?: boolean;
}

/**
 * Compares revision `a` with revision `b` on every scenario of a matrix,
 * checks the other against the baseline, and names the race changes.
 *
 * @param matrix A matrix holding both revisions.
 * @param a The earlier (or baseline) revision id.
 * @param b The later revision id.
 * @param opts The baseline, the explorer results and the blame search.
 * @returns The comparison model.
 * @throws {RangeError} When a revision is missing or the two are of different kernel trees.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { analyseComparison } from "./comparison.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "hmm");
 * const m = runMatrix(loadScenarioDir("scenarios"), revs);
 * const c = analyseComparison(m, "hmm-sequence-retry", "hmm-range-lock", { baseline: "hmm-sequence-retry" });
 * console.log(c.baseline?.checked); // ["hmm-range-lock"]
 * ```
 */
export function analyseComparison(
  matrix: Matrix,
  a: string,
  b: string,
  opts: ComparisonOptions = {},
): ComparisonModel {
  const comparison = compareRevisions(matrix, a, b, opts);
  const out: ComparisonModel = { comparison };
  if (opts.baseline !== undefined) {
    const other = opts.baseline === a ? b : a;
    out.baseline = checkBaseline(matrix, opts.baseline, [other].filter((x) => x !== opts.baseline));
  }
  if (opts.explorations) {
    out.races = raceChanges(opts.explorations);
    if (opts.blame !== false) {
      addRaceCauses(
        out.races,
        matrix.scenarios,
        revisionOf(matrix, a),
        revisionOf(matrix, b),
        opts.timeout,
      );
    }
  }
  return out;
}
