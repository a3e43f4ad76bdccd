/**
 * Reuse across revisions: a computation on a scenario and a revision (the
 * explorer's, see `explore/explorer.ts`) whose runs read the revision through a
 * recording view ({@link ReadRecorder}) is kept with what they read; the
 * same computation on a revision that answers every one of those reads the
 * same way would read the same values in the same order, run the same steps
 * and give the same result, so it takes the kept one, renamed for its own
 * revision (its id, hash, reproducers).
 *
 * The revisions of a lineage mostly differ in paths that a given scenario
 * never runs: the report takes 72 of its 187 explorations this way.
 * Nothing declares what a run reads, so no read can be left out.
 *
 * @module
 */
import type { Revision } from "./revision.ts";
import type { Scenario } from "./scenario.ts";
import { type ReadLog, ReadRecorder, satisfies } from "./_reads.ts";

/** One kind of computation to reuse. */
export interface Reusable<T> {
  /** What, besides scenario and revision, decides the result (the kind and its options), as a string. */
  key: string;
  /**
   * The computation; its runs read the revision only through `input`, the
   * view `reads` logs (the explorer numbers the view's objects as the
   * revision's own).
   */
  compute(input: Revision, reads: ReadRecorder<Revision>): T;
  /** A kept result as the computation on `revision` gives it (a copy: the kept one is not changed). */
  rename(kept: T, revision: Revision): T;
  /** Whether a result may be kept (a result cut short by a time bound may not). */
  keep(result: T): boolean;
}

interface Kept {
  key: string;
  reads: ReadLog;
  value: unknown;
}

/** Results kept for reuse, by scenario object. */
const KEPT = new WeakMap<Scenario, Kept[]>();

/** The results {@link reuse} took from a kept one rather than computed. */
const TAKEN = new WeakSet<object>();

/**
 * Whether `result` is one that {@link reuse} took from a kept result
 * (renamed) rather than computed.
 *
 * @param result A result `reuse()` returned.
 * @returns True for a kept result, false for a computed one.
 *
 * @example
 * ```ts
 * import { explore, loadRevisionDir, loadScenario } from "../../mod.ts";
 * import { reused } from "./reuse.ts";
 * const s = loadScenario("scenarios/race-unregister-dispatch.json");
 * const revs = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * console.log(revs.map((r) => `${r.id} ${reused(explore(s, r)) ? "reused" : "explored"}`));
 * ```
 */
export function reused(result: unknown): boolean {
  return typeof result === "object" && result !== null && TAKEN.has(result);
}

/**
 * The result of `what` on `scenario` and `revision`: a kept result whose
 * reads `revision` answers the same way, renamed, or the result of running
 * the computation (kept for later when `what.keep` allows).
 *
 * @param scenario The scenario (results are kept with this object).
 * @param revision The revision.
 * @param what The computation.
 * @returns Its result.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario, Run } from "../../mod.ts";
 * import { reuse } from "./reuse.ts";
 * const s = loadScenario("scenarios/wp-reuse-after-fork.json");
 * const kinds = {
 *   key: "kinds",
 *   compute: (input: typeof revs[number]) => {
 *     const run = new Run(s, input, { trace: false });
 *     run.complete();
 *     return run.kinds();
 *   },
 *   rename: (kept: string[]) => [...kept],
 *   keep: () => true,
 * };
 * const revs = loadRevisionDir("patches").filter((r) => r.base === s.kernel);
 * for (const r of revs) console.log(r.id, reuse(s, r, kinds));
 * ```
 */
export function reuse<T>(scenario: Scenario, revision: Revision, what: Reusable<T>): T {
  let kept = KEPT.get(scenario);
  const hit = kept?.find((k) => k.key === what.key && satisfies(k.reads, revision));
  if (hit) {
    const taken = what.rename(hit.value as T, revision);
    if (typeof taken === "object" && taken !== null) TAKEN.add(taken);
    return taken;
  }
  const reads = new ReadRecorder(revision);
  const result = what.compute(reads.root, reads);
  if (what.keep(result)) {
    if (!kept) KEPT.set(scenario, kept = []);
    kept.push({ key: what.key, reads: reads.log(), value: structuredClone(result) });
  }
  return result;
}
