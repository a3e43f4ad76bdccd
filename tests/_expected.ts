/**
 * Pinned expectations: scenario x revision -> violation kinds (and some
 * return values), each with the seed text that justifies it. The library
 * reads them from `expectations/emmu.json` (2.6.24 scenarios) and
 * `expectations/nonlinear.json` (2.5.42 scenarios); see
 * `src/analysis/expect.ts`.
 *
 * @module
 */
import {
  type Expectation,
  expectationFor as lookup,
  type ExpectationTable,
  mismatch,
  shippedExpectations,
} from "../src/analysis/expect.ts";

export { type Expectation, type ExpectationTable, mismatch };

/** Loads the pinned table. */
export function loadExpectations(): ExpectationTable {
  return shippedExpectations();
}

/** The expectation for one cell: the revision's own entry, else the scenario's default. */
export function expectationFor(
  t: ExpectationTable,
  scenario: string,
  revision: string,
): Expectation {
  const e = lookup(t, scenario, revision);
  if (!e) throw new Error(`no pinned expectation for scenario ${scenario}`);
  return e;
}
