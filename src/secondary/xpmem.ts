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
import type { CalloutEvent, Kernel, KGen } from "../kernel/context.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { Gru } from "./gru.ts";

/** The XPmem exporter of one mm. */
export class Xpmem extends Gru {
  /** Driver name. */
  override readonly driver: string = "xpmem";
  /** "Established refcounts on the exported pages." */
  protected override readonly holdsReferences: boolean = true;
  /** "Must sleep in order to wait for remote acks of ptes that are being cleared." */
  protected override readonly sleeps: boolean = true;

  /**
   * @param id Notifier name.
   * @param mm The mm whose pages it exports.
   * @param rmapNotifier Whether the kernel offers the rmap notifier of EMMU V5 4/4.
   */
  constructor(id: string, mm: string, readonly rmapNotifier = false) {
    super(id, mm);
  }

  /** With the rmap notifier, XPmem has no invalidate_page method. */
  override *callback(k: Kernel, th: string, ev: CalloutEvent): KGen<boolean> {
    if (this.rmapNotifier && ev.kind === "page") return false;
    return yield* super.callback(k, th, ev);
  }

  /** `mmu_rmap_export_page()`: "Pagelock must be held", then SetPageExternalRmap. */
  protected override *exported(k: Kernel, th: string, pfn: number): KGen {
    if (!this.rmapNotifier) return;
    const lock = `page_lock:${pfn}`;
    const held = k.holds(th, lock);
    if (!held) yield* k.lock(th, lock, "sleeping");
    k.state.pages[pfn].externalRmap = true;
    if (!held) k.unlock(th, lock);
  }

  /** The rmap notifier's invalidate_page: clears every remote pte of the page, waiting for the acks. */
  *rmapInvalidate(k: Kernel, th: string, pfn: number): KGen {
    k.noteCallback(th, this.id, "rmap_invalidate_page", true);
    for (const m of this.mappings()) {
      if (m.pfn === pfn) this.flush(k, m.addr, m.addr + PAGE_SIZE);
    }
    yield { thread: th, label: `${this.id}:wait remote acks` };
  }
}
