/**
 * `stale-secondary`: after an operation returns, a secondary maps an address
 * to a page, or with a permission, that the primary no longer does.
 *
 * The permission is the one the primary grants to the access that made the
 * translation. A plain access needs a writable pte. A forced write fault
 * (`get_user_pages(..., write=1, force=1)`, as 2.6.27 KVM's `gfn_to_pfn()`
 * makes for every guest access) needs only `VM_MAYWRITE`, and breaks COW so
 * that the page is the mm's own: the primary grants it on a read-only pte
 * (v2.6.27 mm/memory.c get_user_pages(), lines 1143-1146 and 1241-1248), for
 * as long as the page stays the anonymous page mapped once that `do_wp_page`
 * reuses (`can_share_swap_page()`). A translation made while the pte was
 * writable is stale once the pte is read-only: nothing told the secondary.
 *
 * A secondary whose translations outlive `exit_mmap` (KVM's, until the VM is
 * destroyed) is not checked once its mm has exited: only the mm's own
 * threads could use them, and none is left.
 *
 * @module
 */
import { findVma, hex } from "../model/state.ts";
import type { MmState, Pte } from "../model/types.ts";
import type { SecondaryMapping } from "../notifier/chain.ts";
import { describePte, primaryPte } from "../kernel/pgtable.ts";
import type { Checker } from "./checker.ts";

/**
 * The checker; a stale translation is reported once, when first seen. Its
 * memory: the translations reported (`seen`, in the order of the reports).
 */
export const staleSecondary: Checker<{ seen: Set<string> }> = {
  kind: "stale-secondary",
  doc:
    "after each operation every secondary translation matches the primary pte: same page, and write only where the primary allows write (to a forced write fault: the mm's own anonymous page, mapped once, in a VM_MAYWRITE vma)",
  init: () => ({ seen: new Set() }),
  afterStep(ctx, step, { seen }) {
    const { state } = ctx.kernel;
    for (const id of Object.keys(ctx.chain.secondaries).sort()) {
      const sec = ctx.chain.secondaries[id];
      const mm = state.mms[sec.mm];
      if (sec.outlivesMm && (!mm || mm.exited)) continue;
      for (const m of sec.mappings()) {
        const pte = primaryPte(mm, m.addr);
        let why = "";
        if (!pte || pte.t !== "present") why = `the primary pte is ${describePte(pte)}`;
        else if (pte.pfn !== m.pfn) why = `the primary maps pfn ${pte.pfn}`;
        else if (m.write && !pte.write) why = readOnlyWhy(state, sec.mm, m, pte);
        if (!why) continue;
        const key = `${id}/${m.addr}/${m.pfn}/${m.write}/${why}`;
        if (seen.has(key)) continue;
        seen.add(key);
        ctx.report({
          kind: "stale-secondary",
          step,
          where: hex(m.addr),
          detail: `${id} maps ${hex(m.addr)} to pfn ${m.pfn} ${m.write ? "rw" : "ro"} but ${why}`,
          secondary: id,
        });
      }
    }
  },
};

/**
 * Why a writable translation over the read-only pte `pte` is stale, or "" when
 * the primary grants it: a forced write's permission holds while the vma may
 * be written and the page is the mm's own anonymous page, mapped once.
 */
function readOnlyWhy(
  state: MmState,
  mm: string,
  m: SecondaryMapping,
  pte: Extract<Pte, { t: "present" }>,
): string {
  if (!m.forced) return "the primary pte is read-only";
  const vma = findVma(state.mms[mm], m.addr);
  const page = state.pages[pte.pfn];
  if (!vma?.mayWrite) return "the primary pte is read-only and the vma may not be written";
  if (page?.owner.kind !== "anon" || page.mapcount !== 1) {
    return "the primary pte is read-only and the page is no longer the mm's own (a forced write would copy it)";
  }
  return "";
}
