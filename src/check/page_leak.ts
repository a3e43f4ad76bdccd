/**
 * `page-leak`: at the end of a scenario, a page keeps a reference whose
 * holder no longer exists (a pte that no longer maps it, a secondary that no
 * longer translates to it or whose mm is gone, a transient kernel reference).
 *
 * A secondary whose translations outlive `exit_mmap` (2.6.27 KVM: its sptes
 * keep their page references until `kvm_destroy_vm`) holds them legitimately
 * after its mm has exited, as long as it translates to the page; once the VM
 * is destroyed it translates to nothing, and a reference left is a leak.
 *
 * @module
 */
import { SWAP_CACHE, swapCacheSlot, vpn } from "../model/state.ts";
import type { Checker } from "./checker.ts";

/** The checker; it keeps nothing (it looks at the state at the end). */
export const pageLeak: Checker = {
  kind: "page-leak",
  doc:
    "at the end every page reference belongs to a live pte, page cache, swap cache, or secondary translation of a live mm (or of a VM not yet destroyed, whose translations outlive exit_mmap)",
  atEnd(ctx, lastStep) {
    const { state } = ctx.kernel;
    const secondaryRefs: Record<string, number> = {};
    for (const id of Object.keys(ctx.chain.secondaries).sort()) {
      const sec = ctx.chain.secondaries[id];
      const mm = state.mms[sec.mm];
      if ((!mm || mm.exited) && !sec.outlivesMm) continue;
      Object.assign(secondaryRefs, sec.refHolders());
    }
    for (const key of Object.keys(state.pages)) {
      const page = state.pages[Number(key)];
      if (page.freed) continue;
      for (const holder of Object.keys(page.refs).sort()) {
        if (isLive(holder, page.pfn)) continue;
        ctx.report({
          kind: "page-leak",
          step: lastStep,
          where: `pfn ${page.pfn}`,
          detail: `reference held by "${holder}" is never dropped`,
          ...secondaryOf(holder),
        });
      }
    }
    /** The secondary a holder (`<driver>:<id>:<address>`) names, when it is a translation's. */
    function secondaryOf(holder: string): { secondary?: string } {
      const [driver, id] = holder.split(":");
      return ctx.chain.secondaries[id]?.driver === driver ? { secondary: id } : {};
    }
    function isLive(holder: string, pfn: number): boolean {
      const [kind, a, b] = holder.split(":");
      if (kind === "kernel") return true;
      if (kind === SWAP_CACHE) return swapCacheSlot(state, pfn) !== undefined;
      if (kind === "cache") {
        const o = state.pages[pfn].owner;
        return (o.kind === "file" || o.kind === "huge") && state.files[a]?.cache[o.index] === pfn;
      }
      if (kind === "pte") {
        const mm = state.mms[a];
        const pte = mm?.ptes[vpn(Number(b))];
        return !!mm && !mm.exited && !!pte && pte.t === "present" && pte.pfn === pfn;
      }
      return secondaryRefs[holder] === pfn;
    }
  },
};
