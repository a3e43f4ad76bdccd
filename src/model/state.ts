/**
 * Small pure helpers over the model state. No revision-specific code.
 *
 * @module
 */
import {
  type Counters,
  type FileObj,
  type Mm,
  type MmState,
  type Page,
  PAGE_SIZE,
  type PageOwner,
  PMD_SIZE,
  type Pte,
  PUD_SIZE,
  type Vma,
} from "./types.ts";
import { dict } from "./_dict.ts";

/** Returns an empty model state. */
export function newState(): MmState {
  return {
    pages: {},
    nextPfn: 1,
    // Keyed by the scenario's names, which may be "constructor" or "toString".
    files: dict(),
    mms: dict(),
    swap: {},
    nextSwap: 1,
    counters: zeroCounters(),
  };
}

/** Returns a counters record with every counter at zero. */
export function zeroCounters(): Counters {
  return {
    faults: 0,
    tlbFlushPage: 0,
    tlbFlushRange: 0,
    tlbFlushMm: 0,
    pagesAllocated: 0,
    pagesFreed: 0,
    tablesAllocated: 0,
    tablesFreed: 0,
    pageReads: 0,
    syscalls: 0,
  };
}

/** Returns a new, empty mm. */
export function newMm(id: string): Mm {
  return {
    id,
    vmas: [],
    ptes: {},
    tables: { pud: {}, pmd: {}, pte: {} },
    rss: { anon: 0, file: 0 },
    mmapSem: { readers: [], writer: null },
    exited: false,
  };
}

/** Returns a new file object. */
export function newFile(name: string, size: number, kind: FileObj["kind"]): FileObj {
  return { name, size, kind, cache: {}, pageMkwrite: "none" };
}

/** Virtual page number of an address. */
export function vpn(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}

/** The name of a negative errno the model returns (`-ENOMEM`, `-EFAULT`, `-EINVAL`), else the number. */
export function errnoName(n: number): string {
  const names: Record<number, string> = { [-12]: "-ENOMEM", [-14]: "-EFAULT", [-22]: "-EINVAL" };
  return names[n] ?? String(n);
}

/** Formats an address the way the kernel prints one. */
export function hex(addr: number): string {
  return "0x" + addr.toString(16);
}

/** Formats a half-open range `[start, end)`. */
export function hexRange(range: readonly [number, number]): string {
  return `${hex(range[0])}-${hex(range[1])}`;
}

/** The vma that contains `addr`, as `find_vma` plus the `vm_start <= addr` check. */
export function findVma(mm: Mm, addr: number): Vma | undefined {
  return mm.vmas.find((v) => v.start <= addr && addr < v.end);
}

/** Sorts an mm's vma list by start address (the kernel keeps it sorted). */
export function sortVmas(mm: Mm): void {
  mm.vmas.sort((a, b) => a.start - b.start);
}

/** `is_cow_mapping()`: private and may become writable. */
export function isCowMapping(vma: Vma): boolean {
  return !vma.shared && vma.mayWrite;
}

/** Index of the page-table page that maps `addr` at a level. */
export function tableIndex(level: "pud" | "pmd" | "pte", addr: number): number {
  const span = level === "pte" ? PMD_SIZE : level === "pmd" ? PUD_SIZE : PUD_SIZE * 512;
  return Math.floor(addr / span);
}

/** Whether every page-table level needed to hold a PTE for `addr` is allocated. */
export function hasPteTable(mm: Mm, addr: number): boolean {
  return !!mm.tables.pud[tableIndex("pud", addr)] && !!mm.tables.pmd[tableIndex("pmd", addr)] &&
    !!mm.tables.pte[tableIndex("pte", addr)];
}

/** The PTE at `addr`, if any. */
export function getPte(mm: Mm, addr: number): Pte | undefined {
  return mm.ptes[vpn(addr)];
}

/** Allocates a struct page (the caller holds the first reference under `holder`). */
export function allocPage(state: MmState, owner: PageOwner, holder: string): Page {
  const pfn = state.nextPfn++;
  const page: Page = {
    pfn,
    owner,
    refs: { [holder]: 1 },
    mapcount: 0,
    dirty: false,
    referenced: false,
    locked: false,
    externalRmap: false,
    freed: false,
    data: 0,
  };
  state.pages[pfn] = page;
  state.counters.pagesAllocated++;
  return page;
}

/** Total reference count of a page (`page_count()`). */
export function pageCount(page: Page): number {
  let n = 0;
  for (const k in page.refs) n += page.refs[k];
  return n;
}

/** `get_page()` on behalf of a named holder. */
export function getPage(state: MmState, pfn: number, holder: string): void {
  const page = state.pages[pfn];
  if (!page || page.freed) return;
  page.refs[holder] = (page.refs[holder] ?? 0) + 1;
}

/**
 * `put_page()` on behalf of a named holder; frees the page when the last reference goes.
 * Returns false when the holder had no reference to drop.
 */
export function putPage(state: MmState, pfn: number, holder: string): boolean {
  const page = state.pages[pfn];
  if (!page || page.freed || !page.refs[holder]) return false;
  page.refs[holder]--;
  if (page.refs[holder] === 0) delete page.refs[holder];
  // The zero page is never freed ("kernel:zero_page" keeps its reference), and it has one
  // holder per pte mapping it: summing them on every put made unmapping a large mapping
  // quadratic.
  if (page.owner.kind === "zero") return true;
  if (pageCount(page) === 0) {
    page.freed = true;
    state.counters.pagesFreed++;
  }
  return true;
}

/** The reference holder name used for a PTE mapping. */
export function pteHolder(mm: string, addr: number): string {
  return `pte:${mm}:${hex(addr)}`;
}

/** Serialises a value with sorted keys, so equal states give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
      return out;
    }
    return v;
  });
}

/**
 * A 64-bit string hash (two independent 32-bit FNV-1a lanes), as 16 hex
 * digits. Stable across runs and platforms; not cryptographic.
 */
export function fnv1a(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** Digest of any JSON-able value. */
export function digest(value: unknown): string {
  return fnv1a(canonicalJson(value));
}
