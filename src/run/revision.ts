/**
 * Revisions as data: one behaviour config per patch revision, with
 * provenance. A revision may extend another and override some keys.
 *
 * @module
 */
import {
  type CalloutSpec,
  DEFAULT_KERNEL_VARIANTS,
  type KernelVariants,
  type PathConfig,
} from "../kernel/context.ts";
import { CALLOUT_KIND, CALLOUT_NAMES, HOOK_POINTS } from "../kernel/hooks.ts";
import {
  type ChainConfig,
  LIST_PROTECTIONS,
  REGISTER_LOCKINGS,
  RELEASE_VARIANTS,
  UNREGISTER_VARIANTS,
} from "../notifier/chain.ts";
import {
  checkDepth,
  expectBool,
  expectObject,
  expectString,
  InputError,
  type Json,
  listJsonFiles,
  readJsonFile,
  refuseOtherFormat,
  withoutSchemaRef,
} from "./errors.ts";
import { HMM_STRATEGIES, type HmmStrategy } from "../secondary/hmm.ts";
import { KVM_RELEASES, type KvmRelease } from "../secondary/kvm.ts";
import { OFFSET_EXPRS } from "../kernel/v2.5.42/nonlinear.ts";
import type { NonlinearConfig } from "../kernel/v2.5.42/types.ts";

/** The kernel trees a revision can apply to; a scenario runs on the revisions of its tree. */
export const KERNEL_BASES = ["2.6.24", "2.5.42"] as const;
/** A kernel tree. */
export type KernelBase = typeof KERNEL_BASES[number];

/**
 * The kernel a revision was posted against, as its posting shows it (the
 * tree its hunks apply to), which is provenance: what the model runs is
 * `base` (the modelled tree, which decides the scenarios it runs) and the
 * `kernel` variants and callout placements the revision selects.
 */
export interface PostedAgainst {
  /** The kernel version, e.g. `2.6.25-rc3`, `2.6.24+git 2008-01-31` or `4.9-rc`. */
  version: string;
  /** The tree or patch set it applies to, e.g. "linux-2.6 (Linus Torvalds)" or "2.5.42-G1". */
  tree: string;
  /** How the version was established: the hunks' offsets, a line of the posting, a date. */
  cite: string;
}

/** A loaded, resolved revision. */
export interface Revision {
  /** Revision id, e.g. `emmu-v3`. */
  id: string;
  /** Path of the JSON file it was loaded from. */
  file: string;
  /** The patch series' subject, e.g. "EMMU notifiers V3 (MMU Notifiers V3)". */
  title: string;
  /** The patch lineage it belongs to, e.g. `emmu`. */
  lineage: string;
  /** The revision this one comes after along its lineage (its parent for a candidate). */
  follows?: string;
  /** A fix or variant proposed in a thread rather than a posted revision. */
  candidate: boolean;
  /** Date it was posted (`YYYY-MM-DD`). */
  date: string;
  /** Seed file and message this revision reproduces. */
  source: string;
  /**
   * The kernel tree the model runs the revision on (default 2.6.24, the
   * model's 2.6 paths; or 2.5.42); only scenarios of that tree run on it.
   * Not the kernel the patch was posted against: see `postedAgainst`.
   */
  base: KernelBase;
  /** The kernel the revision was posted against (JSON key `posted_against`). */
  postedAgainst: PostedAgainst;
  /** What its nonlinear-mapping code does (2.5.42 revisions only). */
  nonlinear?: NonlinearConfig;
  /** Why the revision sits where it does, when that is inferred rather than read. */
  evidence?: string;
  /** The mmu notifier chain's behaviour: list protection, register locking, release variant. */
  chain: ChainConfig;
  /** Where the revision places callouts in each kernel path, by path name. */
  paths: Record<string, PathConfig>;
  /** Kernel-path variants the revision selects. */
  kernel: KernelVariants;
  /**
   * Driver variants the revision selects: the HMM snapshot strategy, and what
   * KVM's `->release` does (default `none`, the 2.6.27 client's).
   */
  drivers: { hmm: { snapshot: HmmStrategy }; kvm: { release: KvmRelease } };
  /** The resolved config as JSON (after `extends`), for hashing and key diffs. */
  resolved: Record<string, Json>;
  /**
   * Where it and the revisions it extends were loaded from, itself first
   * (set by the loaders; a reproducer names the files that are not shipped).
   */
  sources?: RevisionSource[];
}

/** Where a revision file was loaded from. */
export interface RevisionSource {
  /** Path of the file. */
  file: string;
  /** The directory it was loaded with (`--patches`); absent for a file given alone (`--revision`). */
  dir?: string;
}

/** The top-level fields of a revision file. */
export const TOP_KEYS: readonly string[] = [
  "id",
  "title",
  "lineage",
  "follows",
  "extends",
  "candidate",
  "date",
  "source",
  "evidence",
  "posted_against",
  "base",
  "nonlinear",
  "chain",
  "paths",
  "drivers",
  "kernel",
] as const;

/** Deep-merges `over` onto `base`: objects merge key by key, anything else replaces; null deletes. */
export function mergeConfig(base: Json, over: Json): Json {
  if (
    !base || typeof base !== "object" || Array.isArray(base) || !over || typeof over !== "object" ||
    Array.isArray(over)
  ) {
    return over;
  }
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    // defineProperty, not assignment: a key such as "__proto__" stays a key (and is then
    // refused as unknown) instead of replacing the object's prototype.
    else {
      Object.defineProperty(out, k, {
        value: Object.hasOwn(out, k) ? mergeConfig(out[k], v) : v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return out;
}

/**
 * Parses a revision object. `lookup` resolves the id named by `extends`
 * (already parsed revisions), so a user revision can extend a shipped one.
 */
export function parseRevision(
  raw: unknown,
  file: string,
  lookup: (id: string) => Revision | undefined,
): Revision {
  // Before anything recurses over it (the content hash does).
  checkDepth(raw, file);
  raw = withoutSchemaRef(raw, file);
  refuseOtherFormat(raw, file, ["steps", "secondaries", "exercises"], {
    looksLike: "a scenario file",
    use: "--scenarios or --scenario",
  });
  let top = expectObject(raw, file, "", TOP_KEYS);
  const ext = expectString(top, "extends", file, "", { optional: true });
  if (ext !== undefined) {
    const base = lookup(ext);
    if (!base) {
      throw new InputError(file, "extends", `names "${ext}", which is not a known revision`);
    }
    const own = { ...top };
    delete own.extends;
    const inherited: Record<string, Json> = { ...base.resolved };
    delete inherited.evidence;
    top = mergeConfig(inherited, own) as Record<string, Json>;
  }
  const id = expectString(top, "id", file, "")!;
  if (!/^[a-z0-9][a-z0-9.+-]*$/.test(id)) {
    throw new InputError(
      file,
      "id",
      `is "${id}" (expected lower-case letters, digits, ".", "+" and "-")`,
    );
  }
  const candidate = top.candidate === undefined ? false : top.candidate;
  if (typeof candidate !== "boolean") {
    throw new InputError(file, "candidate", "must be true or false");
  }
  const base = (expectString(top, "base", file, "", { optional: true, oneOf: KERNEL_BASES }) ??
    "2.6.24") as KernelBase;
  let nonlinear: NonlinearConfig | undefined;
  if (base === "2.5.42") {
    for (const key of ["chain", "paths", "drivers", "kernel"]) {
      if (top[key] !== undefined) {
        throw new InputError(file, key, `is set, but a base "2.5.42" revision has no ${key}`);
      }
    }
    nonlinear = parseNonlinear(top.nonlinear, file);
  } else if (top.nonlinear !== undefined) {
    throw new InputError(file, "nonlinear", 'is set, but only a base "2.5.42" revision has it');
  }
  const chain = base === "2.5.42" ? INERT_CHAIN : parseChain(top.chain, file);
  const pathsObj = expectObject(top.paths ?? {}, file, "paths", Object.keys(HOOK_POINTS));
  const paths: Record<string, PathConfig> = {};
  for (const [name, p] of Object.entries(pathsObj)) paths[name] = parsePath(p, file, name);
  const drv = expectObject(top.drivers ?? {}, file, "drivers", ["hmm", "kvm"]);
  const snapshot = driverVariant(drv, file, "hmm", "snapshot", HMM_STRATEGIES, "sequence-retry");
  const kvmRelease = driverVariant(drv, file, "kvm", "release", KVM_RELEASES, "none");
  const kern = expectObject(top.kernel ?? {}, file, "kernel", [
    "follow_page",
    "rmap_lock",
    "anonymous_read",
    "cow_rmap",
    "referenced_locked",
    "swap_cache",
    "wp_page_lock",
    "rwsem_wake",
    "zap_break",
    "swap_write_result",
    "gup_force",
    "cite",
  ]);
  if (top.kernel !== undefined) expectString(kern, "cite", file, "kernel");
  const variant = <K extends keyof KernelVariants>(key: K, oneOf: readonly KernelVariants[K][]) =>
    (expectString(kern, key, file, "kernel", { optional: true, oneOf }) ??
      DEFAULT_KERNEL_VARIANTS[key]) as KernelVariants[K];
  const kernel: KernelVariants = {
    follow_page: variant("follow_page", FOLLOW_PAGE_VARIANTS),
    rmap_lock: variant("rmap_lock", RMAP_LOCKS),
    anonymous_read: variant("anonymous_read", ANONYMOUS_READS),
    cow_rmap: variant("cow_rmap", COW_RMAPS),
    referenced_locked: variant("referenced_locked", REFERENCED_LOCKED),
    swap_cache: variant("swap_cache", SWAP_CACHE_RULES),
    wp_page_lock: variant("wp_page_lock", WP_PAGE_LOCKS),
    rwsem_wake: variant("rwsem_wake", RWSEM_WAKES),
    zap_break: variant("zap_break", ZAP_BREAKS),
    swap_write_result: variant("swap_write_result", SWAP_WRITE_RESULTS),
    gup_force: variant("gup_force", GUP_FORCES),
  };
  return {
    id,
    file,
    kernel,
    drivers: { hmm: { snapshot }, kvm: { release: kvmRelease } },
    title: expectString(top, "title", file, "")!,
    lineage: expectString(top, "lineage", file, "")!,
    follows: expectString(top, "follows", file, "", { optional: true }),
    candidate,
    date: expectString(top, "date", file, "")!,
    source: expectString(top, "source", file, "")!,
    postedAgainst: parsePostedAgainst(top.posted_against, file),
    base,
    ...(nonlinear ? { nonlinear } : {}),
    evidence: expectString(top, "evidence", file, "", { optional: true }),
    chain,
    paths,
    resolved: top,
  };
}

/** The values of `kernel.rmap_lock` (see {@link KernelVariants}). */
export const RMAP_LOCKS = ["spinlock", "rwsem"] as const;

/** The values of `kernel.anonymous_read` (see {@link KernelVariants}). */
export const ANONYMOUS_READS = ["new-page", "zero-page"] as const;

/** The values of `kernel.cow_rmap` (see {@link KernelVariants}). */
export const COW_RMAPS = ["remove-before-clear", "remove-after-set"] as const;

/** The values of `kernel.referenced_locked` (see {@link KernelVariants}). */
export const REFERENCED_LOCKED = ["untested", "referenced"] as const;

/** The values of `kernel.swap_cache` (see {@link KernelVariants}). */
export const SWAP_CACHE_RULES = ["remove-exclusive", "try-to-free"] as const;

/** The values of `kernel.wp_page_lock` (see {@link KernelVariants}). */
export const WP_PAGE_LOCKS = ["trylock", "lock"] as const;

/** The values of `kernel.rwsem_wake` (see {@link KernelVariants}). */
export const RWSEM_WAKES = ["grant", "wake"] as const;

/** The values of `kernel.zap_break` (see {@link KernelVariants}). */
export const ZAP_BREAKS = ["zap-block", "none"] as const;

/** The values of `kernel.swap_write_result` (see {@link KernelVariants}). */
export const SWAP_WRITE_RESULTS = ["oom-only", "or-wp", "reuse-or-wp"] as const;

/** The values of `kernel.gup_force` (see {@link KernelVariants}). */
export const GUP_FORCES = ["cow-any", "foll-cow"] as const;

/** The values of `kernel.follow_page` (see {@link KernelVariants}). */
export const FOLLOW_PAGE_VARIANTS = ["mark-accessed", "mkyoung"] as const;

/** The fields of a `chain` block. */
export const CHAIN_FIELDS: readonly string[] = [
  "list",
  "register",
  "release",
  "unregister",
  "rmap_notifier",
  "sleepable",
  "cite",
];

/** The callout kinds `chain.sleepable` may name. */
export const SLEEPABLE_KINDS: readonly string[] = [
  "range",
  "begin",
  "end",
  "page",
  "young",
  "all",
  "release",
];

/** The fields of a callout of `paths.<path>.callouts`. */
export const CALLOUT_FIELDS: readonly string[] = [
  "at",
  "call",
  "range",
  "atomic",
  "guard",
  "unless",
  "discard",
  "cite",
];

/** The variants of a 2.5.42 revision's `nonlinear` blocks, by block and key. */
export const NONLINEAR_VARIANTS = {
  remap_args: {
    align: ["page-align-up", "page-mask-down"],
    end: ["before-align", "after-align"],
    prot: ["mask-and-pass", "einval-if-nonzero"],
    offset_limit: ["none", "pte-file-max-bits"],
  },
  default_prot: {
    set: ["keep", "force-none", "force-none-unless-offset-matches"],
    offset: Object.keys(OFFSET_EXPRS),
  },
  filemap_populate: {
    no_page: ["return-enomem", "skip-if-nonblock", "zap-pte-if-nonblock"],
    install_error: ["return", "release-page"],
  },
  shmem_populate: {
    no_page: ["skip"],
    install_error: ["return", "release-page"],
  },
} as const;

function parsePostedAgainst(raw: Json | undefined, file: string): PostedAgainst {
  if (raw === undefined) throw new InputError(file, "posted_against", "is missing");
  const o = expectObject(raw, file, "posted_against", ["version", "tree", "cite"]);
  return {
    version: expectString(o, "version", file, "posted_against")!,
    tree: expectString(o, "tree", file, "posted_against")!,
    cite: expectString(o, "cite", file, "posted_against")!,
  };
}

/**
 * The variant `drivers.<driver>.<key>` selects, one of `oneOf`, `fallback`
 * when absent; a driver's block must carry its `cite`.
 */
function driverVariant<T extends string>(
  drv: Record<string, Json>,
  file: string,
  driver: string,
  key: string,
  oneOf: readonly T[],
  fallback: T,
): T {
  const field = `drivers.${driver}`;
  const o = expectObject(drv[driver] ?? {}, file, field, [key, "cite"]);
  if (drv[driver] !== undefined) expectString(o, "cite", file, field);
  return (expectString(o, key, file, field, { optional: true, oneOf }) ?? fallback) as T;
}

/** The chain of a 2.5.42 revision: there is no notifier API, and no scenario registers one. */
const INERT_CHAIN: ChainConfig = {
  list: "none",
  register: "caller-holds-mmap-sem",
  release: "rcu-release-then-del",
  unregister: "hlist-del",
  rmapNotifier: false,
  sleepable: {},
  cite: "2.5.42 has no mmu notifier chain",
};

function parseNonlinear(raw: Json | undefined, file: string): NonlinearConfig {
  const V = NONLINEAR_VARIANTS;
  const o = expectObject(raw, file, "nonlinear", Object.keys(V));
  const part = <B extends keyof typeof V>(key: B) => {
    const field = `nonlinear.${key}`;
    if (o[key] === undefined) throw new InputError(file, field, "is missing");
    const p = expectObject(o[key], file, field, [...Object.keys(V[key]), "cite"]);
    expectString(p, "cite", file, field);
    return (name: keyof typeof V[B] & string, optional = false) =>
      expectString(p, name, file, field, {
        oneOf: V[key][name] as readonly string[],
        optional,
      });
  };
  const args = part("remap_args");
  const prot = part("default_prot");
  const fm = part("filemap_populate");
  const sh = part("shmem_populate");
  const set = prot("set")!;
  const offset = prot("offset", true);
  if (set === "force-none-unless-offset-matches" && offset === undefined) {
    throw new InputError(file, "nonlinear.default_prot.offset", `is missing (needed by "${set}")`);
  }
  type N = NonlinearConfig;
  return {
    remapArgs: {
      align: args("align") as N["remapArgs"]["align"],
      end: args("end") as N["remapArgs"]["end"],
      prot: args("prot") as N["remapArgs"]["prot"],
      offsetLimit: args("offset_limit") as N["remapArgs"]["offsetLimit"],
    },
    defaultProt: {
      set: set as N["defaultProt"]["set"],
      ...(offset !== undefined ? { offset } : {}),
    },
    filemapPopulate: {
      noPage: fm("no_page") as N["filemapPopulate"]["noPage"],
      installError: fm("install_error") as "return" | "release-page",
    },
    shmemPopulate: {
      noPage: sh("no_page") as "skip",
      installError: sh("install_error") as "return" | "release-page",
    },
  };
}

function parseChain(raw: Json | undefined, file: string): ChainConfig {
  const o = expectObject(raw, file, "chain", CHAIN_FIELDS);
  const sleepable = expectObject(o.sleepable ?? {}, file, "chain.sleepable", SLEEPABLE_KINDS);
  for (const [k, v] of Object.entries(sleepable)) {
    if (typeof v !== "boolean") {
      throw new InputError(file, `chain.sleepable.${k}`, "must be true or false");
    }
  }
  return {
    list: expectString(o, "list", file, "chain", {
      oneOf: LIST_PROTECTIONS,
    }) as ChainConfig["list"],
    register: expectString(o, "register", file, "chain", {
      oneOf: REGISTER_LOCKINGS,
    }) as ChainConfig["register"],
    release: expectString(o, "release", file, "chain", {
      oneOf: RELEASE_VARIANTS,
    }) as ChainConfig["release"],
    unregister: expectString(o, "unregister", file, "chain", {
      oneOf: UNREGISTER_VARIANTS,
    }) as ChainConfig["unregister"],
    rmapNotifier: expectBool(o, "rmap_notifier", file, "chain") ?? false,
    sleepable: sleepable as ChainConfig["sleepable"],
    cite: expectString(o, "cite", file, "chain")!,
  };
}

function parsePath(raw: Json, file: string, name: string): PathConfig {
  const field = `paths.${name}`;
  const o = expectObject(raw, file, field, ["callouts", "cite"]);
  if (!Array.isArray(o.callouts)) {
    throw new InputError(file, `${field}.callouts`, "must be an array");
  }
  const points = HOOK_POINTS[name];
  const callouts = o.callouts.map((c, i): CalloutSpec => {
    const f = `${field}.callouts[${i}]`;
    const co = expectObject(c, file, f, CALLOUT_FIELDS);
    const at = expectString(co, "at", file, f, { oneOf: Object.keys(points) })!;
    const point = points[at];
    const call = expectString(co, "call", file, f, {
      oneOf: CALLOUT_NAMES,
    })! as CalloutSpec["call"];
    const kind = CALLOUT_KIND[call];
    const range = expectString(co, "range", file, f, {
      optional: true,
      oneOf: point.ranges ?? [],
    });
    if ((kind === "range" || kind === "begin") && range === undefined) {
      throw new InputError(file, `${f}.range`, `is missing (${call} passes a range)`);
    }
    if ((kind === "page" || kind === "young") && !point.address) {
      throw new InputError(file, `${f}.at`, `"${at}" has no address in scope for ${call}`);
    }
    let atomic: CalloutSpec["atomic"];
    if (co.atomic !== undefined) {
      if (co.atomic === 0 || co.atomic === 1) atomic = co.atomic;
      else if (typeof co.atomic === "string" && (point.exprs ?? []).includes(co.atomic)) {
        atomic = co.atomic;
      } else {
        throw new InputError(
          file,
          `${f}.atomic`,
          `is ${JSON.stringify(co.atomic)} (expected 0, 1${
            point.exprs?.length ? " or one of: " + point.exprs.join(", ") : ""
          })`,
        );
      }
    }
    const guards = point.guards ?? [];
    const guard = expectString(co, "guard", file, f, { optional: true, oneOf: guards });
    const unless = expectString(co, "unless", file, f, { optional: true, oneOf: guards });
    const spec: CalloutSpec = { at, call, cite: expectString(co, "cite", file, f)! };
    if (range !== undefined) spec.range = range;
    if (atomic !== undefined) spec.atomic = atomic;
    if (guard !== undefined) spec.guard = guard;
    if (unless !== undefined) spec.unless = unless;
    if (co.discard !== undefined) {
      if (co.discard !== true) {
        throw new InputError(file, `${f}.discard`, "must be true when given");
      }
      spec.discard = true;
    }
    return spec;
  });
  return { callouts, cite: expectString(o, "cite", file, field, { optional: true }) };
}

/** Loads every revision file of a directory, resolving `extends` in dependency order. */
export function loadRevisionDir(dir: string, extra: string[] = []): Revision[] {
  return loadRevisionSources([
    ...listJsonFiles(dir).map((file) => ({ file, dir })),
    ...extra.map((file) => ({ file })),
  ]);
}

/** Loads revision files, resolving `extends` among them; ids must be unique. */
export function loadRevisionFiles(files: string[]): Revision[] {
  return loadRevisionSources(files.map((file) => ({ file })));
}

/**
 * Loads revision files, each with the directory it belongs to (if any),
 * resolving `extends` among them; ids must be unique.
 */
export function loadRevisionSources(sources: RevisionSource[]): Revision[] {
  const raws = sources.map((src) => ({ file: src.file, src, raw: readJsonFile(src.file) }));
  const byId = new Map<string, Revision>();
  const pending = [...raws];
  while (pending.length > 0) {
    const before = pending.length;
    for (let i = 0; i < pending.length; i++) {
      const { file, src, raw } = pending[i];
      const ext = raw && typeof raw === "object" && !Array.isArray(raw)
        ? (raw as Record<string, unknown>).extends
        : undefined;
      if (typeof ext === "string" && !byId.has(ext) && pending.some((p) => idOf(p.raw) === ext)) {
        continue;
      }
      const rev = parseRevision(raw, file, (id) => byId.get(id));
      rev.sources = [src, ...(typeof ext === "string" ? byId.get(ext)?.sources ?? [] : [])];
      if (byId.has(rev.id)) {
        throw new InputError(
          file,
          "id",
          `is "${rev.id}", already used by ${byId.get(rev.id)!.file}`,
        );
      }
      byId.set(rev.id, rev);
      pending.splice(i, 1);
      i--;
    }
    if (pending.length === before) {
      throw new InputError(pending[0].file, "extends", "forms a cycle");
    }
  }
  const revs = [...byId.values()];
  for (const r of revs) {
    const other = revs.find((x) => x.lineage === r.lineage && x.base !== r.base);
    if (other) {
      throw new InputError(
        r.file,
        "base",
        `is "${r.base}", but lineage "${r.lineage}" also holds ${other.id} on "${other.base}" (a lineage stays on one kernel tree)`,
      );
    }
    if (r.follows !== undefined && !byId.has(r.follows)) {
      throw new InputError(
        r.file,
        "follows",
        `names "${r.follows}", which is not a known revision`,
      );
    }
  }
  return revs.sort((a, b) => a.id.localeCompare(b.id));
}

function idOf(raw: unknown): unknown {
  return raw && typeof raw === "object" ? (raw as Record<string, unknown>).id : undefined;
}

/**
 * Flattens a revision's behaviour into `key -> value` strings, leaving out
 * provenance (cite, source, evidence). Callouts are keyed by `at:call` so
 * that adding one callout changes one key.
 */
export function flattenConfig(rev: Revision): Record<string, string> {
  const out: Record<string, string> = {};
  out["base"] = rev.base;
  if (rev.nonlinear) {
    const n = rev.nonlinear;
    out["nonlinear.remap_args.align"] = n.remapArgs.align;
    out["nonlinear.remap_args.end"] = n.remapArgs.end;
    out["nonlinear.remap_args.prot"] = n.remapArgs.prot;
    out["nonlinear.remap_args.offset_limit"] = n.remapArgs.offsetLimit;
    out["nonlinear.default_prot.set"] = n.defaultProt.set;
    if (n.defaultProt.offset !== undefined) {
      out["nonlinear.default_prot.offset"] = n.defaultProt.offset;
    }
    out["nonlinear.filemap_populate.no_page"] = n.filemapPopulate.noPage;
    out["nonlinear.filemap_populate.install_error"] = n.filemapPopulate.installError;
    out["nonlinear.shmem_populate.no_page"] = n.shmemPopulate.noPage;
    out["nonlinear.shmem_populate.install_error"] = n.shmemPopulate.installError;
    return out;
  }
  const c = rev.chain;
  out["chain.list"] = c.list;
  out["chain.register"] = c.register;
  out["chain.release"] = c.release;
  out["chain.unregister"] = c.unregister;
  out["chain.rmap_notifier"] = String(c.rmapNotifier ?? false);
  out["drivers.hmm.snapshot"] = rev.drivers.hmm.snapshot;
  out["drivers.kvm.release"] = rev.drivers.kvm.release;
  out["kernel.follow_page"] = rev.kernel.follow_page;
  out["kernel.rmap_lock"] = rev.kernel.rmap_lock;
  out["kernel.anonymous_read"] = rev.kernel.anonymous_read;
  out["kernel.cow_rmap"] = rev.kernel.cow_rmap;
  out["kernel.referenced_locked"] = rev.kernel.referenced_locked;
  out["kernel.swap_cache"] = rev.kernel.swap_cache;
  out["kernel.wp_page_lock"] = rev.kernel.wp_page_lock;
  out["kernel.rwsem_wake"] = rev.kernel.rwsem_wake;
  out["kernel.zap_break"] = rev.kernel.zap_break;
  out["kernel.swap_write_result"] = rev.kernel.swap_write_result;
  out["kernel.gup_force"] = rev.kernel.gup_force;
  for (const k of Object.keys(c.sleepable).sort()) {
    out[`chain.sleepable.${k}`] = String(c.sleepable[k as keyof typeof c.sleepable]);
  }
  for (const path of Object.keys(rev.paths).sort()) {
    const seen: Record<string, number> = {};
    for (const spec of rev.paths[path].callouts) {
      const base = `${spec.at}:${spec.call}`;
      seen[base] = (seen[base] ?? 0) + 1;
      const id = seen[base] > 1 ? `${base}#${seen[base]}` : base;
      const parts = [
        spec.range !== undefined ? `range=${spec.range}` : "",
        spec.atomic !== undefined ? `atomic=${spec.atomic}` : "",
        spec.guard !== undefined ? `if ${spec.guard}` : "",
        spec.unless !== undefined ? `unless ${spec.unless}` : "",
        spec.discard ? "result ignored" : "",
      ].filter((x) => x);
      out[`paths.${path}.callouts[${id}]`] = parts.join(" ") || "present";
    }
  }
  return out;
}

/**
 * The 2.5.42 kernel function a `nonlinear.<part>.<key>` config key is about:
 * `remap_args` and `default_prot` belong to `sys_remap_file_pages`, the
 * other parts are named after their function.
 *
 * @param key A flattened key, e.g. `nonlinear.filemap_populate.no_page`.
 * @returns The function name, e.g. `filemap_populate`.
 */
export function nonlinearKeyFunction(key: string): string {
  const part = key.split(".")[1];
  return part === "remap_args" || part === "default_prot" ? "sys_remap_file_pages" : part;
}

/** A config key that differs between two revisions. */
export interface KeyChange {
  /** The flattened config key, e.g. `chain.release` or `paths.<path>.callouts[<at>:<call>]`. */
  key: string;
  /** Its value in the first revision; absent when only the second has it. */
  from?: string;
  /** Its value in the second revision; absent when only the first has it. */
  to?: string;
}

/** The behaviour keys that differ between two revisions, sorted. */
export function diffConfig(a: Revision, b: Revision): KeyChange[] {
  const fa = flattenConfig(a);
  const fb = flattenConfig(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  const out: KeyChange[] = [];
  for (const key of keys) {
    if (fa[key] === fb[key]) continue;
    const c: KeyChange = { key };
    if (fa[key] !== undefined) c.from = fa[key];
    if (fb[key] !== undefined) c.to = fb[key];
    out.push(c);
  }
  return out;
}
