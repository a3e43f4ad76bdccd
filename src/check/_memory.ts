/**
 * Helpers for checkers' memory (the `M` of `Checker` in `checker.ts`): plain
 * data whose iteration order depends only on its contents, so that two runs
 * whose checkers remember the same things encode the same for the explorer.
 *
 * @module
 */

/**
 * The entry `key` of `rec`, created with `make()` when absent. A new key is
 * put in sorted place (the later keys are moved after it), so the order of
 * `Object.keys(rec)` never depends on the order the keys were added in.
 *
 * @param rec The record (part of a checker's memory).
 * @param key The key wanted.
 * @param make Creates the entry when `rec` has none.
 * @returns The entry, old or new.
 *
 * @example
 * ```ts
 * import { entry } from "./_memory.ts";
 * const rec: Record<string, number[]> = {};
 * entry(rec, "b", () => []).push(2);
 * entry(rec, "a", () => []).push(1);
 * console.log(Object.keys(rec)); // ["a", "b"]
 * ```
 */
export function entry<T>(rec: Record<string, T>, key: string, make: () => NoInfer<T>): T {
  if (Object.hasOwn(rec, key)) return rec[key];
  const value = make();
  const later = Object.keys(rec).filter((k) => k > key);
  const moved = later.map((k) => rec[k]);
  for (const k of later) delete rec[k];
  rec[key] = value;
  later.forEach((k, i) => rec[k] = moved[i]);
  return value;
}
