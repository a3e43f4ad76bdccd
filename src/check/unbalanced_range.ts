/**
 * `unbalanced-range`: an end without a begin, a begin without an end by the
 * time the operation returns, or an end whose range differs from its begin.
 * Pairing is checked for the calls the kernel makes and, when those pair up,
 * for the calls each notifier receives (a notifier registered or removed
 * between a begin and its end sees only half of the pair).
 *
 * @module
 */
import type { CalloutEvent } from "../kernel/context.ts";
import { hexRange } from "../model/state.ts";
import type { CheckContext, Checker } from "./checker.ts";

/** The pseudo-listener that stands for the kernel's own calls. */
const KERNEL = "*";

/** Creates the checker; it keeps the open begins of each thread, mm and listener. */
export function unbalancedRange(): Checker {
  const open: Record<string, CalloutEvent[]> = {};
  const where = (ev: CalloutEvent) => (ev.range ? hexRange(ev.range) : "(no range)");
  const stack = (ev: CalloutEvent, who: string) => open[`${ev.thread}/${ev.mm}/${who}`] ??= [];
  return {
    kind: "unbalanced-range",
    doc:
      "every invalidate_range_end matches an earlier begin of the same thread and mm, with the same range, before the operation returns; every notifier gets both halves",
    observe(ctx: CheckContext, o) {
      if (o.type === "release") {
        // ->release tells the notifier to drop everything: its open begins are closed.
        for (const key of Object.keys(open)) if (key.endsWith(`/${o.notifier}`)) delete open[key];
        return;
      }
      if (o.type !== "callout") return;
      const ev = o.ev;
      if (ev.kind === "begin") {
        for (const who of [KERNEL, ...o.listeners]) stack(ev, who).push(ev);
        return;
      }
      if (ev.kind !== "end") return;
      const begin = stack(ev, KERNEL).pop();
      if (!begin) {
        for (const who of o.listeners) stack(ev, who).pop();
        ctx.report({
          kind: "unbalanced-range",
          step: ev.step,
          where: where(ev),
          detail:
            `${ev.path}:${ev.at} calls ${ev.call} with no open invalidate_range_begin in ${ev.mm}`,
        });
        return;
      }
      if (ev.range && begin.range && hexRange(ev.range) !== hexRange(begin.range)) {
        ctx.report({
          kind: "unbalanced-range",
          step: ev.step,
          where: where(ev),
          detail: `${ev.path}:${ev.at} ends ${where(ev)} but ${begin.path}:${begin.at} began ${
            where(begin)
          }`,
        });
      }
      for (const who of o.listeners) {
        if (stack(ev, who).pop()) continue;
        ctx.report({
          kind: "unbalanced-range",
          step: ev.step,
          where: where(ev),
          detail:
            `${who} receives ${ev.call} from ${ev.path}:${ev.at} without the begin (it was not on the list then)`,
        });
      }
    },
    snapshot() {
      return Object.keys(open).sort().map((
        k,
      ) => [k, open[k].map((e) => `${e.path}:${e.at}:${where(e)}`)]);
    },
    afterStep(ctx, step) {
      for (const key of Object.keys(open).sort()) {
        const who = key.split("/")[2];
        for (const begin of open[key]) {
          const kernelOpen = who === KERNEL;
          const kernelKey = key.replace(/\/[^/]*$/, `/${KERNEL}`);
          if (!kernelOpen && (open[kernelKey]?.length ?? 0) > 0) continue;
          ctx.report({
            kind: "unbalanced-range",
            step,
            where: where(begin),
            detail: kernelOpen
              ? `${begin.path}:${begin.at} began ${
                where(begin)
              } in ${begin.mm} and the operation returned without an end`
              : `${who} received the begin from ${begin.path}:${begin.at} but never the end`,
          });
        }
      }
      for (const key of Object.keys(open)) delete open[key];
    },
  };
}
