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
import type { Checker } from "./checker.ts";
import { entry } from "./_memory.ts";

/** The pseudo-listener that stands for the kernel's own calls. */
const KERNEL = "*";

/** What the checker keeps of an open begin: what its reports name (not the whole event). */
export interface Begin {
  /** The kernel function that made the begin. */
  path: string;
  /** Its hook point. */
  at: string;
  /** The mm passed. */
  mm: string;
  /** The `[start, end)` passed, if any (a copy). */
  range?: [number, number];
}

/** What the checker remembers: the open begins, by `thread/mm/listener` (keys sorted). */
export type Open = Record<string, Begin[]>;

/** The range of a callout or a begin, as the reports show it. */
function where(ev: Begin): string {
  return ev.range ? hexRange(ev.range) : "(no range)";
}

/** A fresh record of a begin (shares nothing with the event or another stack). */
function beginOf(ev: CalloutEvent): Begin {
  return { path: ev.path, at: ev.at, mm: ev.mm, range: ev.range && [ev.range[0], ev.range[1]] };
}

/** The open begins of `ev`'s thread and mm as `who` sees them (created empty). */
function stack(open: Open, ev: CalloutEvent, who: string): Begin[] {
  return entry(open, `${ev.thread}/${ev.mm}/${who}`, () => []);
}

/** The checker; it keeps the open begins of each thread, mm and listener until the step returns. */
export const unbalancedRange: Checker<{ open: Open }> = {
  kind: "unbalanced-range",
  doc:
    "every invalidate_range_end matches an earlier begin of the same thread and mm, with the same range, before the operation returns; every notifier gets both halves",
  init: () => ({ open: {} }),
  observe(ctx, o, { open }) {
    if (o.type === "release") {
      // ->release tells the notifier to drop everything: its open begins are closed.
      for (const key of Object.keys(open)) if (key.endsWith(`/${o.notifier}`)) delete open[key];
      return;
    }
    if (o.type !== "callout") return;
    const ev = o.ev;
    if (ev.kind === "begin") {
      for (const who of [KERNEL, ...o.listeners]) stack(open, ev, who).push(beginOf(ev));
      return;
    }
    if (ev.kind !== "end") return;
    const begin = stack(open, ev, KERNEL).pop();
    if (!begin) {
      for (const who of o.listeners) stack(open, ev, who).pop();
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
      if (stack(open, ev, who).pop()) continue;
      ctx.report({
        kind: "unbalanced-range",
        step: ev.step,
        where: where(ev),
        detail:
          `${who} receives ${ev.call} from ${ev.path}:${ev.at} without the begin (it was not on the list then)`,
        secondary: who,
      });
    }
  },
  afterStep(ctx, step, { open }) {
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
