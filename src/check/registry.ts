/**
 * The registered checkers, by violation name.
 *
 * @module
 */
import type { Checker } from "./checker.ts";
import { unbalancedRange } from "./unbalanced_range.ts";
import { staleSecondary } from "./stale_secondary.ts";
import { lostWrite } from "./lost_write.ts";
import { useAfterFree } from "./use_after_free.ts";
import { sleepInAtomic } from "./sleep_in_atomic.ts";
import { pageLeak } from "./page_leak.ts";
import { releaseCount } from "./release_count.ts";
import { noProgress } from "./no_progress.ts";
import { listCorruption } from "./list_corruption.ts";
import { errnoCheck } from "./errno.ts";
import { wrongPage } from "./wrong_page.ts";
import { pteOutsideVma } from "./pte_outside_vma.ts";

/**
 * The registered checkers, in the order they see each observation and
 * report. They are stateless definitions (module-level constants); a run
 * owns their memory, one slot per checker in this order, and passes it to
 * every call: `memory = checkers.map((c) => c.init?.())`, then
 * `c.observe?.(ctx, o, memory[i])`, `c.afterStep?.(ctx, step, memory[i])`
 * and `c.atEnd?.(ctx, lastStep, memory[i])`. Copying a run copies its memory;
 * the definitions are shared by every run.
 *
 * @returns A new array of the definitions (the same objects on every call).
 *
 * @example
 * ```ts
 * import { createCheckers } from "./registry.ts";
 * const checkers = createCheckers();
 * const memory = checkers.map((c) => c.init?.());
 * console.log(checkers[0].kind, memory.length); // "unbalanced-range" 12
 * ```
 */
export function createCheckers(): Checker[] {
  return [
    unbalancedRange,
    staleSecondary,
    lostWrite,
    useAfterFree,
    sleepInAtomic,
    pageLeak,
    releaseCount,
    noProgress,
    listCorruption,
    wrongPage,
    pteOutsideVma,
    errnoCheck,
  ];
}
