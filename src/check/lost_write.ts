/**
 * `lost-write`: a write through a secondary lands on a page that the primary
 * no longer maps at that address, or maps read-only (the write bypasses COW
 * or dirty tracking, so the primary never sees it).
 *
 * @module
 */
import { hex, vpn } from "../model/state.ts";
import { describePte } from "../kernel/pgtable.ts";
import type { Checker } from "./checker.ts";

/** The checker; it keeps nothing between observations. */
export const lostWrite: Checker = {
  kind: "lost-write",
  doc: "a write through a secondary goes to the page the primary maps writable at that address",
  observe(ctx, o) {
    if (o.type !== "secondary-access" || !o.write) return;
    const page = ctx.kernel.state.pages[o.pfn];
    if (!page || page.freed) return; // use-after-free reports it
    const pte = ctx.kernel.state.mms[o.mm]?.ptes[vpn(o.addr)];
    if (pte && pte.t === "present" && pte.pfn === o.pfn && pte.write) return;
    ctx.report({
      kind: "lost-write",
      step: o.step,
      where: hex(o.addr),
      detail: `${o.secondary} writes pfn ${o.pfn} at ${hex(o.addr)} while the primary pte is ${
        describePte(pte)
      }`,
    });
  },
};
