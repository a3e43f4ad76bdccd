/**
 * Shards: a deterministic partition of a run's units, so that the machines
 * of a CI job matrix each run one slice and `merge` joins their results.
 *
 * @module
 */

/** One slice of a run: the `index`-th of `count` (1-based, as `--shard k/n` writes it). */
export interface Shard {
  /** Which slice, from 1 to {@link Shard.count}. */
  index: number;
  /** How many slices the run is split into. */
  count: number;
}

/**
 * Parses `k/n`: two positive whole numbers with `k <= n`.
 *
 * @param text The argument of `--shard`.
 * @returns The shard.
 * @throws {RangeError} When `text` is not of that form.
 *
 * @example
 * ```ts
 * import { parseShard } from "./shard.ts";
 * console.log(parseShard("2/3")); // { index: 2, count: 3 }
 * ```
 */
export function parseShard(text: string): Shard {
  const m = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(text);
  if (!m || Number(m[1]) > Number(m[2]) || !Number.isSafeInteger(Number(m[2]))) {
    throw new RangeError(
      `Shard "${text}" is not k/n with 1 <= k <= n (for example 1/4, the first of four)`,
    );
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}

/**
 * The units of a list that a shard runs: those whose 0-based index `i` has
 * `i % count == index - 1`. Dealt out in turn rather than cut in blocks, so
 * that a scenario's slow cells (its revisions sit next to one another in the
 * list) spread over every shard.
 *
 * @param length The length of the list.
 * @param shard The shard.
 * @returns The indexes of its units, in increasing order.
 *
 * @example
 * ```ts
 * import { shardIndexes } from "./shard.ts";
 * console.log(shardIndexes(7, { index: 2, count: 3 })); // [1, 4]
 * ```
 */
export function shardIndexes(length: number, shard: Shard): number[] {
  const out: number[] = [];
  for (let i = shard.index - 1; i < length; i += shard.count) out.push(i);
  return out;
}
