/**
 * The driver-by-revision table: for each secondary MMU driver, which
 * revisions it can use safely, derived from scenario outcomes (every
 * scenario that attaches the driver, on the default schedule and, for race
 * scenarios, on every schedule). A violation counts against the driver of the
 * secondary it is about (its `secondary` field), or against every driver of
 * the scenario when it is about none (an unbalanced pair the kernel makes, a
 * promise of a sleepable context).
 *
 * @module
 */
import type { Violation } from "../check/checker.ts";
import type { Matrix } from "../run/matrix.ts";
import type { RaceTable } from "./races.ts";
import { textTable } from "./_format.ts";

/** One cell of the table: the violation kinds a driver meets on a revision, and where. */
export interface DriverCell {
  /** Driver name (kvm, gru, xpmem, hmm). */
  driver: string;
  /** Revision id. */
  revision: string;
  /** Violation kinds counted against the driver, sorted; empty when it is safe. */
  kinds: string[];
  /** Scenarios those kinds come from, sorted. */
  scenarios: string[];
}

/** The drivers a violation counts against. */
function driversOf(v: Violation, secondaries: { id: string; driver: string }[]): string[] {
  const named = secondaries.filter((s) => s.id === v.secondary);
  return [...new Set((named.length ? named : secondaries).map((s) => s.driver))];
}

/**
 * Builds the driver-by-revision table.
 *
 * @param matrix Outcomes of every scenario on every revision.
 * @param races Explorer results of the race scenarios, if explored.
 * @returns One cell per driver and revision, drivers sorted.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenarioDir } from "../run/scenario.ts";
 * import { runMatrix } from "../run/matrix.ts";
 * import { driverTable } from "./drivers.ts";
 * const emmu = loadRevisionDir("patches").filter((r) => r.lineage === "emmu");
 * const m = runMatrix(loadScenarioDir("scenarios"), emmu);
 * console.log(driverTable(m).filter((c) => c.kinds.length === 0).length);
 * ```
 */
export function driverTable(matrix: Matrix, races?: RaceTable): DriverCell[] {
  const drivers = [...new Set(matrix.scenarios.flatMap((s) => s.secondaries.map((x) => x.driver)))]
    .sort();
  const cells = new Map<string, { kinds: Set<string>; scenarios: Set<string> }>();
  const add = (driver: string, rev: string, kind: string, scenario: string) => {
    const key = `${driver}/${rev}`;
    const c = cells.get(key) ?? { kinds: new Set(), scenarios: new Set() };
    c.kinds.add(kind);
    c.scenarios.add(scenario);
    cells.set(key, c);
  };
  for (const o of matrix.cells) {
    const s = matrix.scenarios.find((x) => x.id === o.scenario)!;
    for (const v of o.violations) {
      for (const d of driversOf(v, s.secondaries)) add(d, o.revision, v.kind, o.scenario);
    }
  }
  for (const r of races?.results ?? []) {
    const s = matrix.scenarios.find((x) => x.id === r.scenario);
    if (!s) continue;
    for (const kind of Object.keys(r.verdicts)) {
      for (const d of [...new Set(s.secondaries.map((x) => x.driver))]) {
        add(d, r.revision, kind, r.scenario);
      }
    }
  }
  const out: DriverCell[] = [];
  for (const driver of drivers) {
    for (const rev of matrix.revisions) {
      const c = cells.get(`${driver}/${rev.id}`);
      out.push({
        driver,
        revision: rev.id,
        kinds: c ? [...c.kinds].sort() : [],
        scenarios: c ? [...c.scenarios].sort() : [],
      });
    }
  }
  return out;
}

/**
 * Renders the table in plain-text Markdown: a row per revision, a column per driver.
 *
 * @param cells The table.
 * @returns Markdown lines.
 */
export function renderDriverTable(cells: DriverCell[]): string[] {
  const drivers = [...new Set(cells.map((c) => c.driver))];
  const revisions = [...new Set(cells.map((c) => c.revision))];
  if (drivers.length === 0) return [];
  const get = (d: string, r: string) => cells.find((c) => c.driver === d && c.revision === r)!;
  return [
    "## Which revisions each secondary MMU can use safely",
    "",
    'Derived from the outcomes of every scenario that attaches the driver ("safe": none of them',
    "shows a violation counted against it, on any explored schedule); otherwise the kinds met.",
    "",
    ...textTable(
      ["revision", ...drivers],
      revisions.map((r) => [
        r,
        ...drivers.map((d) => get(d, r).kinds.length ? get(d, r).kinds.join(",") : "safe"),
      ]),
    ),
  ];
}
