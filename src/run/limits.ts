/**
 * The bounds on input: how large a scenario or revision file may be, and
 * what its ids may look like. Every bound is checked when the file is
 * loaded, and a file past one is refused with a message naming the field
 * and the bound, so a typo such as `"pages": 4294967296` fails at once
 * rather than exhausting memory or running for hours.
 *
 * The bounds sit well above what the shipped scenarios and the generated
 * cost scenarios use (at most 14 steps, 2 threads of 3 operations, 8192
 * pages in one mapping, 641 generated steps), and low enough that the
 * largest scenario they admit runs in seconds: a run's work grows with its
 * operations times the pages mapped, which `operations` and `totalPages`
 * bound together (1024 operations over 65536 mapped pages take about ten
 * seconds).
 *
 * @module
 */

/**
 * The input bounds, in one place. The README's "Limits" section lists them.
 *
 * @example
 * ```ts
 * import { LIMITS } from "./limits.ts";
 * console.log(`a file or an operation covers at most ${LIMITS.pages} pages`);
 * ```
 */
export const LIMITS = {
  /** Bytes of a scenario or revision file (the shipped ones are under 16 KiB). */
  fileBytes: 1 << 20,
  /** Nesting depth of a file's JSON: objects and arrays inside one another. */
  depth: 32,
  /** Operations of a scenario: each step, and each operation of a race thread or a during. */
  operations: 1024,
  /** Pages of a file, and pages one operation covers (`len` of a mapping or range). */
  pages: 1 << 14,
  /**
   * Pages a scenario's operations cover together (each `len`, and every page
   * a fork copies), with the pages its files have cached at the start.
   */
  totalPages: 1 << 16,
  /** Threads of one `race` step. */
  threads: 8,
  /** Operations of one `race` thread. */
  opsPerThread: 512,
  /** Files, and secondaries, a scenario declares (each). */
  declared: 64,
  /** The largest allocation ordinal a `fail` names. */
  failOrdinal: 1 << 20,
  /** Allocation ordinals a `fail` lists per kind. */
  fails: 64,
  /** Characters of an id: an mm, file, secondary or thread name. */
  idLength: 64,
} as const;

/**
 * What an id (an mm, file, secondary or thread name) looks like: a letter
 * or digit, then letters, digits, `_`, `.` and `-`. Commas, colons, `=`
 * and `;` separate ids in `--schedule`, lock names and race results, so
 * they cannot be part of one; a leading underscore keeps out `__proto__`
 * and its kin, which JavaScript objects treat specially. Names such as
 * `constructor` or `toString` are ordinary ids.
 *
 * @example
 * ```ts
 * import { ID_PATTERN } from "./limits.ts";
 * console.log(ID_PATTERN.test("cpu0"), ID_PATTERN.test("__proto__"));
 * ```
 */
export const ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
