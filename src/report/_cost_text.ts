/**
 * The cost table as text: what renderers need, and nothing that runs.
 *
 * @module
 */
import type { CostRow, CostTable } from "./costs.ts";
import { textTable } from "./_format.ts";

/** Column headings of the cost table, in the order of {@link costCells}. */
export const COST_COLUMNS = [
  "family",
  "window",
  "element",
  "way",
  "remaps",
  "syscalls",
  "faults",
  "entries",
  "vmas",
  "flush_tlb_page",
  "whole-TLB flushes",
  "pt pages",
] as const;

/**
 * The cells of one row of the cost table, in the order of {@link COST_COLUMNS}.
 *
 * @param r The row.
 * @returns One string per column.
 */
export function costCells(r: CostRow): string[] {
  return [
    r.family,
    String(r.window),
    String(r.element),
    r.way,
    String(r.remaps),
    String(r.syscalls),
    String(r.faults),
    String(r.entries),
    String(r.vmas),
    String(r.tlbFlushPage),
    String(r.tlbFlushGather),
    String(r.pageTablePages),
  ];
}

/**
 * Renders the cost table and the claims as Markdown lines.
 *
 * @param t The table.
 * @returns Lines, without a trailing empty line.
 */
export function renderCostTable(t: CostTable): string[] {
  const out = [
    "## The F8 cover letter's claims, measured",
    "",
    `Run on ${t.revision}. Database: a shmem file 16 times the window; the window is mapped once, ` +
    "then twice as many elements as it has slots are remapped into it and each page read once. " +
    "Sparse: pages of a large file 'stride' pages apart, read through one linear mapping or " +
    "remapped into a window. Entries = system calls + page faults. Whole-TLB flushes are the " +
    "mmu_gather flushes of munmap (flush_tlb_mm on x86); page-table pages use x86-64 geometry.",
    "",
    ...textTable([...COST_COLUMNS], t.rows.map(costCells)),
    "",
  ];
  for (const c of t.claims) out.push(`- ${c.verdict}: "${c.claim}" (${c.evidence})`);
  return out;
}
