/**
 * An XPmem secondary MMU (000_485f2de10ae1e46b.txt, V5 cover letter):
 * "Allows use of a processes memory by remote instances of Linux. Provides
 * its own reverse mappings to track remote pte. Established refcounts on the
 * exported pages. Must sleep in order to wait for remote acks of ptes that
 * are being cleared." Its translations work as the GRU's, but each holds a
 * page reference, and every invalidation callback sleeps.
 *
 * @module
 */
import { Gru } from "./gru.ts";

/** The XPmem exporter of one mm. */
export class Xpmem extends Gru {
  /** Driver name. */
  override readonly driver: string = "xpmem";
  /** "Established refcounts on the exported pages." */
  protected override readonly holdsReferences: boolean = true;
  /** "Must sleep in order to wait for remote acks of ptes that are being cleared." */
  protected override readonly sleeps: boolean = true;
}
