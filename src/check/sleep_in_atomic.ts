/**
 * `sleep-in-atomic`: a callout tells its callback that it may sleep while the
 * caller holds a spinlock, or a callback that sleeps runs in atomic context.
 *
 * @module
 */
import { toldMaySleep } from "../notifier/chain.ts";
import { describeCallout } from "../kernel/context.ts";
import type { Checker } from "./checker.ts";

/** The checker; it keeps nothing between observations. */
export const sleepInAtomic: Checker = {
  kind: "sleep-in-atomic",
  doc:
    "no callout says 'may sleep' (atomic=0, or an API that promises a sleepable context) while a spinlock is held; no sleeping callback runs in atomic context",
  observe(ctx, o) {
    if (o.type === "callout") {
      const ev = o.ev;
      const spin = ctx.kernel.holdsSpin(ev.thread);
      if (!spin || !toldMaySleep(ctx.config, ev)) return;
      const why = ev.atomic === 0 ? "passes atomic=0" : `promises ${ev.call} a sleepable context`;
      ctx.report({
        kind: "sleep-in-atomic",
        step: ev.step,
        where: ev.range ? describeCallout(ev) : ev.address?.toString(16) ?? "",
        detail: `${ev.path}:${ev.at} ${why} while holding ${ev.locks.join(", ")}`,
      });
    } else if (o.type === "secondary-callback" && o.sleeps && o.inAtomic) {
      ctx.report({
        kind: "sleep-in-atomic",
        step: o.step,
        where: o.call,
        detail: `${o.secondary} sleeps in ${o.call} while holding ${o.locks.join(", ")}`,
        secondary: o.secondary,
      });
    }
  },
};
