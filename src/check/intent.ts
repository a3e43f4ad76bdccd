/**
 * What the user asked each address of a 2.5.42 scenario to show, kept from
 * the system calls the user made (never from what the kernel did): `mmap`
 * maps a file linearly, `munmap` removes pages, a successful
 * `remap_file_pages` puts the requested file pages there, and a failed one
 * leaves either the old or the requested page (a failure may be partial).
 * Also the reference return value of `remap_file_pages` for an input.
 *
 * @module
 */
import type { MmState } from "../model/types.ts";
import { PAGE_SIZE } from "../model/types.ts";
import { findVma, vpn } from "../model/state.ts";
import { dict } from "../model/_dict.ts";

/** File pages (`file:index`) a user may find at an address; "any" when the request was ambiguous. */
export type Expected = string[] | "any";

/** Pages of one request the intent follows at most (a bound on absurd sizes). */
const MAX_PAGES = 1 << 16;

/** The user's picture of every mm's address space. */
export class UserIntent {
  /** mm -> vpn -> what the user expects there. */
  readonly pages: Record<string, Record<number, Expected>> = dict();

  private of(mm: string): Record<number, Expected> {
    return this.pages[mm] ??= {};
  }

  /** Records a returned system call. */
  record(
    state: MmState,
    mm: string,
    call: string,
    args: Record<string, number | boolean | string>,
    ret: number,
  ): void {
    const pages = this.of(mm);
    if (call === "mmap") {
      const addr = Number(args.addr);
      const n = Number(args.len) / PAGE_SIZE;
      for (let i = 0; i < n; i++) {
        if (args.file === undefined) delete pages[vpn(addr) + i];
        else pages[vpn(addr) + i] = [`${args.file}:${Number(args.pgoff ?? 0) + i}`];
      }
    } else if (call === "munmap") {
      const n = Number(args.len) / PAGE_SIZE;
      for (let i = 0; i < n; i++) delete pages[vpn(Number(args.addr)) + i];
    } else if (call === "remap_file_pages") {
      const start = Number(args.start);
      const size = Number(args.size);
      const end = start + size;
      const first = vpn(start);
      const last = Math.ceil(Math.min(end, 2 ** 32) / PAGE_SIZE);
      const aligned = start % PAGE_SIZE === 0 && size % PAGE_SIZE === 0;
      const vma = findVma(state.mms[mm], start - (start % PAGE_SIZE));
      for (let p = first, i = 0; p < last && i < MAX_PAGES; p++, i++) {
        if (!(p in pages)) continue; // no mapping the user knows of: a read there may fault
        if (!aligned || !vma?.file) {
          pages[p] = "any";
          continue;
        }
        const asked = `${vma.file}:${Number(args.pgoff) + i}`;
        const old = pages[p];
        if (ret === 0) pages[p] = [asked];
        else pages[p] = old === "any" ? "any" : [...new Set([...old, asked])];
      }
    }
  }

  /** What the user expects at `addr` of `mm`, if anything. */
  expected(mm: string, addr: number): Expected | undefined {
    return this.pages[mm]?.[vpn(addr)];
  }
}

/** Whether a read result (`file:index`, `anon`, a signal or `hang`) contradicts what is expected. */
export function isWrongPage(expected: Expected | undefined, sees: string): boolean {
  if (expected === undefined || expected === "any") return false;
  if (!/:\d+$/.test(sees)) return false; // a signal, a hang or a private copy is not a file page
  return !expected.includes(sees);
}

/** The return values the reference semantics allow for one `remap_file_pages` call, and why. */
export interface Reference {
  /** Allowed return values. */
  accept: number[];
  /** The rule that decides them. */
  why: string;
}

/**
 * The reference semantics of `remap_file_pages(start, size, prot, pgoff,
 * flags)`, from the seed: an empty range is refused; for page-aligned
 * arguments the range must lie in one shared vma with a
 * `->populate` ("Make sure the vma is shared, that it supports
 * prefaulting, and that the remapped range is valid and fully within the
 * single existing vma", F8 mm/fremap.c), else -EINVAL; file pages past the
 * end of the file are refused (F8's filemap_populate returns -EINVAL, its
 * shmem_populate -EFAULT: either); MAP_NONBLOCK skips pages not in the page
 * cache without failing ("prefault all pages that are in the pagecache
 * already, but cause no further IO", F8 cover letter; Ingo Molnar on -ENOMEM
 * for nonblock: "true, this is a bug"); -ENOMEM only when an allocation fails.
 * An unaligned start or size has no stated meaning (F8 rounds both up,
 * 2.6.24 both down): any of 0, -EINVAL and -EFAULT is accepted for it.
 */
export function remapReference(
  state: MmState,
  mm: string,
  args: Record<string, number | boolean | string>,
  allocationsFail: boolean,
): Reference {
  const start = Number(args.start);
  const size = Number(args.size);
  const pgoff = Number(args.pgoff);
  if (size === 0) return { accept: [-22], why: "the range is empty" };
  if (start % PAGE_SIZE || size % PAGE_SIZE) {
    return {
      accept: allocationsFail ? [0, -22, -14, -12] : [0, -22, -14],
      why: "start or size is not page aligned: F8 rounds both up, 2.6.24 rounds both down and " +
        "refuses an empty span, and the seed states no rule",
    };
  }
  const end = start + size;
  if (end > 2 ** 32) {
    return { accept: [-22], why: "the range wraps past the end of the address space" };
  }
  const vma = state.mms[mm] ? findVma(state.mms[mm], start) : undefined;
  if (!vma || end > vma.end) return { accept: [-22], why: "the range is not within one vma" };
  if (!vma.shared) return { accept: [-22], why: "the vma is not shared" };
  if (vma.kind !== "file" || !vma.file) return { accept: [-22], why: "the vma has no ->populate" };
  const n = size / PAGE_SIZE;
  if (pgoff + n > state.files[vma.file].size) {
    return { accept: [-22, -14], why: "the file pages asked for run past the end of the file" };
  }
  if (allocationsFail) return { accept: [0, -12], why: "an allocation fails during the call" };
  const nonblock = (Number(args.flags ?? 0) & 0x10000) !== 0;
  return {
    accept: [0],
    why: nonblock
      ? "every page is in the file; MAP_NONBLOCK skips pages not in the page cache without failing"
      : "every page is in the file and every allocation succeeds",
  };
}
