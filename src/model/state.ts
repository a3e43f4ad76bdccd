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
  type PerCpuPfns,
  PMD_SIZE,
  type Pte,
  PUD_SIZE,
  type Vma,
} from "./types.ts";
import { dict } from "./_dict.ts";
import { cow, thaw } from "./_cow.ts";
import { addTo } from "./_count.ts";

/** The holder of the swap cache's reference to a page in it (`add_to_swap_cache()`). */
export const SWAP_CACHE = "swapcache";

/**
 * The swap slot whose swap cache entry is page `pfn` (the page is then
 * `PageSwapCache()`), if any.
 */
export function swapCacheSlot(state: MmState, pfn: number): number | undefined {
  for (const key in state.swap) if (state.swap[key].page === pfn) return Number(key);
  return undefined;
}

/** Returns an empty model state. */
export function newState(): MmState {
  return {
    pages: cow({}),
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
    ptes: cow({}),
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

/**
 * Freezes a record of the model that is a value (a pte, a struct page, a
 * page's owner or references) and every object in it, and returns it. A
 * frozen record never changes: whoever changes one stores a new record in
 * its place ({@link setPte}, {@link updatePte}, {@link updatePage}), so the
 * explorer's copies of a run share it, and a writer that misses that throws
 * (ES modules are strict).
 */
export function freezeValue<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  for (const k in value) freezeValue(value[k]);
  return Object.freeze(value);
}

/** A present pte. */
export type PresentPte = Extract<Pte, { t: "present" }>;

/**
 * `set_pte_at()` / `pte_clear()`: stores `pte` (frozen) at page number `vpn`
 * of `mm`, or clears the entry when `pte` is undefined.
 */
export function setPte(mm: Mm, vpn: number, pte: Pte | undefined): void {
  if (pte === undefined) {
    if (mm.ptes[vpn] !== undefined) delete (mm.ptes = thaw(mm.ptes))[vpn];
  } else (mm.ptes = thaw(mm.ptes))[vpn] = freezeValue(pte);
}

/** Stores a page record whose owner and references are frozen (a new record, or a changed one). */
function storePage(state: MmState, page: Page): Page {
  (state.pages = thaw(state.pages))[page.pfn] = Object.freeze(page);
  return page;
}

/**
 * Replaces the present pte at page number `vpn` of `mm` with one whose
 * fields in `change` are changed (`pte_mkyoung()`, `pte_wrprotect()`, ...);
 * returns the new pte. A pte read before is a snapshot (`pte_t entry =
 * *ptep`): it keeps the old values.
 */
export function updatePte(mm: Mm, vpn: number, change: Partial<PresentPte>): PresentPte {
  const pte = { ...(mm.ptes[vpn] as PresentPte), ...change };
  setPte(mm, vpn, pte);
  return pte;
}

/** What {@link updatePage} changes in a page record. */
type PageChange = Partial<Omit<Page, "pfn" | "owner" | "refs">>;

/**
 * Replaces struct page `pfn` with one whose fields in `change` are changed
 * (`change` may be a function of the record as it is now, for a change
 * relative to it such as a mapcount); returns the new record. A page record
 * read before keeps the old values.
 */
export function updatePage(
  state: MmState,
  pfn: number,
  change: PageChange | ((now: Page) => PageChange),
): Page {
  const now = state.pages[pfn];
  return storePage(state, { ...now, ...(typeof change === "function" ? change(now) : change) });
}

/** A write to page `pfn`'s content: bumps its `data`. */
export function writePage(state: MmState, pfn: number): void {
  updatePage(state, pfn, (p) => ({ data: p.data + 1 }));
}

/** Adds `delta` to the references `holder` holds on page `pfn` (the entry goes at 0). */
function addRef(state: MmState, page: Page, holder: string, delta: number): Page {
  const refs = { ...page.refs };
  const n = (refs[holder] ?? 0) + delta;
  if (n === 0) delete refs[holder];
  else refs[holder] = n;
  return storePage(state, { ...page, refs: Object.freeze(refs) });
}

/**
 * Allocates a struct page (the caller holds the first reference under
 * `holder`). In a race step, `cpu` (the allocating thread) takes it from its
 * own per-CPU list ({@link PerCpuPfns}); without `cpu`, from the shared one.
 */
export function allocPage(state: MmState, owner: PageOwner, holder: string, cpu?: string): Page {
  const pfn = state.percpu ? perCpuPfn(state.percpu, cpu) : state.nextPfn++;
  const page = storePage(state, {
    pfn,
    owner: freezeValue(owner),
    refs: Object.freeze({ [holder]: 1 }),
    mapcount: 0,
    dirty: false,
    referenced: false,
    locked: false,
    externalRmap: false,
    freed: false,
    data: 0,
  });
  addTo(state.counters, "pagesAllocated", 1);
  return page;
}

/**
 * The next pfn of `cpu`'s row of `lists` (the shared row without `cpu`).
 * Throws on a thread that is not one of the step's: a path that passed a
 * wrong name would otherwise take the shared row unnoticed.
 */
function perCpuPfn(lists: PerCpuPfns, cpu: string | undefined): number {
  const i = cpu === undefined ? -1 : lists.cpus.indexOf(cpu);
  if (cpu !== undefined && i < 0) {
    throw new Error(`Thread "${cpu}" allocates a page, but the step's threads are ${lists.cpus}`);
  }
  const row = i < 0 ? lists.cpus.length : i;
  const key = i < 0 ? "" : cpu!;
  const n = lists.taken[key];
  lists.taken[key] = n + 1;
  return lists.base + n * (lists.cpus.length + 1) + row;
}

/**
 * Starts the per-CPU lists of a race step whose threads are `cpus`: their
 * pfns start at `nextPfn` ({@link PerCpuPfns}).
 */
export function beginPerCpu(state: MmState, cpus: readonly string[]): void {
  const taken: Record<string, number> = dict();
  for (const c of cpus) taken[c] = 0;
  taken[""] = 0;
  state.percpu = { base: state.nextPfn, cpus: Object.freeze([...cpus]), taken };
}

/** Ends the per-CPU lists of a race step: `nextPfn` goes past every pfn they gave. */
export function endPerCpu(state: MmState): void {
  const lists = state.percpu;
  if (!lists) return;
  let rows = 0;
  for (const k in lists.taken) rows = Math.max(rows, lists.taken[k]);
  state.nextPfn = lists.base + rows * (lists.cpus.length + 1);
  delete state.percpu;
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
  addRef(state, page, holder, 1);
}

/**
 * `put_page()` on behalf of a named holder; frees the page when the last reference goes.
 * Returns false when the holder had no reference to drop.
 */
export function putPage(state: MmState, pfn: number, holder: string): boolean {
  const held = state.pages[pfn];
  if (!held || held.freed || !held.refs[holder]) return false;
  const page = addRef(state, held, holder, -1);
  // The zero page is never freed ("kernel:zero_page" keeps its reference), and it has one
  // holder per pte mapping it: summing them on every put made unmapping a large mapping
  // quadratic.
  if (page.owner.kind === "zero") return true;
  if (pageCount(page) === 0) {
    updatePage(state, pfn, { freed: true });
    addTo(state.counters, "pagesFreed", 1);
  }
  return true;
}

/**
 * Hands `count` of the references `from` holds on page `pfn` (all of them
 * by default) to `to`.
 */
export function moveRefs(
  state: MmState,
  pfn: number,
  from: string,
  to: string,
  count?: number,
): void {
  const page = state.pages[pfn];
  const n = count ?? page.refs[from];
  if (!n) return;
  const refs = { ...page.refs };
  if ((refs[from] -= n) === 0) delete refs[from];
  refs[to] = (refs[to] ?? 0) + n;
  storePage(state, { ...page, refs: Object.freeze(refs) });
}

/** The reference holder name used for a PTE mapping. */
export function pteHolder(mm: string, addr: number): string {
  return `pte:${mm}:${hex(addr)}`;
}

/**
 * Serialises a value with sorted keys, so equal states give equal strings.
 *
 * The bytes are those of `JSON.stringify` with a replacer that sorts each
 * object's keys (which is what this function was first), so every hash
 * pinned before stays valid: `toJSON` is honoured, `undefined`, functions and
 * symbols are left out of objects and read `null` in arrays, a non-finite
 * number reads `null`, and an object's keys that are array indexes come first
 * in numeric order, as the engine orders them. It walks the value with an
 * explicit stack instead of recursing, so its depth is bounded by memory,
 * not by the call stack: a state or a scenario nested thousands of levels
 * deep serialises like any other.
 *
 * @param value A JSON-able value.
 * @returns Its canonical JSON text.
 * @throws {TypeError} On a cycle, a BigInt, or a top-level value JSON cannot
 * represent (`undefined`, a function).
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./state.ts";
 * console.log(canonicalJson({ b: [1, undefined], a: { "10": 0, "9": 0 } }));
 * // {"a":{"9":0,"10":0},"b":[1,null]}
 * ```
 */
export function canonicalJson(value: unknown): string {
  let out = "";
  const stack: JsonFrame[] = [];
  // The objects being serialised, from the root down, for finding a cycle.
  // Kept only past CYCLE_DEPTH: a cycle is infinitely deep, so it gets there,
  // and the shallow values of every day pay nothing for it.
  let open = null as Set<object> | null;
  const write = (v: unknown): boolean => {
    if (v === null) out += "null";
    else if (typeof v === "string") out += JSON.stringify(v);
    else if (typeof v === "number") out += Number.isFinite(v) ? String(v) : "null";
    else if (typeof v === "boolean") out += v ? "true" : "false";
    else if (typeof v === "bigint") throw new TypeError("Cannot serialise a BigInt as JSON");
    else if (typeof v === "object") {
      if (open === null && stack.length >= CYCLE_DEPTH) open = new Set(stack.map((f) => f.holder));
      if (open !== null) {
        if (open.has(v)) throw new TypeError("Cannot serialise a circular structure as JSON");
        open.add(v);
      }
      const holder = v as Record<string, unknown>;
      if (Array.isArray(v)) {
        out += "[";
        stack.push({ holder, keys: null, size: v.length, i: 0, written: false });
      } else {
        out += "{";
        const keys = sortedKeys(holder);
        stack.push({ holder, keys, size: keys.length, i: 0, written: false });
      }
    } else return false;
    return true;
  };
  if (!write(toJsonValue(value, ""))) {
    throw new TypeError(`Cannot serialise ${typeof value} as JSON`);
  }
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    if (f.i === f.size) {
      out += f.keys === null ? "]" : "}";
      open?.delete(f.holder);
      stack.pop();
      continue;
    }
    if (f.keys === null) {
      const v = toJsonValue(f.holder[f.i], String(f.i));
      f.i++;
      if (f.written) out += ",";
      f.written = true;
      if (!write(v)) out += "null";
    } else {
      const key = f.keys[f.i++];
      const v = toJsonValue(f.holder[key], key);
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      if (f.written) out += ",";
      f.written = true;
      out += JSON.stringify(key) + ":";
      write(v);
    }
  }
  return out;
}

/** Depth past which {@link canonicalJson} looks for cycles. */
const CYCLE_DEPTH = 1000;

/** An array or object being serialised by {@link canonicalJson}. */
interface JsonFrame {
  holder: Record<string, unknown>;
  /** The object's keys in output order; null for an array. */
  keys: string[] | null;
  size: number;
  /** The next element or key. */
  i: number;
  /** Whether a member was written, for the commas. */
  written: boolean;
}

/** What `JSON.stringify` serialises for a value: the result of its `toJSON`, if any. */
function toJsonValue(v: unknown, key: string): unknown {
  if ((typeof v === "object" && v !== null) || typeof v === "bigint") {
    const f = (v as { toJSON?: unknown }).toJSON;
    if (typeof f === "function") return f.call(v, key);
  }
  return v;
}

/**
 * An object's own enumerable keys in the order a key-sorted copy of it has:
 * its array indexes first, in numeric order (the engine lists them first,
 * in that order, whatever the insertion order), then the others sorted.
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  let n = 0;
  while (n < keys.length && isArrayIndex(keys[n])) n++;
  if (n === 0) return keys.sort();
  return n === keys.length ? keys : [...keys.slice(0, n), ...keys.slice(n).sort()];
}

/** Whether a key is an array index: a canonical integer below 2^32 - 1. */
function isArrayIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  return /^(?:0|[1-9][0-9]{0,9})$/.test(k) && Number(k) < 4294967295;
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
