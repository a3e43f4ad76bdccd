/**
 * `release-count`: a notifier registered on an mm when it exits gets
 * `->release` exactly once. "Registered when it exits" is the list
 * `mmu_notifier_release()` reads (under its lock, where the revision takes
 * one), where the revision calls it: a notifier unregistered after the exit
 * began and before that is off the list, as it would be had it unregistered
 * before. Without a release call, it is the list when the exit began.
 *
 * @module
 */
import type { Checker } from "./checker.ts";
import { dict } from "../model/_dict.ts";
import { entry } from "./_memory.ts";

/** What {@link releaseCount} remembers. */
export interface ReleaseMemory {
  /** `->release` calls so far, by notifier (keys sorted). */
  releases: Record<string, number>;
  /**
   * Every mm exit, in order, with the notifiers registered on the mm when it
   * began, and then when its `mmu_notifier_release()` started (`released`).
   */
  exits: { step: number; mm: string; notifiers: string[]; released?: true }[];
}

/** The checker; it counts releases and keeps the exits, and compares them at the end. */
export const releaseCount: Checker<ReleaseMemory> = {
  kind: "release-count",
  doc: "every notifier registered on an exiting mm gets ->release exactly once",
  init: () => ({ releases: dict(), exits: [] }),
  observe(_ctx, o, { releases, exits }) {
    if (o.type === "release") {
      entry(releases, o.notifier, () => 0); // a new notifier's count goes in sorted place
      releases[o.notifier]++;
    }
    if (o.type === "mm-exit") exits.push({ step: o.step, mm: o.mm, notifiers: o.notifiers });
    if (o.type === "release-walk") {
      // The release of the mm's latest exit: the list as it reads it.
      const e = exits.findLast((x) => x.mm === o.mm && !x.released);
      if (e) {
        e.notifiers = [...o.notifiers];
        e.released = true;
      }
    }
  },
  atEnd(ctx, _lastStep, { releases, exits }) {
    for (const e of exits) {
      for (const id of e.notifiers) {
        const n = releases[id] ?? 0;
        if (n === 1) continue;
        ctx.report({
          kind: "release-count",
          step: e.step,
          where: e.mm,
          detail: `${id} got ->release ${n} times for the exit of ${e.mm}`,
          secondary: id,
        });
      }
    }
  },
};
