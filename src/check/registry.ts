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

/** Returns a fresh instance of every registered checker. */
export function createCheckers(): Checker[] {
  return [
    unbalancedRange(),
    staleSecondary(),
    lostWrite(),
    useAfterFree(),
    sleepInAtomic(),
    pageLeak(),
    releaseCount(),
    noProgress(),
    listCorruption(),
    wrongPage(),
    pteOutsideVma(),
    errnoCheck(),
  ];
}
