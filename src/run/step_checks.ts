/**
 * Checks of what a step asked for against what its run did: a `during.at`
 * scheduling point or a `fail` allocation that the step never reached is
 * an error in the scenario, not a pass. Whether a point is reached depends
 * on the revision's paths, so only a run can tell; the runner calls these
 * at the end of a step (any scheduling loop can call them the same way).
 *
 * @module
 */
import type { AllocKind } from "../kernel/context.ts";
import { ScenarioError } from "./errors.ts";
import type { Scenario } from "./scenario.ts";
import type { Revision } from "./revision.ts";

/** How many labels an error lists before it says how many more there were. */
const SHOWN = 12;

/**
 * Throws a {@link ScenarioError} when step `i` has a `during` whose `at` is
 * not among the scheduling points the step passed.
 *
 * @param scenario The scenario that ran.
 * @param revision The revision it ran on.
 * @param i The step, 0-based.
 * @param reached The labels of the scheduling points the step's threads passed.
 * @throws {ScenarioError} Naming `steps[i].during.at` and listing the labels that were reached.
 */
export function checkDuringReached(
  scenario: Scenario,
  revision: Revision,
  i: number,
  reached: ReadonlySet<string>,
): void {
  const during = scenario.steps[i].during;
  if (!during || reached.has(during.at)) return;
  const labels = [...reached];
  const shown = labels.slice(0, SHOWN).join(", ") +
    (labels.length > SHOWN ? `, and ${labels.length - SHOWN} more` : "");
  throw new ScenarioError(
    scenario.file,
    `steps[${i}].during.at`,
    `is "${during.at}", a scheduling point step ${i} never reached (${
      labels.length ? `it reached: ${shown}` : "it passed no scheduling point"
    })`,
    { revision: revision.id },
  );
}

/**
 * Throws a {@link ScenarioError} when step `i` lists a `fail` ordinal past
 * the allocations of that kind the step made.
 *
 * @param scenario The scenario that ran.
 * @param revision The revision it ran on.
 * @param i The step, 0-based.
 * @param made How many allocations of each kind the step made.
 * @throws {ScenarioError} Naming `steps[i].fail.<kind>[j]` and the count the step made.
 */
export function checkFailsReached(
  scenario: Scenario,
  revision: Revision,
  i: number,
  made: Partial<Record<AllocKind, number>>,
): void {
  for (const [kind, ordinals] of Object.entries(scenario.steps[i].fail)) {
    const n = made[kind as AllocKind] ?? 0;
    const j = ordinals.findIndex((x) => x > n);
    if (j < 0) continue;
    throw new ScenarioError(
      scenario.file,
      `steps[${i}].fail.${kind}[${j}]`,
      `is ${ordinals[j]}, an allocation step ${i} never reached (it made ${n} ${kind} allocation${
        n === 1 ? "" : "s"
      })`,
      { revision: revision.id },
    );
  }
}
