/**
 * The race section of a report: for every scenario with threads, the
 * explorer's verdict per revision (always / sometimes / never), the counts
 * of schedules and states, the driver counters' maxima that measure a
 * trade-off (snapshot retries, invalidation stalls), and the shortest
 * counterexample of each `sometimes` with the command that replays it.
 *
 * @module
 */
import { applies } from "../run/matrix.ts";
import { explore, type ExploreResult } from "../explore/explorer.ts";
import type { Revision } from "../run/revision.ts";
import type { Scenario } from "../run/scenario.ts";
import type { KeyChange } from "../run/revision.ts";
import { blame } from "./blame.ts";
import { causeLines, textTable } from "./_format.ts";

/** Explorer results of every race scenario on every revision. */
export interface RaceTable {
  /** Ids of the scenarios explored (those with a `race` step), in order. */
  scenarios: string[];
  /** Ids of the revisions each was explored on, in order. */
  revisions: string[];
  /** One explorer result per scenario and revision, scenario-major. */
  results: ExploreResult[];
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
 * import { loadRevisionDir, loadScenarioDir } from "../../mod.ts";
 * import { exploreRaces } from "./races.ts";
 * const t = exploreRaces(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
 * console.log(t.results.length);
 * ```
 */
export function exploreRaces(
  scenarios: Scenario[],
  revisions: Revision[],
  opts: { onProgress?: (done: number, total: number) => void; timeout?: number } = {},
): RaceTable {
  const races = scenarios.filter((s) => s.steps.some((st) => st.threads));
  const revs = revisions.filter((r) => races.some((s) => applies(s, r)));
  const results: ExploreResult[] = [];
  const total = races.reduce((n, s) => n + revs.filter((r) => applies(s, r)).length, 0);
  for (const s of races) {
    for (const r of revs) {
      if (!applies(s, r)) continue;
      results.push(explore(s, r, { timeout: opts.timeout }));
      opts.onProgress?.(results.length, total);
    }
  }
  return { scenarios: races.map((s) => s.id), revisions: revs.map((r) => r.id), results };
}

/**
 * A race cell: "never", or each kind with its reach. An exploration that a
 * bound stopped is marked "(bounded)" (the run bound) or "(timeout)" (the
 * time bound), and its kinds are those of the schedules explored so far
 * ("none seen" when none reached one).
 *
 * @param r The explorer result.
 * @returns The cell text.
 *
 * @example
 * ```ts
 * import { raceCell } from "./races.ts";
 * import type { ExploreResult } from "../explore/explorer.ts";
 * const r = { status: "timeout", verdicts: { "use-after-free": "sometimes" } };
 * console.log(raceCell(r as unknown as ExploreResult)); // "use-after-free sometimes (timeout)"
 * ```
 */
export function raceCell(r: ExploreResult): string {
  const kinds = Object.entries(r.verdicts);
  const none = r.status === "complete" ? "never" : "none seen";
  const text = kinds.length ? kinds.map(([k, v]) => `${k} ${v}`).join(", ") : none;
  return r.status === "complete" ? text : `${text} (${r.status})`;
}

/** Driver counters whose maxima show the HMM trade-off. */
const TRADE_OFF = ["snapshot_retries", "snapshot_waits", "invalidation_stalls", "skipped_updates"];

/**
 * Renders the race section in plain-text Markdown.
 *
 * @param t The explorer results.
 * @returns Markdown lines.
 */
export function renderRaces(t: RaceTable): string[] {
  if (t.scenarios.length === 0) return [];
  const get = (s: string, r: string) =>
    t.results.find((x) => x.scenario === s && x.revision === r)!;
  const out = [
    "## Races (every schedule explored)",
    "",
    "Each cell is what the explorer found over every interleaving of the scenario's threads:",
    'a violation kind reached on "always" or "sometimes" the schedules, or "never".',
    'A cell marked "(timeout)" (the time bound, --timeout) or "(bounded)" (the run bound) holds',
    "what the schedules explored before that bound found; a timed-out cell's counts depend on the",
    "machine's speed.",
    "",
  ];
  for (const s of t.scenarios) {
    out.push(`### ${s}`, "");
    out.push(
      ...textTable(
        ["revision", "verdict", "schedules", "states", "maxima"],
        t.revisions.map((r) => {
          const x = get(s, r);
          const maxima = Object.entries(x.maxima)
            .filter(([k]) => TRADE_OFF.some((f) => k.endsWith(`.${f}`)) && x.maxima[k] > 0)
            .map(([k, v]) => `${k}=${v}`).join(" ");
          return [r, raceCell(x), String(x.schedules), String(x.states), maxima || "-"];
        }),
      ),
    );
    const shown = new Set<string>();
    for (const r of t.revisions) {
      for (const [kind, c] of Object.entries(get(s, r).counterexamples)) {
        if (get(s, r).verdicts[kind as keyof ExploreResult["verdicts"]] !== "sometimes") continue;
        if (shown.has(kind + r)) continue;
        shown.add(kind + r);
        out.push("", `${kind} on ${r}, shortest schedule: ${c!.replay}`);
      }
    }
    out.push("");
  }
  return out;
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
 * import { loadRevisionDir, loadScenarioDir } from "../../mod.ts";
 * import { compareRaces } from "./races.ts";
 * const revs = loadRevisionDir("patches");
 * const get = (id: string) => revs.find((r) => r.id === id)!;
 * console.log(compareRaces(loadScenarioDir("scenarios"), get("mmun-v3"), get("mmun-v3-rcu")).length);
 * ```
 */
export function compareRaces(
  scenarios: Scenario[],
  a: Revision,
  b: Revision,
  opts: { timeout?: number; blame?: boolean } = {},
): RaceChange[] {
  const out: RaceChange[] = [];
  const races = scenarios.filter((x) =>
    x.steps.some((st) => st.threads) && applies(x, a) && applies(x, b)
  );
  for (const s of races) {
    const x = explore(s, a, { timeout: opts.timeout });
    const y = explore(s, b, { timeout: opts.timeout });
    const complete = x.status === "complete" && y.status === "complete";
    if (complete && JSON.stringify(x.verdicts) === JSON.stringify(y.verdicts)) continue;
    const replays = Object.entries(y.counterexamples)
      .filter(([k]) => !(k in x.verdicts))
      .map(([, c]) => c!.replay);
    const change: RaceChange = { scenario: s.id, from: x.verdicts, to: y.verdicts, replays };
    if (x.status !== "complete") change.fromStatus = x.status;
    if (y.status !== "complete") change.toStatus = y.status;
    if (complete && opts.blame !== false) {
      const found = blame(s, a, b, { verdict: "explore", timeout: opts.timeout });
      change.causes = found.causes;
      change.alternatives = found.alternatives;
      change.alsoDiffer = found.alsoDiffer;
    }
    out.push(change);
  }
  return out;
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
