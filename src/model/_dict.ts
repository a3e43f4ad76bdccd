/**
 * Maps keyed by names a scenario chooses (mm, file, secondary and thread
 * names).
 *
 * @module
 */

/**
 * An empty object without a prototype, for a map keyed by user-chosen
 * names: a name such as `constructor` or `toString` is then an ordinary
 * key, absent until set, instead of reading `Object.prototype`'s member.
 * It serialises like any object.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null);
}
