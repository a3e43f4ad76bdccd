/**
 * `pte-outside-vma`: after a step, an mm has a pte at an address that no
 * vma covers, so no unmap path will ever clear it and a user read there
 * reaches a page the address space does not map.
 *
 * @module
 */
import { findVma, hex } from "../model/state.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { describePte } from "../kernel/pgtable.ts";
import type { Checker } from "./checker.ts";

/** Creates the checker. */
export function pteOutsideVma(): Checker {
  const reported = new Set<string>();
  return {
    kind: "pte-outside-vma",
    doc: "every pte of a live mm lies inside one of its vmas",
    afterStep(ctx, step) {
      const { state } = ctx.kernel;
      for (const id of Object.keys(state.mms).sort()) {
        const mm = state.mms[id];
        if (mm.exited) continue;
        const keys = Object.keys(mm.ptes).map(Number).sort((a, b) => a - b);
        for (const key of keys) {
          const addr = key * PAGE_SIZE;
          if (findVma(mm, addr) || reported.has(`${id}:${key}`)) continue;
          reported.add(`${id}:${key}`);
          const pte = mm.ptes[key];
          const o = pte.t === "present" ? state.pages[pte.pfn]?.owner : undefined;
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
    snapshot: () => [...reported].sort(),
  };
}
