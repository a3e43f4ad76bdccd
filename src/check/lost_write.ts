/**
 * `lost-write`: data written through a secondary becomes unobservable. Two
 * ways:
 *
 * - the write lands on a page the primary no longer maps at that address
 *   (unmapped, moved, or replaced by a COW copy): reading the address through
 *   the primary never shows it;
 * - the write lands on a file page that writeback has cleaned, and nothing
 *   marks the page dirty afterwards (neither the page's dirty bit nor a dirty
 *   pte, which a secondary's release of the page may set, as KVM's
 *   `kvm_release_pfn_dirty()` does for a writable spte) before the page
 *   leaves the page cache: the file never gets the data. A page dropped by a
 *   truncation is not a loss (the file no longer has that offset).
 *
 * A write through a stale writable translation to the page the primary maps
 * read-only at that address loses nothing by itself: it is a permission
 * violation, which `stale-secondary` reports. A write to a freed page is
 * `use-after-free`'s.
 *
 * @module
 */
import { hex } from "../model/state.ts";
import type { MmState } from "../model/types.ts";
import { describePte, primaryPte } from "../kernel/pgtable.ts";
import type { Checker } from "./checker.ts";

/** A write to a clean file page that nothing has marked dirty yet. */
export interface UnrecordedWrite {
  /** The secondary that wrote. */
  secondary: string;
  /** The address it wrote at. */
  addr: number;
  /** The step of the write. */
  step: number;
}

/** What {@link lostWrite} remembers: unrecorded writes by pfn (numeric keys, so in pfn order). */
export interface LostWriteMemory {
  /** The first write since the page was last clean, per clean file page written. */
  unrecorded: Record<string, UnrecordedWrite>;
}

/** The checker. */
export const lostWrite: Checker<LostWriteMemory> = {
  kind: "lost-write",
  doc:
    "no write through a secondary becomes unobservable: it lands on the page the primary maps at that address, and a clean file page it writes is marked dirty before it leaves the page cache",
  init: () => ({ unrecorded: {} }),
  observe(ctx, o, { unrecorded }) {
    if (o.type !== "secondary-access" || !o.write) return;
    const { state } = ctx.kernel;
    const page = state.pages[o.pfn];
    if (!page || page.freed) return; // use-after-free reports it
    const pte = primaryPte(state.mms[o.mm], o.addr);
    if (!pte || pte.t !== "present" || pte.pfn !== o.pfn) {
      ctx.report({
        kind: "lost-write",
        step: o.step,
        where: hex(o.addr),
        detail: `${o.secondary} writes pfn ${o.pfn} at ${hex(o.addr)}, where the primary pte is ${
          describePte(pte)
        }: the data is not there for the primary to read`,
        secondary: o.secondary,
      });
      return;
    }
    if (page.owner.kind === "file" && !recorded(state, o.pfn) && !(o.pfn in unrecorded)) {
      unrecorded[o.pfn] = { secondary: o.secondary, addr: o.addr, step: o.step };
    }
  },
  afterStep(ctx, step, { unrecorded }) {
    const { state } = ctx.kernel;
    for (const key of Object.keys(unrecorded)) {
      const pfn = Number(key);
      if (recorded(state, pfn)) {
        delete unrecorded[key];
        continue;
      }
      const page = state.pages[pfn];
      if (page.owner.kind !== "file") continue;
      const { file, index } = page.owner;
      const f = state.files[file];
      if (!f || index >= f.size) {
        delete unrecorded[key]; // truncated: the offset is gone from the file
        continue;
      }
      if (!page.freed && f.cache[index] === pfn) continue;
      const w = unrecorded[key];
      delete unrecorded[key];
      ctx.report({
        kind: "lost-write",
        step,
        where: hex(w.addr),
        detail: `${w.secondary} wrote pfn ${pfn} (${file} page ${index}) at ${
          hex(w.addr)
        } in step ${w.step} while the page was clean, and nothing marked it dirty before it left the page cache: the file never gets the write`,
        secondary: w.secondary,
      });
    }
  },
};

/** Whether the data of `pfn` will reach its backing store: the page or a pte mapping it is dirty. */
function recorded(state: MmState, pfn: number): boolean {
  if (state.pages[pfn]?.dirty) return true;
  for (const mm of Object.values(state.mms)) {
    if (mm.exited) continue;
    for (const pte of Object.values(mm.ptes)) {
      if (pte.t === "present" && pte.pfn === pfn && pte.dirty) return true;
    }
  }
  return false;
}
