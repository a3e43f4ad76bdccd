/**
 * `unbalanced-range`: an end without a begin, a begin without an end by the
 * time the operation returns, or an end whose range differs from its begin.
 *
 * @module
 */
import type { CalloutEvent } from "../kernel/context.ts";
import { hexRange } from "../model/state.ts";
import type { CheckContext, Checker } from "./checker.ts";

/** Creates the checker; it keeps the open begins of each thread and mm. */
export function unbalancedRange(): Checker {
  const open: Record<string, CalloutEvent[]> = {};
  const where = (ev: CalloutEvent) => (ev.range ? hexRange(ev.range) : "(no range)");
  return {
    kind: "unbalanced-range",
    doc:
      "every invalidate_range_end matches an earlier begin of the same thread and mm, with the same range, before the operation returns",
    observe(ctx: CheckContext, o) {
      if (o.type !== "callout") return;
      const ev = o.ev;
      const key = `${ev.thread}/${ev.mm}`;
      const stack = open[key] ?? (open[key] = []);
      if (ev.kind === "begin") stack.push(ev);
      if (ev.kind !== "end") return;
      const begin = stack.pop();
      if (!begin) {
        ctx.report({
          kind: "unbalanced-range",
          step: ev.step,
          where: where(ev),
          detail:
            `${ev.path}:${ev.at} calls ${ev.call} with no open invalidate_range_begin in ${ev.mm}`,
        });
      } else if (ev.range && begin.range && hexRange(ev.range) !== hexRange(begin.range)) {
        ctx.report({
          kind: "unbalanced-range",
          step: ev.step,
          where: where(ev),
          detail: `${ev.path}:${ev.at} ends ${where(ev)} but ${begin.path}:${begin.at} began ${
            where(begin)
          }`,
        });
      }
    },
    snapshot() {
      return Object.keys(open).sort().map((k) => [k, open[k].map((e) => `${e.path}:${e.at}:${where(e)}`)]);
    },
    afterStep(ctx, step) {
      for (const key of Object.keys(open).sort()) {
        for (const begin of open[key]) {
          ctx.report({
            kind: "unbalanced-range",
            step,
            where: where(begin),
            detail: `${begin.path}:${begin.at} began ${
              where(begin)
            } in ${begin.mm} and the operation returned without an end`,
          });
        }
        delete open[key];
      }
    },
  };
}
