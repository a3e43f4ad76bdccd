/**
 * `stale-secondary`: after an operation returns, a secondary maps an address
 * to a page, or with a permission, that the primary no longer does.
 *
 * @module
 */
import { hex, vpn } from "../model/state.ts";
import { describePte } from "../kernel/pgtable.ts";
import type { Checker } from "./checker.ts";

/**
 * The checker; a stale translation is reported once, when first seen. Its
 * memory: the translations reported (`seen`, in the order of the reports).
 */
export const staleSecondary: Checker<{ seen: Set<string> }> = {
  kind: "stale-secondary",
  doc:
    "after each operation every secondary translation matches the primary pte: same page, and write only where the primary allows write",
  init: () => ({ seen: new Set() }),
  afterStep(ctx, step, { seen }) {
    const { state } = ctx.kernel;
    for (const id of Object.keys(ctx.chain.secondaries).sort()) {
      const sec = ctx.chain.secondaries[id];
      const mm = state.mms[sec.mm];
      for (const m of sec.mappings()) {
        const pte = mm?.ptes[vpn(m.addr)];
        let why = "";
        if (!pte || pte.t !== "present") why = `the primary pte is ${describePte(pte)}`;
        else if (pte.pfn !== m.pfn) why = `the primary maps pfn ${pte.pfn}`;
        else if (m.write && !pte.write) why = "the primary pte is read-only";
        if (!why) continue;
        const key = `${id}/${m.addr}/${m.pfn}/${m.write}/${why}`;
        if (seen.has(key)) continue;
        seen.add(key);
        ctx.report({
          kind: "stale-secondary",
          step,
          where: hex(m.addr),
          detail: `${id} maps ${hex(m.addr)} to pfn ${m.pfn} ${m.write ? "rw" : "ro"} but ${why}`,
        });
      }
    }
  },
};
