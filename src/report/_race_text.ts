/**
 * The race section as text: what renderers need, and nothing that runs.
 *
 * @module
 */
import type { ExploreResult } from "../explore/explorer.ts";
import type { RaceTable } from "./races.ts";
import { textTable } from "./_format.ts";

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
