/**
 * `use-after-free`: a secondary accesses, or still maps after an operation,
 * a page that has been freed.
 *
 * @module
 */
import { hex } from "../model/state.ts";
import type { Checker } from "./checker.ts";

/**
 * The checker; a translation left to a freed page is reported once. Its
 * memory: the translations reported (`seen`, in the order of the reports).
 */
export const useAfterFree: Checker<{ seen: Set<string> }> = {
  kind: "use-after-free",
  doc:
    "no secondary reaches a freed page, by an access or by a translation left after an operation",
  init: () => ({ seen: new Set() }),
  observe(ctx, o) {
    if (o.type === "notifier-use") {
      ctx.report({
        kind: "use-after-free",
        step: o.step,
        where: o.notifier,
        detail: `${o.thread}: ${o.what}`,
        secondary: o.notifier,
      });
      return;
    }
    if (o.type !== "secondary-access") return;
    const page = ctx.kernel.state.pages[o.pfn];
    if (page && !page.freed) return;
    ctx.report({
      kind: "use-after-free",
      step: o.step,
      where: hex(o.addr),
      detail: `${o.secondary} ${o.write ? "writes" : "reads"} freed pfn ${o.pfn} at ${hex(o.addr)}`,
      secondary: o.secondary,
    });
  },
  afterStep(ctx, step, { seen }) {
    for (const id of Object.keys(ctx.chain.secondaries).sort()) {
      for (const m of ctx.chain.secondaries[id].mappings()) {
        const page = ctx.kernel.state.pages[m.pfn];
        if (page && !page.freed) continue;
        const key = `${id}/${m.addr}/${m.pfn}`;
        if (seen.has(key)) continue;
        seen.add(key);
        ctx.report({
          kind: "use-after-free",
          step,
          where: hex(m.addr),
          detail: `${id} still maps ${hex(m.addr)} to freed pfn ${m.pfn}`,
          secondary: id,
        });
      }
    }
  },
};
