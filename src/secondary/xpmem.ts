/**
 * An XPmem secondary MMU (000_485f2de10ae1e46b.txt, V5 cover letter):
 * "Allows use of a processes memory by remote instances of Linux. Provides
 * its own reverse mappings to track remote pte. Established refcounts on the
 * exported pages. Must sleep in order to wait for remote acks of ptes that
 * are being cleared." Its translations work as the GRU's, but each holds a
 * page reference, and every invalidation callback sleeps. Where the kernel
 * has the rmap notifier of EMMU V5 4/4, XPmem uses it ("A notifier that uses
 * the reverse maps callbacks does not need to provide the invalidate_page()
 * methods that are called when locks are held"): it marks each page it
 * exports with PageExternalRmap, under the page lock.
 *
 * @module
 */
import { type CalloutEvent, type Kernel, lock } from "../kernel/context.ts";
import { call, defPath, go, type PathRef, point, ret } from "../kernel/steps.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { updatePage } from "../model/state.ts";
import { chainOf } from "../notifier/chain.ts";
import { Gru, gruCallback } from "./gru.ts";

/** The XPmem exporter of one mm. */
export class Xpmem extends Gru {
  /** Driver name. */
  override readonly driver: string = "xpmem";
  /** "Established refcounts on the exported pages." */
  override readonly holdsReferences: boolean = true;
  /** "Must sleep in order to wait for remote acks of ptes that are being cleared." */
  override readonly sleeps: boolean = true;

  /**
   * @param id Notifier name.
   * @param mm The mm whose pages it exports.
   * @param rmapNotifier Whether the kernel offers the rmap notifier of EMMU V5 4/4.
   */
  constructor(id: string, mm: string, readonly rmapNotifier = false) {
    super(id, mm);
  }

  /** The GRU's callback, but no invalidate_page with the rmap notifier (see {@link xpmemCallback}). */
  override get callbackPath(): PathRef<{ sec: string; ev: CalloutEvent }> {
    return xpmemCallback;
  }

  /** `mmu_rmap_export_page()` after each fill (see {@link xpmemExportPage}). */
  override get exportedPath(): PathRef<{ sec: string; pfn: number }> | null {
    return xpmemExportPage;
  }

  /** The rmap notifier's invalidate_page (see {@link xpmemRmapInvalidate}). */
  get rmapInvalidatePath(): PathRef<{ sec: string; pfn: number }> {
    return xpmemRmapInvalidate;
  }
}

/** The Xpmem instance `id` of the kernel's chain. */
function xpmemOf(k: Kernel, id: string): Xpmem {
  return chainOf(k).secondaries[id] as Xpmem;
}

/** With the rmap notifier, XPmem has no invalidate_page method; otherwise the GRU's callback. */
const xpmemCallback = defPath<
  { sec: string; ev: CalloutEvent },
  { young?: boolean },
  Kernel
>("xpmem.callback", {
  entry(k, f) {
    if (xpmemOf(k, f.v.sec).rmapNotifier && f.v.ev.kind === "page") return ret(false);
    return call(gruCallback, { sec: f.v.sec, ev: f.v.ev }, "done", "young");
  },
  done: (_k, f) => ret(f.v.young),
});

/**
 * `mmu_rmap_export_page()` of page `pfn` (with the rmap notifier only):
 * "Pagelock must be held", then SetPageExternalRmap. `held`: whether the
 * thread held the page lock already.
 */
const xpmemExportPage = defPath<
  { sec: string; pfn: number },
  { held?: boolean },
  Kernel
>("mmu_rmap_export_page", {
  entry(k, f) {
    if (!xpmemOf(k, f.v.sec).rmapNotifier) return ret();
    const name = `page_lock:${f.v.pfn}`;
    f.v.held = k.holds(f.th, name);
    if (!f.v.held) return lock(name, "sleeping", "locked");
    return go("locked");
  },
  locked(k, f) {
    updatePage(k.state, f.v.pfn, { externalRmap: true });
    if (!f.v.held) k.unlock(f.th, `page_lock:${f.v.pfn}`);
    return ret();
  },
});

/** The rmap notifier's invalidate_page: clears every remote pte of the page, waiting for the acks. */
const xpmemRmapInvalidate = defPath<
  { sec: string; pfn: number },
  Record<never, never>,
  Kernel
>("xpmem.rmap_invalidate", {
  entry(k, f) {
    const x = xpmemOf(k, f.v.sec);
    k.noteCallback(f.th, x.id, "rmap_invalidate_page", true);
    for (const m of x.mappings()) {
      if (m.pfn === f.v.pfn) x.flush(k, m.addr, m.addr + PAGE_SIZE);
    }
    return point(`${x.id}:wait remote acks`, "acked");
  },
  acked: () => ret(),
});
