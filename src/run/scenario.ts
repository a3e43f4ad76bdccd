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
  checkDepth,
  checkId,
  expectAddress,
  expectBool,
  expectId,
  expectObject,
  expectString,
  InputError,
  type Json,
  listJsonFiles,
  readJsonFile,
  refuseOtherFormat,
  withoutSchemaRef,
} from "./errors.ts";
import { LIMITS } from "./limits.ts";

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
 * What an operation field holds: an mm, address, length (page aligned; a
 * `byte-` one may be any byte, for a system call that sanitizes its
 * arguments itself), secondary or file name, a count (a page offset or frame
 * number, at most `0xffffffff`), a page index or size within a file (at most
 * `LIMITS.pages`), an i386 word, a boolean, or one of a list of strings.
 */
export type FieldType =
  | "mm"
  | "addr"
  | "len"
  | "byte-addr"
  | "byte-len"
  | "secondary"
  | "file"
  | "count"
  | "index"
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
  destroy_vm: { secondary: "secondary" },
  fork: { mm: "mm", child: "mm" },
  exit: { mm: "mm" },
  mremap: { mm: "mm", addr: "addr", len: "len", new_addr: "addr" },
  madvise_dontneed: { mm: "mm", addr: "addr", len: "len" },
  truncate: { file: "file", pages: "index", "contended?": "bool" },
  mprotect: { mm: "mm", addr: "addr", len: "len", prot: ["none", "r", "rw"] },
  remap_pfn_range: { mm: "mm", addr: "addr", len: "len", pfn: "count" },
  apply_to_page_range: { mm: "mm", addr: "addr", len: "len" },
  xip_write: { file: "file", index: "index" },
  remap_file_pages: {
    mm: "mm",
    addr: "byte-addr",
    len: "byte-len",
    pgoff: "count",
    "nonblock?": "bool",
  },
  reclaim: { mm: "mm", addr: "addr" },
  writeback: { file: "file", index: "index" },
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
  evict: { file: "file", "index?": "index" },
};

/** The operations a scenario of each kernel tree may use. */
export const KERNEL_OPS: Record<KernelBase, readonly string[]> = {
  "2.6.24": Object.keys(OPS).filter((op) =>
    !["sys_remap_file_pages", "read", "evict"].includes(op)
  ),
  "2.5.42": ["mmap", "munmap", "exit", "sys_remap_file_pages", "read", "evict"],
};

/** Fields only a 2.5.42 scenario's operations may set. */
export const FIELDS_2542: Record<string, readonly string[]> = { mmap: ["populate", "nonblock"] };

/** Fields every operation may carry. */
export const STEP_FIELDS: readonly string[] = [
  "op",
  "fail",
  "fail_optional",
  "during",
  "thread",
  "outside",
  "note",
];

/** The top-level fields of a scenario file. */
export const SCENARIO_FIELDS: readonly string[] = [
  "purpose",
  "exercises",
  "cite",
  "kernel",
  "files",
  "secondaries",
  "steps",
];

/** The fields of a `files` entry, and the values of those that take one of a list. */
export const FILE_FIELDS = {
  kind: ["regular", "shmem", "hugetlbfs", "xip"],
  page_mkwrite: ["none", "ok", "fail"],
} as const;

/** The drivers a `secondaries` entry may name. */
export const DRIVERS: readonly SecondarySpec["driver"][] = ["kvm", "hmm", "gru", "xpmem"];

/** One operation of a scenario (fields as validated; addresses as numbers). */
export interface Step {
  /** The operation, a key of {@link OPS}. */
  op: string;
  /** The operation's fields, by name (without the `?` of an optional one). */
  args: Record<string, string | number | boolean>;
  /** Allocation ordinals (per kind, 1-based within the step) that fail. */
  fail: Partial<Record<AllocKind, number[]>>;
  /**
   * `fail_optional`: on a revision whose call returns before it makes the
   * allocations `fail` names (an API that refuses the arguments earlier), the
   * step runs without them instead of stopping the run with a ScenarioError.
   */
  failOptional?: boolean;
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

/**
 * Parses and validates a scenario object read from `file`. Every count and
 * size is checked against {@link LIMITS}, every mm, file, secondary and
 * thread name against `ID_PATTERN`.
 *
 * @param raw The parsed JSON.
 * @param file Where it came from, for messages.
 * @param id The scenario id (its file name without `.json`).
 * @returns The scenario.
 * @throws {InputError} Naming the file and the field, and what was expected.
 *
 * @example
 * ```ts
 * import { parseScenario } from "./scenario.ts";
 * const s = parseScenario({
 *   purpose: "A write fault on a private mapping",
 *   exercises: ["do_wp_page"],
 *   cite: "example",
 *   steps: [
 *     { op: "mmap", mm: "A", addr: "0x100000", len: "0x1000", prot: "rw", share: "private" },
 *     { op: "touch", mm: "A", addr: "0x100000", access: "write" },
 *   ],
 * }, "example.json", "example");
 * console.log(s.steps.length);
 * ```
 */
export function parseScenario(raw: unknown, file: string, id: string): Scenario {
  // Before anything recurses over it (the content hash does).
  checkDepth(raw, file);
  // Any file name is an id (reports escape it), except the one name objects keyed by ids
  // would take for their prototype.
  if (id === "__proto__") {
    throw new InputError(
      file,
      "(file)",
      'name gives the scenario id "__proto__", which JavaScript objects treat as their prototype (expected another name)',
    );
  }
  raw = withoutSchemaRef(raw, file);
  refuseOtherFormat(raw, file, ["paths", "extends", "lineage", "chain", "nonlinear"], {
    looksLike: "a revision file",
    use: "--patches or --revision",
  });
  const top = expectObject(raw, file, "", SCENARIO_FIELDS);
  const kernel = (expectString(top, "kernel", file, "", {
    optional: true,
    oneOf: KERNEL_BASES,
  }) ?? "2.6.24") as KernelBase;
  const purpose = expectString(top, "purpose", file, "")!;
  const cite = expectString(top, "cite", file, "")!;
  const exercises = stringList(top.exercises, file, "exercises");
  const budget = { file, used: 0, ops: 0 };
  const files: FileSpec[] = list(top.files ?? [], file, "files", LIMITS.declared).map((f, i) => {
    const field = `files[${i}]`;
    const o = expectObject(f, file, field, ["name", "pages", "kind", "page_mkwrite", "cached"]);
    const name = expectId(o, "name", file, field)!;
    const pages = expectAddress(o, "pages", file, field)!;
    if (pages > LIMITS.pages) {
      throw new InputError(file, `${field}.pages`, `must be at most ${LIMITS.pages} pages`);
    }
    let cached: number[] | undefined;
    if (o.cached !== undefined) {
      if (kernel !== "2.5.42") {
        throw new InputError(file, `${field}.cached`, 'is only for a "kernel": "2.5.42" scenario');
      }
      if (o.cached === "all" || o.cached === "none") {
        cached = o.cached === "all" ? [...Array(pages).keys()] : [];
      } else if (Array.isArray(o.cached)) {
        if (o.cached.length > pages) {
          throw new InputError(
            file,
            `${field}.cached`,
            `lists ${o.cached.length} indexes (expected at most one per page, ${pages})`,
          );
        }
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
      // Cached pages exist from the start; the others cost nothing until an operation maps them.
      spend(budget, new Set(cached).size, `${field}.cached`);
    }
    return {
      ...(cached ? { cached } : {}),
      name,
      pages,
      kind: expectString(o, "kind", file, field, {
        oneOf: FILE_FIELDS.kind,
      }) as FileSpec["kind"],
      pageMkwrite: (expectString(o, "page_mkwrite", file, field, {
        optional: true,
        oneOf: FILE_FIELDS.page_mkwrite,
      }) ?? "none") as FileSpec["pageMkwrite"],
    };
  });
  unique(files.map((f) => f.name), file, "files", "name");
  const secondaries: SecondarySpec[] = list(
    top.secondaries ?? [],
    file,
    "secondaries",
    LIMITS.declared,
  ).map(
    (s, i) => {
      const field = `secondaries[${i}]`;
      const o = expectObject(s, file, field, ["id", "driver", "mm"]);
      return {
        id: expectId(o, "id", file, field)!,
        driver: expectString(o, "driver", file, field, {
          oneOf: DRIVERS,
        }) as SecondarySpec["driver"],
        mm: expectId(o, "mm", file, field)!,
      };
    },
  );
  unique(secondaries.map((s) => s.id), file, "secondaries", "id");
  if (kernel === "2.5.42" && secondaries.length) {
    throw new InputError(file, "secondaries", "must be empty: 2.5.42 has no secondary MMU API");
  }
  const ctx = { file, files, secondaries, kernel, budget };
  const steps = list(top.steps, file, "steps", LIMITS.operations).map((s, i) =>
    parseStep(s, ctx, `steps[${i}]`)
  );
  if (steps.length === 0) throw new InputError(file, "steps", "must list at least one operation");
  validateLayout(steps, ctx);
  return { id, file, purpose, exercises, cite, kernel, files, secondaries, steps, source: raw };
}

function list(v: Json | undefined, file: string, field: string, max?: number): Json[] {
  if (!Array.isArray(v)) throw new InputError(file, field, "must be an array");
  if (max !== undefined && v.length > max) {
    throw new InputError(file, field, `lists ${v.length} entries (expected at most ${max})`);
  }
  return v;
}

function stringList(v: Json | undefined, file: string, field: string): string[] {
  return list(v, file, field).map((x, i) => {
    if (typeof x !== "string") throw new InputError(file, `${field}[${i}]`, "must be a string");
    return x;
  });
}

/** Throws on the second entry of `ids` that repeats an earlier one. */
function unique(ids: string[], file: string, field: string, key: string): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) {
      throw new InputError(
        file,
        `${field}[${i}].${key}`,
        `is "${id}", already used by ${field}[${ids.indexOf(id)}]`,
      );
    }
    seen.add(id);
  });
}

/** What a scenario's operations cost so far, against `LIMITS.totalPages` and `LIMITS.operations`. */
interface Budget {
  file: string;
  /** Pages covered: operations' ranges, forks' copies, cached file pages. */
  used: number;
  /** Operations parsed, those of races and durings included. */
  ops: number;
}

/** Counts `pages` (of an operation's range, the mappings a fork copies, or cached file pages). */
function spend(budget: Budget, pages: number, field: string): void {
  budget.used += pages;
  if (budget.used > LIMITS.totalPages) {
    throw new InputError(
      budget.file,
      field,
      `brings the pages the scenario's operations, forks and cached files cover to ${budget.used} (expected at most ${LIMITS.totalPages} in all)`,
    );
  }
}

interface ParseCtx {
  file: string;
  files: FileSpec[];
  secondaries: SecondarySpec[];
  kernel: KernelBase;
  budget: Budget;
}

/** The thread a step runs on when it names none. */
function defaultThread(op: string): string {
  return op === "guest" ? "vcpu0" : op === "snapshot" ? "dev0" : "cpu0";
}

function parseStep(raw: Json, ctx: ParseCtx, field: string): Step {
  const { file } = ctx;
  if (++ctx.budget.ops > LIMITS.operations) {
    throw new InputError(
      file,
      field,
      `is operation ${ctx.budget.ops} of the scenario (expected at most ${LIMITS.operations}, counting those of races and durings)`,
    );
  }
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
    ...STEP_FIELDS,
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
    } else if (
      type === "addr" || type === "len" || type === "byte-addr" || type === "byte-len" ||
      type === "count" || type === "index"
    ) {
      const n = expectAddress(o, name, file, field)!;
      if ((type === "addr" || type === "len") && n % PAGE_SIZE !== 0) {
        throw new InputError(file, f, `is ${n.toString(16)} (expected a multiple of 0x1000)`);
      }
      const len = type === "len" || type === "byte-len";
      if (len && n === 0) throw new InputError(file, f, "must not be zero");
      if (len && n > LIMITS.pages * PAGE_SIZE) {
        throw new InputError(
          file,
          f,
          `is 0x${n.toString(16)}, ${
            n / PAGE_SIZE
          } pages (expected at most ${LIMITS.pages} pages, 0x${
            (LIMITS.pages * PAGE_SIZE).toString(16)
          })`,
        );
      }
      if (len) spend(ctx.budget, Math.ceil(n / PAGE_SIZE), f);
      if (type === "index" && n > LIMITS.pages) {
        throw new InputError(
          file,
          f,
          `is ${n} (expected at most ${LIMITS.pages}, the pages of a file)`,
        );
      }
      if (type === "count" && n > 0xffffffff) {
        throw new InputError(file, f, `is 0x${n.toString(16)} (expected at most 0xffffffff)`);
      }
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
    } else if (type === "mm") {
      args[name] = expectId(o, name, file, field)!;
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
      const f = `${field}.fail.${kind}`;
      if (arr.length > LIMITS.fails) {
        throw new InputError(
          file,
          f,
          `lists ${arr.length} allocations (expected at most ${LIMITS.fails})`,
        );
      }
      fail[kind as AllocKind] = arr.map((n, i) => {
        if (
          typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > LIMITS.failOrdinal
        ) {
          throw new InputError(
            file,
            `${f}[${i}]`,
            `is ${
              JSON.stringify(n)
            } (expected a positive integer, the nth allocation, at most ${LIMITS.failOrdinal})`,
          );
        }
        if (arr.indexOf(n) !== i) {
          throw new InputError(
            file,
            `${f}[${i}]`,
            `is ${n}, already listed at [${arr.indexOf(n)}]`,
          );
        }
        return n;
      });
    }
  }
  const failOptional = expectBool(o, "fail_optional", file, field);
  if (failOptional !== undefined && (!failOptional || Object.keys(fail).length === 0)) {
    throw new InputError(
      file,
      `${field}.fail_optional`,
      "is set without a fail, or not true (expected true, beside a fail)",
    );
  }
  if (op === "race" && o.thread !== undefined) {
    throw new InputError(
      file,
      `${field}.thread`,
      "is set on a race (expected none: a race's threads are the keys of its threads)",
    );
  }
  const thread = expectId(o, "thread", file, field, { optional: true }) ?? defaultThread(op);
  let during: Step["during"];
  if (o.during !== undefined) {
    const d = expectObject(o.during, file, `${field}.during`, ["at", "step"]);
    const at = expectString(d, "at", file, `${field}.during`)!;
    const inner = parseStep(d.step, ctx, `${field}.during.step`);
    const f = `${field}.during.step`;
    if (inner.op === "race" || inner.during) {
      throw new InputError(
        file,
        inner.op === "race" ? `${f}.op` : `${f}.during`,
        "nests a race or a during in a during (expected one operation)",
      );
    }
    if (Object.keys(inner.fail).length) {
      throw new InputError(
        file,
        `${f}.fail`,
        `is set on the started operation (expected it on ${field}: it counts the allocations of the whole step)`,
      );
    }
    // The started operation runs on another CPU than the one it interrupts.
    const own = d.step && typeof d.step === "object" && !Array.isArray(d.step) &&
      (d.step as Record<string, Json>).thread !== undefined;
    if (!own && inner.thread === "cpu0" && op !== "guest") inner.thread = "cpu1";
    // A default thread that is the interrupted one's (dev0 under dev0): the next of its kind.
    if (!own && inner.thread === thread) {
      inner.thread = thread.replace(/\d*$/, (n) => String(Number(n || 0) + 1));
    }
    // (A race's threads are checked below, once they are known.)
    if (inner.thread === thread && op !== "race") {
      throw new InputError(
        file,
        `${f}.thread`,
        `is "${inner.thread}", the thread of ${field} itself (expected another thread: name one with "thread")`,
      );
    }
    during = { at, step: inner };
  }
  let threads: Step["threads"];
  if (op === "race") {
    const t = expectObject(o.threads, file, `${field}.threads`, Object.keys(o.threads ?? {}));
    const names = Object.keys(t);
    if (names.length < 2) {
      throw new InputError(file, `${field}.threads`, "must name at least two threads");
    }
    if (names.length > LIMITS.threads) {
      throw new InputError(
        file,
        `${field}.threads`,
        `names ${names.length} threads (expected at most ${LIMITS.threads})`,
      );
    }
    // No prototype: a thread may be called "constructor" like any other name.
    threads = Object.create(null) as Record<string, Step[]>;
    for (const name of names) {
      const tf = `${field}.threads.${name}`;
      checkId(name, file, tf);
      const ops = list(t[name], file, tf, LIMITS.opsPerThread);
      if (ops.length === 0) throw new InputError(file, tf, "must list at least one operation");
      threads[name] = ops.map((s, i) => {
        const inner = parseStep(s, ctx, `${tf}[${i}]`);
        if (inner.op === "race" || inner.during) {
          throw new InputError(file, `${tf}[${i}]`, "cannot nest a race or a during");
        }
        if (Object.keys(inner.fail).length) {
          throw new InputError(
            file,
            `${tf}[${i}].fail`,
            `is set on a race thread's operation (expected it on ${field}: it counts the allocations of the whole step)`,
          );
        }
        const named = (s as Record<string, Json>).thread;
        if (named !== undefined && named !== name) {
          throw new InputError(
            file,
            `${tf}[${i}].thread`,
            `is "${named}" (expected none, or "${name}": the thread it is listed under)`,
          );
        }
        inner.thread = name;
        return inner;
      });
    }
    if (during && during.step.thread in threads) {
      throw new InputError(
        file,
        `${field}.during.step.thread`,
        `is "${during.step.thread}", a thread of the race (expected another thread: name one with "thread")`,
      );
    }
    checkMmRaces(file, [
      ...Object.entries(threads).flatMap(([name, ops]) =>
        ops.map((s, i) => ({ thread: name, step: s, field: `${field}.threads.${name}[${i}]` }))
      ),
      ...(during
        ? [{ thread: during.step.thread, step: during.step, field: `${field}.during.step` }]
        : []),
    ]);
  } else if (during) {
    checkMmRaces(file, [
      { thread, step: { op, args } as Step, field },
      { thread: during.step.thread, step: during.step, field: `${field}.during.step` },
    ]);
  }
  return {
    op,
    args,
    fail,
    ...(failOptional ? { failOptional } : {}),
    during,
    thread,
    outside: expectBool(o, "outside", file, field) ?? false,
    threads,
  };
}

/** The mms an operation runs in as one of their users (a thread of their process). */
function usersOf(step: Step): string[] {
  // Reclaim is kswapd's and exit is the teardown itself; the secondaries' operations name none.
  if (step.op === "reclaim" || step.op === "exit") return [];
  return [step.args.mm, step.args.child].filter((m): m is string => typeof m === "string");
}

/**
 * Refuses what the threads of one step cannot do at once in the kernel. An
 * operation may not run in an mm while another thread exits it: the
 * threads of a process hold `mm_users`, so `mmput()` runs `exit_mmap()`
 * only once every one of them has left the mm (v2.6.24 kernel/fork.c:399-405),
 * and the model would tear the mm down under a system call that holds its
 * mmap_sem; reclaim and the secondaries' operations hold no user and race
 * the teardown as they do in the kernel. And no operation may name the mm
 * another thread's fork creates: it exists only once that fork has made it.
 */
function checkMmRaces(file: string, ops: { thread: string; step: Step; field: string }[]): void {
  for (const o of ops) {
    for (const other of ops) {
      if (other.thread === o.thread) continue;
      const a = other.step.args;
      if (
        other.step.op === "exit" &&
        (usersOf(o.step).includes(String(a.mm)) || o.step.op === "exit" && o.step.args.mm === a.mm)
      ) {
        throw new InputError(
          file,
          o.field,
          `runs ${o.step.op} in mm "${a.mm}" while thread "${other.thread}" exits it (expected no other thread of the step in that mm: its threads hold mm_users, so exit_mmap() waits for them; reclaim and the secondaries' operations may race it)`,
        );
      }
      if (other.step.op === "fork" && [o.step.args.mm, o.step.args.child].includes(a.child)) {
        throw new InputError(
          file,
          o.field,
          `runs ${o.step.op} naming mm "${a.child}", which thread "${other.thread}" forks from "${a.mm}" in the same step (expected no other thread of the step to name the child: it exists only once the fork has made it)`,
        );
      }
    }
  }
}

/**
 * The threads a scenario's steps run on, each once, in order of first
 * appearance: the names `--schedule` may use.
 *
 * @param scenario A loaded scenario.
 * @returns Thread names.
 *
 * @example
 * ```ts
 * import { loadScenario, scenarioThreads } from "./scenario.ts";
 * console.log(scenarioThreads(loadScenario("scenarios/race-wp-copy-refault.json")));
 * ```
 */
export function scenarioThreads(scenario: Scenario): string[] {
  const out = new Set<string>();
  for (const s of scenario.steps) {
    out.add(s.threads ? "" : s.thread);
    if (s.during) out.add(s.during.step.thread);
    for (const name of Object.keys(s.threads ?? {})) out.add(name);
  }
  out.delete("");
  return [...out];
}

/**
 * Checks every address against the mappings the scenario has created up to
 * that step, so a typo in an address is an input error, not a silent SIGSEGV.
 */
function validateLayout(steps: Step[], ctx: ParseCtx): void {
  // No prototype: an mm may be called "constructor" like any other name.
  const layout = Object.create(null) as Record<string, [number, number][]>;
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
  // A fork copies every mapping of its mm: it counts their pages against LIMITS.totalPages.
  const charge = (s: Step, field: string) => {
    if (s.op !== "fork") return;
    const pages = (layout[String(s.args.mm)] ?? []).reduce((n, [lo, hi]) => n + (hi - lo), 0);
    spend(ctx.budget, pages / PAGE_SIZE, `${field}.mm`);
  };
  const visit = (s: Step, field: string) => {
    check(s, field);
    charge(s, field);
  };
  steps.forEach((s, i) => {
    const field = `steps[${i}]`;
    visit(s, field);
    if (s.during) visit(s.during.step, `${field}.during.step`);
    for (const [name, ops] of Object.entries(s.threads ?? {})) {
      ops.forEach((t, j) => visit(t, `${field}.threads.${name}[${j}]`));
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

/**
 * The id a scenario file gives its scenario: the file name without `.json`.
 *
 * @param path The file's path.
 * @returns The id.
 */
export function scenarioFileId(path: string): string {
  return path.replace(/^.*\//, "").replace(/\.json$/, "");
}

/** Loads a scenario file; its id is the file name without `.json`. */
export function loadScenario(path: string): Scenario {
  return parseScenario(readJsonFile(path), path, scenarioFileId(path));
}

/**
 * Loads the scenarios of a directory and scenario files given one by one
 * (`--scenario FILE`), sorted by id; ids must be unique.
 *
 * @param dir The scenario directory.
 * @param files More scenario files.
 * @returns The scenarios, sorted by id.
 * @throws {InputError} When a file's id is already used by another scenario.
 */
export function loadScenarioSet(dir: string, files: readonly string[] = []): Scenario[] {
  const out = loadScenarioDir(dir);
  for (const file of files) {
    const s = loadScenario(file);
    const other = out.find((x) => x.id === s.id);
    if (other) {
      throw new InputError(
        file,
        "(file)",
        `name gives the scenario id "${s.id}", already used by ${other.file} (expected another name)`,
      );
    }
    out.push(s);
  }
  // The order of the directory's files: by file name.
  const key = (x: Scenario) => `${x.id}.json`;
  return out.sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/** Loads every `*.json` scenario of a directory, sorted by id. */
export function loadScenarioDir(dir: string): Scenario[] {
  return listJsonFiles(dir).map(loadScenario);
}
