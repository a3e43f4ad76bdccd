/**
 * `no-progress`: a thread retries for ever (bounded) or waits for a lock
 * that can never be released (deadlock).
 *
 * @module
 */
import type { Checker } from "./checker.ts";

/** The checker; it keeps nothing between observations. */
export const noProgress: Checker = {
  kind: "no-progress",
  doc: "every thread of an operation finishes within the retry bound, with no deadlock",
  observe(ctx, o) {
    if (o.type !== "no-progress") return;
    ctx.report({
      kind: "no-progress",
      step: o.step,
      where: o.thread,
      detail: o.what,
      ...(o.secondary === undefined ? {} : { secondary: o.secondary }),
    });
  },
};
