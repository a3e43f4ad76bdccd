/**
 * `pte-outside-vma`: after a step, an mm has a pte at an address that no
 * vma covers, so no unmap path will ever clear it and a user read there
 * reaches a page the address space does not map.
 *
 * @module
 */
import { hex } from "../model/state.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { describePte } from "../kernel/pgtable.ts";
import type { Checker } from "./checker.ts";

/**
 * The checker; a pte outside every vma is reported once. Its memory: the
 * ptes reported (`mm:vpn`, in the order of the reports).
 */
export const pteOutsideVma: Checker<{ reported: Set<string> }> = {
  kind: "pte-outside-vma",
  doc: "every pte of a live mm lies inside one of its vmas",
  init: () => ({ reported: new Set() }),
  afterStep(ctx, step, { reported }) {
    const { state } = ctx.kernel;
    for (const id of Object.keys(state.mms).sort()) {
      const mm = state.mms[id];
      if (mm.exited) continue;
      const keys = Object.keys(mm.ptes).map(Number).sort((a, b) => a - b);
      // One pass over the ptes in address order and the vmas in start order: an address is
      // inside a vma when the farthest end of the vmas starting at or below it lies above it
      // (as `findVma` finds, for every pte, in time linear in the ptes and vmas together).
      const vmas = mm.vmas.map((v) => [v.start, v.end]).sort((a, b) => a[0] - b[0]);
      let next = 0;
      let reach = -Infinity;
      for (const key of keys) {
        const addr = key * PAGE_SIZE;
        while (next < vmas.length && vmas[next][0] <= addr) {
          reach = Math.max(reach, vmas[next++][1]);
        }
        if (addr < reach || reported.has(`${id}:${key}`)) continue;
        reported.add(`${id}:${key}`);
        const pte = mm.ptes[key];
        // A raw PFN (a special pte) has no struct page: its number may be an allocated page's.
        const o = pte.t === "present" && !pte.special ? state.pages[pte.pfn]?.owner : undefined;
        const what = o?.kind === "file" ? ` (file page ${o.file}:${o.index})` : "";
        ctx.report({
          kind: "pte-outside-vma",
          step,
          where: hex(addr),
          detail: `mm ${id} has a pte ${describePte(pte)}${what} where no vma is`,
        });
      }
    }
  },
};
