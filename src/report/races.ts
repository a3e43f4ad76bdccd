/**
 * The race section of a report: for every scenario with threads, the
 * explorer's verdict per revision (always / sometimes / never), the counts
 * of schedules and states, the driver counters' maxima that measure a
 * trade-off (snapshot retries, invalidation stalls), and the shortest
 * counterexample of each `sometimes` with the command that replays it.
 *
 * @module
 */
import { applies, type CellPair, matrixPairs } from "../run/matrix.ts";
import { explore, type ExploreResult } from "../explore/explorer.ts";
import type { Revision } from "../run/revision.ts";
import type { Scenario } from "../run/scenario.ts";
import type { KeyChange } from "../run/revision.ts";
import { blame } from "./blame.ts";
import { causeLines } from "./_format.ts";

export { raceCell, renderRaces } from "./_race_text.ts";

/** Explorer results of every race scenario on every revision. */
export interface RaceTable {
  /** Ids of the scenarios explored (those with a `race` step), in order. */
  scenarios: string[];
  /** Ids of the revisions each was explored on, in order. */
  revisions: string[];
  /** One explorer result per scenario and revision, scenario-major. */
  results: ExploreResult[];
}

/** The explorations of a race table, before they run. */
export interface RacePlan {
  /** The scenarios explored (those with a `race` or `during` step), in order. */
  scenarios: Scenario[];
  /** The revisions each is explored on (those of a race scenario's tree), in order. */
  revisions: Revision[];
  /** One pair per exploration, scenario-major: the order of {@link RaceTable.results}. */
  pairs: CellPair[];
}

/**
 * Lists the explorations of {@link exploreRaces}: every scenario that has a
 * `race` or `during` step on every revision of its kernel tree. A parallel
 * or sharded run indexes the explorations by this order.
 *
 * @param scenarios Loaded scenarios (those without threads are left out).
 * @param revisions Loaded revisions.
 * @returns The race scenarios, their revisions and the pairs, scenario-major.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { racePlan } from "./races.ts";
 * const plan = racePlan(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
 * console.log(plan.pairs.length);
 * ```
 */
export function racePlan(scenarios: Scenario[], revisions: Revision[]): RacePlan {
  const races = scenarios.filter((s) => s.steps.some((st) => st.threads));
  const revs = revisions.filter((r) => races.some((s) => applies(s, r)));
  return { scenarios: races, revisions: revs, pairs: matrixPairs(races, revs) };
}

/**
 * Assembles a race table from the results of a plan's explorations.
 *
 * @param plan The plan (see {@link racePlan}).
 * @param results One explorer result per pair of the plan, in its order.
 * @returns The table.
 * @throws {RangeError} When the results are not those of the plan's pairs.
 *
 * @example
 * ```ts
 * import { explore } from "../explore/explorer.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { racePlan, raceTable } from "./races.ts";
 * const revs = loadRevisionDir("patches").filter((r) => r.id === "emmu-v2");
 * const plan = racePlan(loadScenarioDir("scenarios"), revs);
 * const t = raceTable(plan, plan.pairs.map((p) => explore(p.scenario, p.revision)));
 * console.log(t.scenarios.length === t.results.length);
 * ```
 */
export function raceTable(plan: RacePlan, results: ExploreResult[]): RaceTable {
  if (
    results.length !== plan.pairs.length ||
    plan.pairs.some((p, i) =>
      results[i].scenario !== p.scenario.id || results[i].revision !== p.revision.id
    )
  ) {
    throw new RangeError("Race results do not match the plan's explorations");
  }
  return {
    scenarios: plan.scenarios.map((s) => s.id),
    revisions: plan.revisions.map((r) => r.id),
    results,
  };
}

/**
 * Explores every scenario that has a `race` or `during` step on every revision.
 *
 * @param scenarios Loaded scenarios (those without threads are skipped).
 * @param revisions Loaded revisions.
 * @param opts `onProgress`, called after each exploration with the number done and the total;
 * `timeout`, the time bound of each exploration in seconds (the explorer's default when absent).
 * @returns The explorer results, scenario-major.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { exploreRaces } from "./races.ts";
 * const races = loadScenarioDir("scenarios").filter((s) => s.id === "race-unregister-dispatch");
 * const mmun = loadRevisionDir("patches").filter((r) => r.lineage === "mmun");
 * const t = exploreRaces(races, mmun);
 * console.log(t.results.map((r) => `${r.revision}: ${r.status}`));
 * ```
 */
export function exploreRaces(
  scenarios: Scenario[],
  revisions: Revision[],
  opts: { onProgress?: (done: number, total: number) => void; timeout?: number } = {},
): RaceTable {
  const plan = racePlan(scenarios, revisions);
  const results: ExploreResult[] = [];
  for (const { scenario, revision } of plan.pairs) {
    results.push(explore(scenario, revision, { timeout: opts.timeout }));
    opts.onProgress?.(results.length, plan.pairs.length);
  }
  return raceTable(plan, results);
}

/** How one race scenario's explored verdicts differ between two revisions. */
export interface RaceChange {
  /** The scenario id. */
  scenario: string;
  /** Verdicts on the first revision (kind -> always/sometimes; absent kinds are never). */
  from: ExploreResult["verdicts"];
  /** Verdicts on the second revision. */
  to: ExploreResult["verdicts"];
  /** The shortest schedule reaching each kind that is new on the second revision. */
  replays: string[];
  /** Set when a bound stopped the exploration on the first revision: its verdicts are partial. */
  fromStatus?: "bounded" | "timeout";
  /** Set when a bound stopped the exploration on the second revision. */
  toStatus?: "bounded" | "timeout";
  /**
   * The smallest set of differing config keys found that alone turns the
   * first revision's explored verdicts into the second's (see `blame`, with
   * the explorer's verdict); empty when none does. Absent when a bound
   * stopped an exploration, or blame was not asked for.
   */
  causes?: KeyChange[];
  /** Present with {@link RaceChange.causes}: other keys that each do so alone as well. */
  alternatives?: KeyChange[];
  /** Present with {@link RaceChange.causes}: the other keys that differ. */
  alsoDiffer?: KeyChange[];
}

/**
 * Lists the explorations of {@link compareRaces}: each scenario with threads
 * that runs on both revisions, on `a` and then on `b`.
 *
 * @param scenarios Loaded scenarios (those without a `race` step are left out).
 * @param a The first revision.
 * @param b The second revision.
 * @returns The pairs, two per race scenario.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { compareRacePairs } from "./races.ts";
 * const revs = loadRevisionDir("patches");
 * const get = (id: string) => revs.find((r) => r.id === id)!;
 * console.log(compareRacePairs(loadScenarioDir("scenarios"), get("mmun-v3"), get("mmun-v3-rcu")).length);
 * ```
 */
export function compareRacePairs(scenarios: Scenario[], a: Revision, b: Revision): CellPair[] {
  return scenarios.filter((x) => x.steps.some((st) => st.threads) && applies(x, a) && applies(x, b))
    .flatMap((scenario) => [{ scenario, revision: a }, { scenario, revision: b }]);
}

/**
 * The race changes between two revisions, from the results of the
 * explorations {@link compareRacePairs} lists: the scenarios whose verdicts
 * differ, and those a bound stopped on either revision (whose verdicts are
 * partial, so that "same" is not claimed for them).
 *
 * @param results One explorer result per pair, in the order of {@link compareRacePairs}.
 * @returns The changes, in scenario order.
 *
 * @example
 * ```ts
 * import { explore } from "../explore/explorer.ts";
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { compareRacePairs, raceChanges } from "./races.ts";
 * const revs = loadRevisionDir("patches");
 * const get = (id: string) => revs.find((r) => r.id === id)!;
 * // The races on the notifier list, where #v3's RCU list differs.
 * const races = loadScenarioDir("scenarios").filter((s) => s.id.startsWith("race-unregister"));
 * const pairs = compareRacePairs(races, get("mmun-v3"), get("mmun-v3-rcu"));
 * console.log(raceChanges(pairs.map((p) => explore(p.scenario, p.revision))).length); // 1
 * ```
 */
export function raceChanges(results: ExploreResult[]): RaceChange[] {
  const out: RaceChange[] = [];
  for (let i = 0; i + 1 < results.length; i += 2) {
    const x = results[i];
    const y = results[i + 1];
    const complete = x.status === "complete" && y.status === "complete";
    if (complete && JSON.stringify(x.verdicts) === JSON.stringify(y.verdicts)) continue;
    const replays = Object.entries(y.counterexamples)
      .filter(([k]) => !(k in x.verdicts))
      .map(([, c]) => c!.replay);
    const change: RaceChange = { scenario: x.scenario, from: x.verdicts, to: y.verdicts, replays };
    if (x.status !== "complete") change.fromStatus = x.status;
    if (y.status !== "complete") change.toStatus = y.status;
    out.push(change);
  }
  return out;
}

/**
 * Explores every race scenario on two revisions and keeps those whose
 * verdicts differ, and those a bound stopped on either revision (whose
 * verdicts are partial, so that "same" is not claimed for them). Each
 * complete change names the config keys that cause it (see `blame`), unless
 * `opts.blame` is false.
 *
 * @param scenarios Loaded scenarios (those without a `race` step are skipped).
 * @param a The first revision.
 * @param b The second revision.
 * @param opts `timeout`, the time bound of each exploration in seconds (the explorer's default
 * when absent); `blame`, whether to search the causes (default true).
 * @returns The scenarios whose explored verdicts differ, in scenario order.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { compareRaces } from "./races.ts";
 * const revs = loadRevisionDir("patches");
 * const get = (id: string) => revs.find((r) => r.id === id)!;
 * // The races on the notifier list, where #v3's RCU list differs.
 * const races = loadScenarioDir("scenarios").filter((s) => s.id.startsWith("race-unregister"));
 * console.log(compareRaces(races, get("mmun-v3"), get("mmun-v3-rcu")).length); // 1
 * ```
 */
export function compareRaces(
  scenarios: Scenario[],
  a: Revision,
  b: Revision,
  opts: { timeout?: number; blame?: boolean } = {},
): RaceChange[] {
  const changes = raceChanges(
    compareRacePairs(scenarios, a, b).map((p) =>
      explore(p.scenario, p.revision, { timeout: opts.timeout })
    ),
  );
  if (opts.blame !== false) addRaceCauses(changes, scenarios, a, b, opts.timeout);
  return changes;
}

/**
 * Names, for each complete race change, the config keys that cause it (see
 * `blame`, with the explorer's verdict), in place.
 *
 * @param changes Race changes between `a` and `b` (see {@link raceChanges}).
 * @param scenarios The scenarios they come from.
 * @param a The first revision.
 * @param b The second revision.
 * @param timeout The time bound of each exploration blame makes, in seconds.
 */
export function addRaceCauses(
  changes: RaceChange[],
  scenarios: Scenario[],
  a: Revision,
  b: Revision,
  timeout?: number,
): void {
  for (const change of changes) {
    if (change.fromStatus || change.toStatus) continue;
    const s = scenarios.find((x) => x.id === change.scenario)!;
    // Both explorations are complete: their verdicts need not be explored again.
    const known = {
      from: { status: "complete" as const, verdicts: change.from },
      to: { status: "complete" as const, verdicts: change.to },
    };
    const found = blame(s, a, b, { verdict: "explore", timeout, known });
    change.causes = found.causes;
    change.alternatives = found.alternatives;
    change.alsoDiffer = found.alsoDiffer;
  }
}

/**
 * The lines that say what causes a race change (see {@link compareRaces}):
 * "caused by", the keys that each do so alone as well, and how many other
 * keys differ; none when the causes were not searched.
 *
 * @param r The race change.
 * @param from The first revision's id.
 * @param to The second revision's id.
 * @param indent Prefix of every line.
 * @returns The lines.
 */
export function raceCauseLines(r: RaceChange, from: string, to: string, indent = ""): string[] {
  if (!r.causes) return [];
  const count = r.causes.length + (r.alternatives?.length ?? 0) + (r.alsoDiffer?.length ?? 0);
  return causeLines({ ...r, from, to, relevant: [] }, count, { indent, countOthers: true });
}

/** One line per verdict map: "use-after-free sometimes, ..." or "never". */
export function verdictsText(v: ExploreResult["verdicts"]): string {
  const e = Object.entries(v);
  return e.length ? e.map(([k, r]) => `${k} ${r}`).join(", ") : "never";
}
