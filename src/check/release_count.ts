/**
 * `release-count`: a notifier registered on an mm when it exits gets
 * `->release` exactly once.
 *
 * @module
 */
import type { Checker } from "./checker.ts";
import { dict } from "../model/_dict.ts";

/** Creates the checker. */
export function releaseCount(): Checker {
  const releases: Record<string, number> = dict();
  const exits: { step: number; mm: string; notifiers: string[] }[] = [];
  return {
    kind: "release-count",
    doc: "every notifier registered on an exiting mm gets ->release exactly once",
    observe(_ctx, o) {
      if (o.type === "release") releases[o.notifier] = (releases[o.notifier] ?? 0) + 1;
      if (o.type === "mm-exit") exits.push({ step: o.step, mm: o.mm, notifiers: o.notifiers });
    },
    snapshot() {
      return { releases, exits };
    },
    atEnd(ctx) {
      for (const e of exits) {
        for (const id of e.notifiers) {
          const n = releases[id] ?? 0;
          if (n === 1) continue;
          ctx.report({
            kind: "release-count",
            step: e.step,
            where: e.mm,
            detail: `${id} got ->release ${n} times for the exit of ${e.mm}`,
          });
        }
      }
    },
  };
}
