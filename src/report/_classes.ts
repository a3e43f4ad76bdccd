/**
 * Classes of change, as data the renderers read without the diff itself.
 *
 * @module
 */
import type { ScenarioChange } from "./diff.ts";

/**
 * Whether a change is a verdict change: a regression or a fix.
 *
 * @param c The change.
 * @returns True when violation kinds appear or disappear.
 */
export function isVerdictChange(c: Pick<ScenarioChange, "classes">): boolean {
  return c.classes.includes("regression") || c.classes.includes("fix");
}
