/**
 * Scenarios as data: their schema, loading and validation. A scenario sets
 * up files, mms and secondary MMUs and lists operations (steps); it never
 * states an expected result.
 *
 * @module
 */
import { PAGE_SIZE } from "../model/types.ts";
import { ALLOC_KINDS, type AllocKind } from "../kernel/context.ts";
import { KERNEL_BASES, type KernelBase } from "./revision.ts";
import {
  expectAddress,
  expectBool,
  expectObject,
  expectString,
  InputError,
  type Json,
  readJsonFile,
} from "./errors.ts";

/** A file the scenario creates. */
export interface FileSpec {
  /** File name, as steps refer to it. */
  name: string;
  /** Size in pages. */
  pages: number;
  /** Backing filesystem: a regular file, shmem/tmpfs, hugetlbfs or an XIP file. */
  kind: "regular" | "shmem" | "hugetlbfs" | "xip";
  /** Whether the file's `vm_ops->page_mkwrite` exists, and what it returns. */
  pageMkwrite: "none" | "ok" | "fail";
  /**
   * 2.5.42 scenarios: the page indexes in the page cache when the scenario
   * starts (`"all"`, `"none"` or a list); the others are on disk (swapped,
   * for shmem) and are read in by a blocking lookup.
   */
  cached?: number[];
}

/** A secondary MMU the scenario attaches. */
export interface SecondarySpec {
  /** Notifier id, as steps refer to it. */
  id: string;
  /** The driver: a KVM shadow MMU or an HMM device mirror. */
  driver: "kvm" | "hmm" | "gru" | "xpmem";
  /** The mm it mirrors (and registers its notifier on). */
  mm: string;
}

/**
 * What an operation field holds: an mm, address, length, secondary or file
 * name, a count, a boolean, or one of a list of strings.
 */
export type FieldType =
  | "mm"
  | "addr"
  | "len"
  | "secondary"
  | "file"
  | "count"
  | "word"
  | "bool"
  | readonly string[];

/** Every operation and its fields (`?` marks an optional field). */
export const OPS: Record<string, Record<string, FieldType>> = {
  mmap: {
    mm: "mm",
    addr: "addr",
    len: "len",
    prot: ["none", "r", "rw"],
    share: ["private", "shared"],
    "file?": "file",
    "pgoff?": "count",
    "locked?": "bool",
    "populate?": "bool",
    "nonblock?": "bool",
  },
  munmap: { mm: "mm", addr: "addr", len: "len" },
  touch: { mm: "mm", addr: "addr", access: ["read", "write"] },
  guest: { secondary: "secondary", addr: "addr", access: ["read", "write"] },
  snapshot: { secondary: "secondary", addr: "addr", len: "len" },
  register: { secondary: "secondary", "holding_mmap_sem?": "bool" },
  unregister: { secondary: "secondary", "holding_mmap_sem?": "bool", "free?": "bool" },
  fork: { mm: "mm", child: "mm" },
  exit: { mm: "mm" },
  mremap: { mm: "mm", addr: "addr", len: "len", new_addr: "addr" },
  madvise_dontneed: { mm: "mm", addr: "addr", len: "len" },
  truncate: { file: "file", pages: "count", "contended?": "bool" },
  mprotect: { mm: "mm", addr: "addr", len: "len", prot: ["none", "r", "rw"] },
  remap_pfn_range: { mm: "mm", addr: "addr", len: "len", pfn: "count" },
  apply_to_page_range: { mm: "mm", addr: "addr", len: "len" },
  xip_write: { file: "file", index: "count" },
  remap_file_pages: { mm: "mm", addr: "addr", len: "len", pgoff: "count", "nonblock?": "bool" },
  reclaim: { mm: "mm", addr: "addr" },
  writeback: { file: "file", index: "count" },
  race: {},
  sys_remap_file_pages: {
    mm: "mm",
    start: "word",
    size: "word",
    prot: "word",
    pgoff: "word",
    "flags?": "word",
  },
  read: { mm: "mm", addr: "word" },
  evict: { file: "file", "index?": "count" },
};

/** The operations a scenario of each kernel tree may use. */
export const KERNEL_OPS: Record<KernelBase, readonly string[]> = {
  "2.6.24": Object.keys(OPS).filter((op) =>
    !["sys_remap_file_pages", "read", "evict"].includes(op)
  ),
  "2.5.42": ["mmap", "munmap", "exit", "sys_remap_file_pages", "read", "evict"],
};

/** Fields only a 2.5.42 scenario's operations may set. */
const FIELDS_2542: Record<string, string[]> = { mmap: ["populate", "nonblock"] };

/** Fields every operation may carry. */
const COMMON = ["op", "fail", "during", "thread", "outside", "note"];

/** One operation of a scenario (fields as validated; addresses as numbers). */
export interface Step {
  /** The operation, a key of {@link OPS}. */
  op: string;
  /** The operation's fields, by name (without the `?` of an optional one). */
  args: Record<string, string | number | boolean>;
  /** Allocation ordinals (per kind, 1-based within the step) that fail. */
  fail: Partial<Record<AllocKind, number[]>>;
  /** Another operation started on another thread when this one reaches a scheduling point. */
  during?: { at: string; step: Step };
  /** Thread the operation runs on. */
  thread: string;
  /** The address is outside any mapping on purpose. */
  outside: boolean;
  /** For `race`: the operations of each thread, run concurrently. */
  threads?: Record<string, Step[]>;
}

/** A loaded scenario. */
export interface Scenario {
  /** Scenario id: its file name without `.json`. */
  id: string;
  /** Path of the JSON file it was loaded from. */
  file: string;
  /** What the scenario exercises, in one sentence. */
  purpose: string;
  /** Kernel paths the scenario is about. */
  exercises: string[];
  /** The seed text it reproduces. */
  cite: string;
  /** The kernel tree it is written for (default 2.6.24): it runs on that tree's revisions. */
  kernel: KernelBase;
  /** Files it creates before the first step. */
  files: FileSpec[];
  /** Secondary MMUs it attaches (registered by a `register` step). */
  secondaries: SecondarySpec[];
  /** Its operations, in order. */
  steps: Step[];
  /** The file's JSON, canonical, for the content hash. */
  source: unknown;
}

/** Parses and validates a scenario object read from `file`. */
export function parseScenario(raw: unknown, file: string, id: string): Scenario {
  const top = expectObject(raw, file, "", [
    "purpose",
    "exercises",
    "cite",
    "kernel",
    "files",
    "secondaries",
    "steps",
  ]);
  const kernel = (expectString(top, "kernel", file, "", {
    optional: true,
    oneOf: KERNEL_BASES,
  }) ?? "2.6.24") as KernelBase;
  const purpose = expectString(top, "purpose", file, "")!;
  const cite = expectString(top, "cite", file, "")!;
  const exercises = stringList(top.exercises, file, "exercises");
  const files: FileSpec[] = list(top.files ?? [], file, "files").map((f, i) => {
    const field = `files[${i}]`;
    const o = expectObject(f, file, field, ["name", "pages", "kind", "page_mkwrite", "cached"]);
    let cached: number[] | undefined;
    if (o.cached !== undefined) {
      if (kernel !== "2.5.42") {
        throw new InputError(file, `${field}.cached`, 'is only for a "kernel": "2.5.42" scenario');
      }
      const pages = Number(o.pages);
      if (o.cached === "all" || o.cached === "none") {
        cached = o.cached === "all"
          ? [...Array(Number.isSafeInteger(pages) ? pages : 0).keys()]
          : [];
      } else if (Array.isArray(o.cached)) {
        cached = o.cached.map((n, j) => {
          if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n >= pages) {
            throw new InputError(
              file,
              `${field}.cached[${j}]`,
              `is ${JSON.stringify(n)} (expected a page index below ${pages})`,
            );
          }
          return n;
        });
      } else {
        throw new InputError(
          file,
          `${field}.cached`,
          'must be "all", "none" or a list of page indexes',
        );
      }
    }
    return {
      ...(cached ? { cached } : {}),
      name: expectString(o, "name", file, field)!,
      pages: expectAddress(o, "pages", file, field)!,
      kind: expectString(o, "kind", file, field, {
        oneOf: ["regular", "shmem", "hugetlbfs", "xip"],
      }) as FileSpec["kind"],
      pageMkwrite: (expectString(o, "page_mkwrite", file, field, {
        optional: true,
        oneOf: ["none", "ok", "fail"],
      }) ?? "none") as FileSpec["pageMkwrite"],
    };
  });
  const secondaries: SecondarySpec[] = list(top.secondaries ?? [], file, "secondaries").map(
    (s, i) => {
      const field = `secondaries[${i}]`;
      const o = expectObject(s, file, field, ["id", "driver", "mm"]);
      return {
        id: expectString(o, "id", file, field)!,
        driver: expectString(o, "driver", file, field, {
          oneOf: ["kvm", "hmm", "gru", "xpmem"],
        }) as SecondarySpec["driver"],
        mm: expectString(o, "mm", file, field)!,
      };
    },
  );
  if (kernel === "2.5.42" && secondaries.length) {
    throw new InputError(file, "secondaries", "must be empty: 2.5.42 has no secondary MMU API");
  }
  const ctx = { file, files, secondaries, kernel };
  const steps = list(top.steps, file, "steps").map((s, i) => parseStep(s, ctx, `steps[${i}]`));
  if (steps.length === 0) throw new InputError(file, "steps", "must list at least one operation");
  validateLayout(steps, ctx);
  return { id, file, purpose, exercises, cite, kernel, files, secondaries, steps, source: raw };
}

function list(v: Json | undefined, file: string, field: string): Json[] {
  if (!Array.isArray(v)) throw new InputError(file, field, "must be an array");
  return v;
}

function stringList(v: Json | undefined, file: string, field: string): string[] {
  return list(v, file, field).map((x, i) => {
    if (typeof x !== "string") throw new InputError(file, `${field}[${i}]`, "must be a string");
    return x;
  });
}

interface ParseCtx {
  file: string;
  files: FileSpec[];
  secondaries: SecondarySpec[];
  kernel: KernelBase;
}

function parseStep(raw: Json, ctx: ParseCtx, field: string): Step {
  const { file } = ctx;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new InputError(file, field, "must be an object");
  }
  const op = expectString(raw as Record<string, Json>, "op", file, field, {
    oneOf: Object.keys(OPS),
  })!;
  if (!KERNEL_OPS[ctx.kernel].includes(op)) {
    throw new InputError(
      file,
      `${field}.op`,
      `is "${op}", which a ${ctx.kernel} scenario cannot use (expected one of: ${
        KERNEL_OPS[ctx.kernel].join(", ")
      })`,
    );
  }
  const spec = OPS[op];
  const names = Object.keys(spec).map((k) => k.replace(/\?$/, ""));
  if (ctx.kernel !== "2.5.42") {
    for (const name of FIELDS_2542[op] ?? []) {
      const v = (raw as Record<string, Json>)[name];
      if (v !== undefined) {
        throw new InputError(file, `${field}.${name}`, 'is only for a "kernel": "2.5.42" scenario');
      }
    }
  }
  const o = expectObject(raw, file, field, [
    ...COMMON,
    ...names,
    ...(op === "race" ? ["threads"] : []),
  ]);
  const args: Step["args"] = {};
  for (const [key, type] of Object.entries(spec)) {
    const name = key.replace(/\?$/, "");
    const optional = key.endsWith("?");
    const f = `${field}.${name}`;
    if (o[name] === undefined) {
      if (!optional) throw new InputError(file, f, "is missing");
      continue;
    }
    if (Array.isArray(type)) {
      args[name] = expectString(o, name, file, field, { oneOf: type })!;
    } else if (type === "addr" || type === "len" || type === "count") {
      const n = expectAddress(o, name, file, field)!;
      if (type !== "count" && n % PAGE_SIZE !== 0) {
        throw new InputError(file, f, `is ${n.toString(16)} (expected a multiple of 0x1000)`);
      }
      if (type === "len" && n === 0) throw new InputError(file, f, "must not be zero");
      args[name] = n;
    } else if (type === "word") {
      const n = expectAddress(o, name, file, field)!;
      if (n > 0xffffffff) {
        throw new InputError(
          file,
          f,
          `is 0x${n.toString(16)} (expected an i386 unsigned long, at most 0xffffffff)`,
        );
      }
      args[name] = n;
    } else if (type === "bool") {
      args[name] = expectBool(o, name, file, field)!;
    } else {
      const v = expectString(o, name, file, field)!;
      if (type === "secondary" && !ctx.secondaries.some((s) => s.id === v)) {
        throw new InputError(
          file,
          f,
          `names secondary "${v}", which the scenario does not declare`,
        );
      }
      if (type === "file" && !ctx.files.some((s) => s.name === v)) {
        throw new InputError(file, f, `names file "${v}", which the scenario does not declare`);
      }
      args[name] = v;
    }
  }
  const fail: Step["fail"] = {};
  if (o.fail !== undefined) {
    const fo = expectObject(o.fail, file, `${field}.fail`, ALLOC_KINDS);
    for (const [kind, v] of Object.entries(fo)) {
      const arr = Array.isArray(v) ? v : [v];
      fail[kind as AllocKind] = arr.map((n, i) => {
        if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
          throw new InputError(
            file,
            `${field}.fail.${kind}[${i}]`,
            "must be a positive integer (the nth allocation)",
          );
        }
        return n;
      });
    }
  }
  let during: Step["during"];
  if (o.during !== undefined) {
    const d = expectObject(o.during, file, `${field}.during`, ["at", "step"]);
    const at = expectString(d, "at", file, `${field}.during`)!;
    const inner = parseStep(d.step, ctx, `${field}.during.step`);
    if (inner.thread === "cpu0" && op !== "guest") inner.thread = "cpu1";
    during = { at, step: inner };
  }
  const thread = expectString(o, "thread", file, field, { optional: true }) ??
    (op === "guest" ? "vcpu0" : op === "snapshot" ? "dev0" : "cpu0");
  let threads: Step["threads"];
  if (op === "race") {
    const t = expectObject(o.threads, file, `${field}.threads`, Object.keys(o.threads ?? {}));
    const names = Object.keys(t);
    if (names.length < 2) {
      throw new InputError(file, `${field}.threads`, "must name at least two threads");
    }
    threads = {};
    for (const name of names) {
      threads[name] = list(t[name], file, `${field}.threads.${name}`).map((s, i) => {
        const inner = parseStep(s, ctx, `${field}.threads.${name}[${i}]`);
        if (inner.op === "race" || inner.during) {
          throw new InputError(
            file,
            `${field}.threads.${name}[${i}]`,
            "cannot nest a race or a during",
          );
        }
        inner.thread = name;
        return inner;
      });
    }
  }
  return {
    op,
    args,
    fail,
    during,
    thread,
    outside: expectBool(o, "outside", file, field) ?? false,
    threads,
  };
}

/**
 * Checks every address against the mappings the scenario has created up to
 * that step, so a typo in an address is an input error, not a silent SIGSEGV.
 */
function validateLayout(steps: Step[], ctx: ParseCtx): void {
  const layout: Record<string, [number, number][]> = {};
  const mmOf = (s: Step) =>
    s.op === "guest" || s.op === "snapshot"
      ? ctx.secondaries.find((x) => x.id === s.args.secondary)!.mm
      : String(s.args.mm);
  const check = (s: Step, field: string) => {
    if (s.outside || s.args.addr === undefined || s.op === "mmap") return;
    const mm = mmOf(s);
    const a = Number(s.args.addr);
    const len = Number(s.args.len ?? (s.op === "read" ? 1 : PAGE_SIZE));
    const ok = (layout[mm] ?? []).some(([lo, hi]) => lo <= a && a + len <= hi);
    if (!ok) {
      throw new InputError(
        ctx.file,
        `${field}.addr`,
        `is 0x${
          a.toString(16)
        }, outside any mapping of mm "${mm}" at that step (set "outside": true if intended)`,
      );
    }
  };
  const remove = (mm: string, lo: number, hi: number) => {
    const out: [number, number][] = [];
    for (const [a, b] of layout[mm] ?? []) {
      if (b <= lo || a >= hi) out.push([a, b]);
      else {
        if (a < lo) out.push([a, lo]);
        if (b > hi) out.push([hi, b]);
      }
    }
    layout[mm] = out;
  };
  steps.forEach((s, i) => {
    const field = `steps[${i}]`;
    check(s, field);
    if (s.during) check(s.during.step, `${field}.during.step`);
    for (const [name, ops] of Object.entries(s.threads ?? {})) {
      ops.forEach((t, j) => check(t, `${field}.threads.${name}[${j}]`));
    }
    const mm = String(s.args.mm);
    const a = Number(s.args.addr);
    const len = Number(s.args.len);
    if (s.op === "mmap") {
      remove(mm, a, a + len);
      (layout[mm] ??= []).push([a, a + len]);
    } else if (s.op === "munmap") {
      remove(mm, a, a + len);
    } else if (s.op === "mremap") {
      const to = Number(s.args.new_addr);
      remove(mm, to, to + len);
      remove(mm, a, a + len);
      (layout[mm] ??= []).push([to, to + len]);
    } else if (s.op === "fork") {
      layout[String(s.args.child)] = [...(layout[mm] ?? [])];
    } else if (s.op === "exit") {
      layout[mm] = [];
    }
  });
}

/** Loads a scenario file; its id is the file name without `.json`. */
export function loadScenario(path: string): Scenario {
  const id = path.replace(/^.*\//, "").replace(/\.json$/, "");
  return parseScenario(readJsonFile(path), path, id);
}

/** Loads every `*.json` scenario of a directory, sorted by id. */
export function loadScenarioDir(dir: string): Scenario[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
  }
  return names.sort().map((n) => loadScenario(`${dir}/${n}`));
}
