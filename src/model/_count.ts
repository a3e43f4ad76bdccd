/**
 * Counts: a field that a step adds to without reading it (`rss.anon++`,
 * `counters.faults++`, a shared lock's holder count). Two additions to one
 * field commute whatever else the two steps do, so the explorer's
 * partial-order reduction (`explore/_footprint.ts`) records one as an
 * access of its own kind, independent of other additions and dependent on
 * every read or write of the field. That is sound by construction: {@link
 * addTo} returns nothing, so no step can act on the value it adds to; a
 * step that reads the field (`if (--o.count === 0)`) reads it as any other
 * field, and is dependent on every addition.
 *
 * @module
 */

/** The keys of `T` whose values are numbers. */
type Numeric<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];

/**
 * How a recording view adds (`explore/_footprint.ts`), by view object
 * (empty outside a recorded step).
 */
export const ADDERS: WeakMap<object, (key: string, n: number) => void> = new WeakMap();

/**
 * Adds `n` to field `key` of `o` (`o[key] += n`), reading nothing a step could act on.
 *
 * @example
 * ```ts
 * import { addTo } from "./_count.ts";
 * const rss = { anon: 1, file: 0 };
 * addTo(rss, "anon", 1);
 * console.log(rss.anon); // 2
 * ```
 */
export function addTo<T extends object>(o: T, key: Numeric<T> & string, n: number): void {
  const adder = ADDERS.get(o);
  if (adder) adder(key, n);
  else (o as Record<string, number>)[key] += n;
}
