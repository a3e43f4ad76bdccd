/**
 * A time bound that a long loop polls cheaply: the matrix polls one per
 * cell between steps, the explorer one per exploration between runs.
 *
 * It is kept apart from both so that any other loop (a different explorer,
 * a batch of replays) can take the same bound: create it when the work
 * starts, ask {@link Deadline.expired} between units of work, stop when it
 * says so and report what was done.
 *
 * @module
 */

/**
 * The time bound, in seconds, of one matrix cell and of one exploration when
 * none is given (the command line's `--timeout`). Every shipped scenario
 * runs in milliseconds and every shipped exploration in well under a second,
 * so only a scenario far larger than those ever reaches it; it is there so
 * that `report` never runs unbounded.
 */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** A time bound being polled. */
export interface Deadline {
  /** The bound, in seconds from creation (`Infinity` for none). */
  readonly seconds: number;
  /**
   * Whether the bound has passed. Reads the clock only on every `every`-th
   * call (see {@link DeadlineOptions}); once true, stays true.
   */
  expired(): boolean;
}

/** Options of {@link deadline}. */
export interface DeadlineOptions {
  /**
   * Read the clock on every n-th call of `expired()` only (default 1): a
   * loop whose units are very cheap polls often without paying for the
   * clock each time.
   */
  every?: number;
  /** The clock, in milliseconds (default `Date.now`); tests pass a fake one. */
  now?: () => number;
}

/**
 * Creates a deadline `seconds` from now.
 *
 * @param seconds The bound: a positive number of seconds, or `Infinity` for none.
 * @param opts How often to read the clock, and which clock.
 * @returns The deadline.
 * @throws {RangeError} When `seconds` is not a positive number.
 *
 * @example
 * ```ts
 * import { deadline } from "./deadline.ts";
 * let t = 0;
 * const d = deadline(2, { now: () => t });
 * console.log(d.expired()); // false
 * t = 2500;
 * console.log(d.expired()); // true
 * ```
 */
export function deadline(seconds: number, opts: DeadlineOptions = {}): Deadline {
  if (!(seconds > 0)) {
    throw new RangeError(`Invalid time bound: ${seconds} (expected a positive number of seconds)`);
  }
  const every = Math.max(1, Math.floor(opts.every ?? 1));
  const now = opts.now ?? Date.now;
  if (seconds === Infinity) return { seconds, expired: () => false };
  const end = now() + seconds * 1000;
  let countdown = every;
  let passed = false;
  return {
    seconds,
    expired() {
      if (passed) return true;
      if (--countdown > 0) return false;
      countdown = every;
      passed = now() >= end;
      return passed;
    },
  };
}
