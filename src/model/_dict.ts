/**
 * Maps keyed by names a scenario chooses (mm, file, secondary and thread
 * names).
 *
 * @module
 */

/**
 * The prototype of every {@link dict}: an empty object without a
 * prototype, frozen. A dict inherits nothing from it, as if it had no
 * prototype; unlike an object without one, which V8 keeps as a hash table,
 * it is an ordinary object with a shape, which the explorer copies and
 * hashes at every choice point at the speed of any record.
 */
export const DICT_PROTO: object = Object.freeze(Object.create(null));

/**
 * An empty object that inherits nothing, for a map keyed by user-chosen
 * names: a name such as `constructor` or `toString` is then an ordinary
 * key, absent until set, instead of reading `Object.prototype`'s member.
 * It serialises like any object.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(DICT_PROTO);
}
