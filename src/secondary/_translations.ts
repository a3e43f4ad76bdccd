/**
 * Helpers shared by the secondary MMU models: their translation tables are
 * keyed by virtual page number.
 *
 * @module
 */
import { PAGE_SIZE } from "../model/types.ts";
import type { SecondaryMapping } from "../notifier/chain.ts";

/** The mappings of a vpn-keyed translation table. */
export function mappingsOf(
  table: Record<number, { pfn: number; write: boolean }>,
): SecondaryMapping[] {
  return Object.entries(table).map(([k, e]) => ({
    addr: Number(k) * PAGE_SIZE,
    pfn: e.pfn,
    write: e.write,
  }));
}

/** Reference holder name -> pfn for every mapping, with `holder` naming each translation. */
export function holdersOf(
  mappings: SecondaryMapping[],
  holder: (addr: number) => string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of mappings) out[holder(m.addr)] = m.pfn;
  return out;
}
