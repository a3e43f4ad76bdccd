/**
 * What a user finds through each address of a 2.5.42 scenario's mappings:
 * the file page a read returns, or the signal it gets. An address whose pte
 * does not let the hardware read is resolved by running the fault path on
 * a copy of the state, so looking changes nothing.
 *
 * @module
 */
import type { Kernel } from "../../kernel/context.ts";
import { addressResolver } from "../../kernel/v2.5.42/nonlinear.ts";
import type { Mm } from "../../model/types.ts";
import { PAGE_SIZE } from "../../model/types.ts";
import { hex } from "../../model/state.ts";

/** A run of addresses that resolve alike. */
export interface View {
  /** The mm. */
  mm: string;
  /** The addresses, `start-end` in hex (end exclusive). */
  range: string;
  /**
   * What a read finds: `file:index` (a range of consecutive file pages as
   * `file:first-last`), `anon`, `SIGSEGV`, `SIGBUS`, `SIGKILL` or `hang`.
   */
  sees: string;
}

/** Every address a view covers: each page of each vma, and each pte outside every vma. */
export function viewedAddresses(mm: Mm): number[] {
  const out = new Set<number>();
  for (const v of mm.vmas) for (let a = v.start; a < v.end; a += PAGE_SIZE) out.add(a);
  for (const key of Object.keys(mm.ptes)) out.add(Number(key) * PAGE_SIZE);
  return [...out].sort((a, b) => a - b);
}

/** The views of every live mm at the end of a run, runs of alike addresses merged. */
export function finalViews(k: Kernel): View[] {
  const out: View[] = [];
  const resolveAddress = addressResolver(k);
  for (const id of Object.keys(k.state.mms).sort()) {
    const mm = k.state.mms[id];
    if (mm.exited) continue;
    let cur: {
      start: number;
      end: number;
      file?: string;
      first: number;
      last: number;
      sees: string;
    } | undefined;
    const flush = () => {
      if (!cur) return;
      const sees = cur.file === undefined
        ? cur.sees
        : cur.first === cur.last
        ? `${cur.file}:${cur.first}`
        : `${cur.file}:${cur.first}-${cur.last}`;
      out.push({ mm: id, range: `${hex(cur.start)}-${hex(cur.end)}`, sees });
      cur = undefined;
    };
    for (const a of viewedAddresses(mm)) {
      const sees = resolveAddress(mm, a);
      const m = /^(.*):(\d+)$/.exec(sees);
      const file = m ? m[1] : undefined;
      const index = m ? Number(m[2]) : -1;
      const extends_ = cur && cur.end === a &&
        (file === undefined
          ? cur.file === undefined && cur.sees === sees
          : cur.file === file && cur.last + 1 === index);
      if (cur && extends_) {
        cur.end = a + PAGE_SIZE;
        if (file !== undefined) cur.last = index;
        continue;
      }
      flush();
      cur = { start: a, end: a + PAGE_SIZE, file, first: index, last: index, sees };
    }
    flush();
  }
  return out;
}
