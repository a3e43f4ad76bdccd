/**
 * The JSON Schemas of scenario and revision files (draft 2020-12), built
 * from the loaders' own tables: the operations and their fields
 * (`OPS`, `KERNEL_OPS`, `STEP_FIELDS`), the allocation kinds a step may fail,
 * the hook points of every kernel path with the ranges, guards and
 * expressions in scope at each (`HOOK_POINTS`), the callout names and the
 * variants of the chain, drivers, kernel and nonlinear code. A name the
 * tables hold and this file has no description for stops the build, so the
 * schemas cannot fall behind the loaders. Run as a script, it rewrites
 * `docs/scenario.schema.json` and `docs/revision.schema.json`:
 *
 * ```sh
 * deno run --allow-read --allow-write tools/schemas.ts
 * ```
 *
 * @module
 */
import { ALLOC_KINDS } from "../src/kernel/context.ts";
import { CALLOUT_KIND, CALLOUT_NAMES, type CalloutName, HOOK_POINTS } from "../src/kernel/hooks.ts";
import {
  LIST_PROTECTIONS,
  REGISTER_LOCKINGS,
  RELEASE_VARIANTS,
  UNREGISTER_VARIANTS,
} from "../src/notifier/chain.ts";
import { HMM_STRATEGIES } from "../src/secondary/hmm.ts";
import { KVM_RELEASES } from "../src/secondary/kvm.ts";
import { ID_PATTERN, LIMITS } from "../src/run/limits.ts";
import {
  ANONYMOUS_READS,
  CALLOUT_FIELDS,
  CHAIN_FIELDS,
  COW_RMAPS,
  FOLLOW_PAGE_VARIANTS,
  GUP_FORCES,
  KERNEL_BASES,
  NONLINEAR_VARIANTS,
  REFERENCED_LOCKED,
  RMAP_LOCKS,
  RWSEM_WAKES,
  SLEEPABLE_KINDS,
  SWAP_CACHE_RULES,
  SWAP_WRITE_RESULTS,
  TOP_KEYS,
  WP_PAGE_LOCKS,
  ZAP_BREAKS,
} from "../src/run/revision.ts";
import {
  DRIVERS,
  FIELDS_2542,
  type FieldType,
  FILE_FIELDS,
  KERNEL_OPS,
  OPS,
  SCENARIO_FIELDS,
  STEP_FIELDS,
} from "../src/run/scenario.ts";
import { fieldDoc, OP_DOCS } from "./_format_docs.ts";

/** A JSON Schema. */
export type Schema = { [keyword: string]: unknown };

const DRAFT = "https://json-schema.org/draft/2020-12/schema";
const PAGE = 0x1000;

/** Looks a description up, and stops the build when the table lacks it. */
export function doc(table: Record<string, string>, key: string, what: string): string {
  const d = table[key];
  if (d === undefined) {
    throw new Error(`No description for ${what} "${key}" in tools/_format_docs.ts`);
  }
  return d;
}

function str(description: string, extra: Schema = {}): Schema {
  return { type: "string", description, ...extra };
}

function oneOfConst(values: readonly string[], docs: (v: string) => string): Schema[] {
  return values.map((v) => ({ const: v, description: docs(v) }));
}

/** The id of an mm, file, secondary or thread, as `checkId` takes it. */
function idSchema(description: string): Schema {
  return str(description, { pattern: ID_PATTERN.source, maxLength: LIMITS.idLength });
}

/** A non-negative integer, or a "0x..." or decimal string, as `expectAddress` reads it. */
function number(description: string, opts: { max?: number; min?: number; page?: boolean }): Schema {
  const n: Schema = { type: "integer", minimum: opts.min ?? 0 };
  if (opts.max !== undefined) n.maximum = opts.max;
  if (opts.page) n.multipleOf = PAGE;
  const hex = opts.page ? "^(0x[0-9a-fA-F]*000|[0-9]+)$" : "^(0x[0-9a-fA-F]+|[0-9]+)$";
  return { description, anyOf: [n, { type: "string", pattern: hex }] };
}

/** The descriptions of the field types of `OPS`. */
export const FIELD_TYPE_DOCS: Record<string, string> = {
  mm: "an mm (address space) id; the first operation naming it creates it",
  addr: 'a page-aligned address: an integer or a "0x..." string',
  len: `a page-aligned length, not zero, at most ${LIMITS.pages} pages`,
  "byte-addr": "any byte address (the system call aligns it itself)",
  "byte-len": `any length in bytes, not zero, at most ${LIMITS.pages} pages`,
  secondary: "the id of a secondary MMU the scenario declares in `secondaries`",
  file: "the name of a file the scenario declares in `files`",
  count: "a page offset or frame number, at most 0xffffffff",
  index: `a page index or size within a file, at most ${LIMITS.pages}`,
  word: "an i386 unsigned long, at most 0xffffffff (a raw system-call argument)",
  bool: "true or false",
};

function fieldSchema(op: string, name: string, type: FieldType): Schema {
  const own = fieldDoc(op, name);
  if (own === undefined) {
    throw new Error(`No description for the field "${op}.${name}" in tools/_format_docs.ts`);
  }
  const d = `${own} (${
    Array.isArray(type) ? `one of: ${type.join(", ")}` : FIELD_TYPE_DOCS[type as string]
  })`;
  if (Array.isArray(type)) return str(d, { enum: [...type] });
  switch (type) {
    case "mm":
      return idSchema(d);
    case "addr":
      return number(d, { page: true });
    case "len":
      return number(d, { page: true, min: PAGE, max: LIMITS.pages * PAGE });
    case "byte-addr":
      return number(d, {});
    case "byte-len":
      return number(d, { min: 1, max: LIMITS.pages * PAGE });
    case "count":
    case "word":
      return number(d, { max: 0xffffffff });
    case "index":
      return number(d, { max: LIMITS.pages });
    case "bool":
      return { type: "boolean", description: d };
    default:
      return str(d);
  }
}

/** The descriptions of the fields every operation may carry. */
export const STEP_FIELD_DOCS: Record<string, string> = {
  op: "the operation",
  fail:
    "allocations of this step that fail, by kind: the nth allocation (1-based) of that kind within the step, or a list of them",
  fail_optional:
    "true: on a revision whose call returns before it makes the allocations `fail` names, the step runs without them instead of stopping the run",
  during:
    "another operation, started on another thread when this one reaches the scheduling point `at`",
  thread:
    "the thread the operation runs on (default cpu0; vcpu0 for guest, dev0 for snapshot); `--schedule` names threads",
  outside: "true: the address is outside any mapping on purpose (no layout check)",
  note: "a free-text note",
};

function commonFields(): Record<string, Schema> {
  const fail: Schema = {
    type: "object",
    description: STEP_FIELD_DOCS.fail,
    additionalProperties: false,
    properties: Object.fromEntries(ALLOC_KINDS.map((k) => {
      const ordinal = { type: "integer", minimum: 1, maximum: LIMITS.failOrdinal };
      return [k, {
        description: `${doc(FAIL_DOCS, k, "allocation kind")}: the nth allocation (or list)`,
        anyOf: [ordinal, {
          type: "array",
          items: ordinal,
          uniqueItems: true,
          maxItems: LIMITS.fails,
        }],
      }];
    })),
  };
  const out: Record<string, Schema> = {
    fail,
    fail_optional: { const: true, description: STEP_FIELD_DOCS.fail_optional },
    during: {
      type: "object",
      description: STEP_FIELD_DOCS.during,
      additionalProperties: false,
      required: ["at", "step"],
      properties: {
        at: str(
          "a scheduling-point label the operation passes (`deno task list labels`): a lock (`lock mmap_sem:A`) or a named point (`do_wp_page:copy.unlocked`)",
        ),
        step: {
          $ref: "#/$defs/simpleStep",
          description: "the operation started (no race, no during, no fail)",
        },
      },
    },
    thread: idSchema(STEP_FIELD_DOCS.thread),
    outside: { type: "boolean", description: STEP_FIELD_DOCS.outside },
    note: str(STEP_FIELD_DOCS.note),
  };
  for (const f of STEP_FIELDS) {
    if (f !== "op" && !out[f]) throw new Error(`No schema for the step field "${f}"`);
  }
  return out;
}

/** The descriptions of the allocation kinds a step may fail. */
export const FAIL_DOCS: Record<string, string> = {
  pud: "a page-upper-directory page (pud_alloc)",
  pmd: "a page-middle-directory page (pmd_alloc)",
  pte: "a page-table page (pte_alloc_map)",
  page: "a page for data (alloc_page_vma, page-cache and COW pages)",
  anon_vma: "an anon_vma (anon_vma_prepare)",
};

function opSchema(op: string, simple: boolean): Schema {
  const props: Record<string, Schema> = {
    op: { const: op, description: doc(OP_DOCS, op, "operation") },
  };
  const required = ["op"];
  for (const [key, type] of Object.entries(OPS[op])) {
    const name = key.replace(/\?$/, "");
    props[name] = fieldSchema(op, name, type);
    if (!key.endsWith("?")) required.push(name);
  }
  for (const f of STEP_FIELDS) if (f !== "op") props[f] = { $ref: `#/$defs/field_${f}` };
  if (simple) {
    delete props.during;
    delete props.fail;
    delete props.fail_optional;
  }
  if (op === "race") {
    delete props.thread;
    props.threads = {
      type: "object",
      description:
        "the race's threads, by name: each runs its operations in order, concurrently with the others",
      minProperties: 2,
      maxProperties: LIMITS.threads,
      propertyNames: { pattern: ID_PATTERN.source, maxLength: LIMITS.idLength },
      additionalProperties: {
        type: "array",
        description: "the thread's operations (no race, no during, no fail)",
        minItems: 1,
        maxItems: LIMITS.opsPerThread,
        items: { $ref: "#/$defs/simpleStep" },
      },
    };
    required.push("threads");
  }
  return {
    type: "object",
    description: OP_DOCS[op],
    additionalProperties: false,
    required,
    properties: props,
  };
}

function stepSchema(simple: boolean): Schema {
  const ops = Object.keys(OPS).filter((op) => !simple || op !== "race");
  return {
    type: "object",
    description: simple
      ? "an operation inside a race or a during: no race, no during, no fail"
      : "one operation of the scenario",
    required: ["op"],
    properties: {
      op: { anyOf: oneOfConst(ops, (op) => doc(OP_DOCS, op, "operation")) },
    },
    allOf: ops.map((op) => ({
      if: { properties: { op: { const: op } }, required: ["op"] },
      then: { $ref: `#/$defs/op_${op}${simple ? "_simple" : ""}` },
    })),
  };
}

/** The descriptions of a scenario file's top-level fields. */
export const SCENARIO_DOCS: Record<string, string> = {
  purpose: "what the scenario exercises, in one sentence",
  exercises: "the kernel paths it exercises (`deno task list scenarios --path P` filters on them)",
  cite: "the seed file and hunk (or kernel source) the scenario is built on",
  kernel:
    "the kernel tree it is written for (default 2.6.24); it runs on the revisions of that tree only",
  files: "files the scenario creates (regular, shmem, hugetlbfs or XIP)",
  secondaries: "secondary MMUs the scenario attaches: each registers a notifier on its mm",
  steps: "the operations, run in order on one shared model",
};

/**
 * The scenario schema.
 *
 * @returns The schema, with `$defs` per operation.
 */
export function scenarioSchema(): Schema {
  const defs: Record<string, Schema> = {
    step: stepSchema(false),
    simpleStep: stepSchema(true),
  };
  for (const [f, schema] of Object.entries(commonFields())) defs[`field_${f}`] = schema;
  for (const op of Object.keys(OPS)) {
    defs[`op_${op}`] = opSchema(op, false);
    if (op !== "race") defs[`op_${op}_simple`] = opSchema(op, true);
  }
  const props: Record<string, Schema> = {
    $schema: str("the schema this file follows (for editors)"),
    purpose: str(doc(SCENARIO_DOCS, "purpose", "field")),
    exercises: {
      type: "array",
      description: SCENARIO_DOCS.exercises,
      items: { type: "string" },
    },
    cite: str(SCENARIO_DOCS.cite),
    kernel: str(SCENARIO_DOCS.kernel, { enum: [...KERNEL_BASES] }),
    files: {
      type: "array",
      description: SCENARIO_DOCS.files,
      maxItems: LIMITS.declared,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "pages", "kind"],
        properties: {
          name: idSchema("the file's name, as operations refer to it"),
          pages: {
            type: "integer",
            minimum: 1,
            maximum: LIMITS.pages,
            description: "size in pages",
          },
          kind: str(
            "backing filesystem: a regular file, shmem/tmpfs, hugetlbfs or an XIP file",
            { enum: [...FILE_FIELDS.kind] },
          ),
          page_mkwrite: str(
            "whether the file's vm_ops->page_mkwrite exists (none, the default) and what it returns",
            { enum: [...FILE_FIELDS.page_mkwrite] },
          ),
          cached: {
            description:
              '2.5.42 scenarios only: the page indexes in the page cache at the start ("all", "none" or a list); the others are on disk',
            anyOf: [
              { enum: ["all", "none"] },
              {
                type: "array",
                items: { type: "integer", minimum: 0, maximum: LIMITS.pages - 1 },
              },
            ],
          },
        },
      },
    },
    secondaries: {
      type: "array",
      description: SCENARIO_DOCS.secondaries,
      maxItems: LIMITS.declared,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["id", "driver", "mm"],
        properties: {
          id: idSchema("the notifier's id, as operations refer to it"),
          driver: str(
            "the driver: a KVM shadow MMU, an HMM device mirror, the GRU TLB or XPmem",
            { enum: [...DRIVERS] },
          ),
          mm: idSchema("the mm it mirrors and registers its notifier on"),
        },
      },
    },
    steps: {
      type: "array",
      description: SCENARIO_DOCS.steps,
      minItems: 1,
      maxItems: LIMITS.operations,
      items: { $ref: "#/$defs/step" },
    },
  };
  for (const f of SCENARIO_FIELDS) {
    if (!props[f]) throw new Error(`No schema for the scenario field "${f}"`);
  }
  const onlyOps = (ops: readonly string[]) => ({
    properties: { steps: { items: { properties: { op: { enum: [...ops] } } } } },
  });
  const old = "2.5.42";
  return {
    $schema: DRAFT,
    $id: "https://mmbisect.invalid/schema/scenario.schema.json",
    title: "mmbisect scenario",
    description:
      "A scenario file (scenarios/<id>.json, or --scenario FILE): operations run on one model of the Linux MM, on every revision of its kernel tree. The loader checks more than this schema can say: addresses against the mappings made so far, names against the declared files and secondaries, the total pages covered.",
    type: "object",
    additionalProperties: false,
    required: ["purpose", "exercises", "cite", "steps"],
    properties: props,
    allOf: [
      {
        if: { properties: { kernel: { const: old } }, required: ["kernel"] },
        then: {
          ...onlyOps(KERNEL_OPS[old]),
          properties: {
            ...onlyOps(KERNEL_OPS[old]).properties,
            secondaries: { maxItems: 0 },
          },
        },
        else: {
          properties: {
            files: { items: { not: { required: ["cached"] } } },
            steps: {
              items: {
                properties: { op: { enum: [...KERNEL_OPS["2.6.24"]] } },
                allOf: Object.entries(FIELDS_2542).map(([op, fields]) => ({
                  if: { properties: { op: { const: op } } },
                  then: { not: { anyOf: fields.map((f) => ({ required: [f] })) } },
                })),
              },
            },
          },
        },
      },
    ],
    $defs: defs,
  };
}

/** The descriptions of a revision file's top-level fields. */
export const REVISION_DOCS: Record<string, string> = {
  id: "the revision's id, e.g. emmu-v5 (lower-case letters, digits, '.', '+' and '-')",
  title: "the patch series' subject",
  lineage: "the patch lineage it belongs to, e.g. emmu",
  follows: "the revision it comes after along its lineage (its parent, for a candidate)",
  extends:
    "a revision whose resolved config this one starts from: objects merge, arrays replace, null deletes",
  candidate: "true for a fix or variant proposed in a thread rather than a posted revision",
  date: "the date it was posted (YYYY-MM-DD)",
  source: "the seed file and message it reproduces",
  evidence: "why the revision sits where it does, when that is inferred rather than read",
  posted_against: "the kernel the patch was posted against, with the citation",
  base:
    "the kernel tree the model runs it on (default 2.6.24); only scenarios of that tree run on it",
  nonlinear: "what its nonlinear-mapping code does (2.5.42 revisions only)",
  chain: "the mmu notifier chain: list protection, register locking, release and unregister",
  paths: "the callouts it places in each kernel path, by path",
  drivers: "driver variants it selects",
  kernel: "kernel-path variants it selects",
};

function citeSchema(what: string): Schema {
  return str(`the seed hunk or source line ${what} reproduces`);
}

function enumSchema(values: readonly string[], description: string): Schema {
  return str(`${description} (one of: ${values.join(", ")})`, { enum: [...values] });
}

/** `enum` of `values`, or the schema nothing matches when there is none. */
function enumOrNone(values: readonly string[] | undefined): Schema | false {
  return values?.length ? { enum: [...values] } : false;
}

/** The callout item schema of one kernel path: every hook point with what it has in scope. */
function calloutSchema(path: string): Schema {
  const points = HOOK_POINTS[path];
  const union = (k: "ranges" | "guards" | "exprs") => [
    ...new Set(Object.values(points).flatMap((p) => [...p[k] ?? []])),
  ];
  const rangeCalls = CALLOUT_NAMES.filter((c) => ["range", "begin"].includes(CALLOUT_KIND[c]));
  const addressCalls = CALLOUT_NAMES.filter((c) => ["page", "young"].includes(CALLOUT_KIND[c]));
  const guardSchema = (guards: string[], d: string) =>
    guards.length ? str(d, { enum: guards }) : { not: {}, description: `${d} (none here)` };
  const props: Record<string, Schema> = {
    at: {
      description: `the hook point of ${path}`,
      anyOf: oneOfConst(Object.keys(points), (p) => points[p].doc),
    },
    call: {
      description: "the callout",
      anyOf: oneOfConst(CALLOUT_NAMES, (c) => `a ${CALLOUT_KIND[c as CalloutName]} callout`),
    },
    range: union("ranges").length
      ? str("the range passed, one the hook point computes", { enum: union("ranges") })
      : { not: {}, description: "no range is in scope in this path" },
    atomic: {
      description:
        "the atomic argument: 0, 1 or an expression the code computes there (absent: the API has none)",
      anyOf: [{ enum: [0, 1] }, ...union("exprs").length ? [{ enum: union("exprs") }] : []],
    },
    guard: guardSchema(union("guards"), "call only when this condition holds"),
    unless: guardSchema(union("guards"), "call only when this condition does not hold"),
    discard: { const: true, description: "the callout's return value is ignored" },
    cite: citeSchema("the callout"),
  };
  for (const f of CALLOUT_FIELDS) {
    if (!props[f]) throw new Error(`No schema for the callout field "${f}"`);
  }
  return {
    type: "object",
    additionalProperties: false,
    required: ["at", "call", "cite"],
    properties: props,
    allOf: [
      { if: { properties: { call: { enum: rangeCalls } } }, then: { required: ["range"] } },
      ...Object.entries(points).map(([p, h]) => ({
        if: { properties: { at: { const: p } }, required: ["at"] },
        then: {
          properties: {
            range: enumOrNone(h.ranges),
            guard: enumOrNone(h.guards),
            unless: enumOrNone(h.guards),
            atomic: { enum: [0, 1, ...h.exprs ?? []] },
            ...(h.address ? {} : { call: { not: { enum: addressCalls } } }),
          },
        },
      })),
    ],
  };
}

/** The descriptions of the chain's fields. */
export const CHAIN_DOCS: Record<string, string> = {
  list: "what protects the notifier list against a concurrent change",
  register: "what mmu_notifier_register does with mmap_sem",
  release: "how release is dispatched at exit",
  unregister: "how unregister takes a notifier off the list",
  rmap_notifier: "whether the per-page rmap notifier of EMMU V5 4/4 exists",
  sleepable: "the callout kinds a callback may sleep in, by kind",
  cite: "the seed hunk the chain's behaviour reproduces",
};

function chainSchema(full: boolean): Schema {
  const props: Record<string, Schema> = {
    list: enumSchema(LIST_PROTECTIONS, doc(CHAIN_DOCS, "list", "chain field")),
    register: enumSchema(REGISTER_LOCKINGS, doc(CHAIN_DOCS, "register", "chain field")),
    release: enumSchema(RELEASE_VARIANTS, doc(CHAIN_DOCS, "release", "chain field")),
    unregister: enumSchema(UNREGISTER_VARIANTS, doc(CHAIN_DOCS, "unregister", "chain field")),
    rmap_notifier: { type: "boolean", description: doc(CHAIN_DOCS, "rmap_notifier", "field") },
    sleepable: {
      type: "object",
      description: CHAIN_DOCS.sleepable,
      additionalProperties: false,
      properties: Object.fromEntries(
        SLEEPABLE_KINDS.map((k) => [k, {
          type: "boolean",
          description: `whether a ${k} callback may sleep`,
        }]),
      ),
    },
    cite: str(doc(CHAIN_DOCS, "cite", "chain field")),
  };
  for (const f of CHAIN_FIELDS) if (!props[f]) throw new Error(`No schema for "chain.${f}"`);
  return {
    type: "object",
    description: REVISION_DOCS.chain,
    additionalProperties: false,
    ...(full ? { required: ["list", "register", "release", "unregister", "cite"] } : {}),
    properties: props,
  };
}

/** The descriptions of the nonlinear variants' blocks and keys. */
export const NONLINEAR_DOCS: Record<string, string> = {
  remap_args: "how sys_remap_file_pages checks and rounds its arguments",
  "remap_args.align": "how start and size are aligned",
  "remap_args.end": "whether end is computed before or after the alignment",
  "remap_args.prot": "what the prot argument does",
  "remap_args.offset_limit": "the limit on pgoff",
  default_prot: "what remap_file_pages does to the vma's default protection",
  "default_prot.set": "keep it, force it to PROT_NONE, or unless the offset matches",
  "default_prot.offset": "the offset expression compared with pgoff",
  filemap_populate: "filemap_populate (->populate of a file)",
  "filemap_populate.no_page": "what it does for a page not in the page cache",
  "filemap_populate.install_error": "what it does when install_page fails",
  shmem_populate: "shmem_populate (->populate of shmem)",
  "shmem_populate.no_page": "what it does for a page not in the page cache",
  "shmem_populate.install_error": "what it does when install_page fails",
};

function nonlinearSchema(full: boolean): Schema {
  const props: Record<string, Schema> = {};
  for (const [block, keys] of Object.entries(NONLINEAR_VARIANTS)) {
    const inner: Record<string, Schema> = {};
    for (const [key, values] of Object.entries(keys)) {
      inner[key] = enumSchema(
        values as readonly string[],
        doc(NONLINEAR_DOCS, `${block}.${key}`, "key"),
      );
    }
    inner.cite = citeSchema("this part");
    const required = [...Object.keys(keys).filter((k) => k !== "offset"), "cite"];
    props[block] = {
      type: "object",
      description: doc(NONLINEAR_DOCS, block, "nonlinear block"),
      additionalProperties: false,
      ...(full ? { required } : {}),
      properties: inner,
      ...(block === "default_prot"
        ? {
          if: {
            properties: { set: { const: "force-none-unless-offset-matches" } },
            required: ["set"],
          },
          then: { required: ["offset"] },
        }
        : {}),
    };
  }
  return {
    type: "object",
    description: REVISION_DOCS.nonlinear,
    additionalProperties: false,
    ...(full ? { required: Object.keys(NONLINEAR_VARIANTS) } : {}),
    properties: props,
  };
}

/**
 * The revision schema.
 *
 * @returns The schema.
 */
export function revisionSchema(): Schema {
  const variant = (key: string, values: readonly string[], d: string) => ({
    type: "object",
    description: `${d}, with its citation`,
    additionalProperties: false,
    required: ["cite"],
    properties: { [key]: enumSchema(values, d), cite: citeSchema("the variant") },
  });
  const props: Record<string, Schema> = {
    $schema: str("the schema this file follows (for editors)"),
    id: str(REVISION_DOCS.id, { pattern: "^[a-z0-9][a-z0-9.+-]*$" }),
    title: str(REVISION_DOCS.title),
    lineage: str(REVISION_DOCS.lineage),
    follows: str(REVISION_DOCS.follows),
    extends: str(REVISION_DOCS.extends),
    candidate: { type: "boolean", description: REVISION_DOCS.candidate },
    date: str(REVISION_DOCS.date),
    source: str(REVISION_DOCS.source),
    evidence: str(REVISION_DOCS.evidence),
    posted_against: {
      type: "object",
      description: REVISION_DOCS.posted_against,
      additionalProperties: false,
      properties: {
        version: str("the kernel version, e.g. 2.6.24-rc8-mm1"),
        tree: str("the tree it was posted against"),
        cite: citeSchema("the version"),
      },
    },
    base: str(REVISION_DOCS.base, { enum: [...KERNEL_BASES] }),
    nonlinear: { $ref: "#/$defs/nonlinear" },
    chain: { $ref: "#/$defs/chain" },
    paths: {
      type: "object",
      description: REVISION_DOCS.paths,
      additionalProperties: false,
      properties: Object.fromEntries(
        Object.keys(HOOK_POINTS).map((path) => [path, {
          type: "object",
          description: `the callouts placed in ${path}`,
          additionalProperties: false,
          required: ["callouts"],
          properties: {
            callouts: {
              type: "array",
              description: `the callouts, in the order they run at each hook point of ${path}`,
              items: { $ref: `#/$defs/callout_${path}` },
            },
            cite: citeSchema("the path's callouts"),
          },
        }]),
      ),
    },
    drivers: {
      type: "object",
      description: REVISION_DOCS.drivers,
      additionalProperties: false,
      properties: {
        hmm: variant("snapshot", HMM_STRATEGIES, "the HMM mirror's snapshot strategy"),
        kvm: variant("release", KVM_RELEASES, "what KVM's ->release does"),
      },
    },
    kernel: {
      type: "object",
      description: REVISION_DOCS.kernel,
      additionalProperties: false,
      required: ["cite"],
      properties: {
        follow_page: enumSchema(FOLLOW_PAGE_VARIANTS, "what follow_page does to the pte"),
        rmap_lock: enumSchema(RMAP_LOCKS, "the lock the reverse-map walk takes"),
        anonymous_read: enumSchema(ANONYMOUS_READS, "what do_anonymous_page maps on a read fault"),
        cow_rmap: enumSchema(
          COW_RMAPS,
          "when do_wp_page's copy takes the old page's rmap off: before the pte's clear, or after the new pte is set",
        ),
        referenced_locked: enumSchema(
          REFERENCED_LOCKED,
          "what page_referenced_one does in a VM_LOCKED vma: the young bit only, or a reference that ends the walk",
        ),
        swap_cache: enumSchema(
          SWAP_CACHE_RULES,
          "when a page leaves the swap cache outside reclaim: only the caller and the cache hold it (remove_exclusive_swap_page), or no pte maps it and no swap pte refers to it (try_to_free_swap)",
        ),
        wp_page_lock: enumSchema(
          WP_PAGE_LOCKS,
          "what do_wp_page does with an anonymous page whose lock is held: copies it (trylock), or waits for the lock and decides under it (lock); and how it dirties a shared page it reuses: once the page lock is free (trylock), or under it (lock)",
        ),
        rwsem_wake: enumSchema(
          RWSEM_WAKES,
          "what a release does for a writer at the front of an rw semaphore's queue: gives it the semaphore (grant), or wakes it, and a writer coming first takes the semaphore (wake)",
        ),
        zap_break: enumSchema(
          ZAP_BREAKS,
          "how unmap_vmas paces a long zap: in ZAP_BLOCK_SIZE blocks, with unmap_mapping_range's lock break and restart (zap-block), or each vma whole under the lock (none)",
        ),
        swap_write_result: enumSchema(
          SWAP_WRITE_RESULTS,
          "what do_swap_page returns after a write fault: of the do_wp_page it calls, VM_FAULT_OOM only (oom-only) or its VM_FAULT_WRITE too (or-wp), and also VM_FAULT_WRITE when it reuses the page itself (reuse-or-wp)",
        ),
        gup_force: enumSchema(
          GUP_FORCES,
          "how get_user_pages makes a forced write: COW in any VM_MAYWRITE vma and lookups as reads after VM_FAULT_WRITE (cow-any), or no forced write to a shared vma without VM_WRITE and write lookups that take a dirty pte after a COW (foll-cow, FOLL_COW)",
        ),
        cite: citeSchema("the variants"),
      },
    },
  };
  for (const k of TOP_KEYS) {
    if (!props[k]) throw new Error(`No schema for the revision field "${k}"`);
  }
  const defs: Record<string, Schema> = {
    chain: chainSchema(false),
    chainFull: chainSchema(true),
    nonlinear: nonlinearSchema(false),
    nonlinearFull: nonlinearSchema(true),
  };
  for (const path of Object.keys(HOOK_POINTS)) defs[`callout_${path}`] = calloutSchema(path);
  const old = { properties: { base: { const: "2.5.42" } }, required: ["base"] };
  return {
    $schema: DRAFT,
    $id: "https://mmbisect.invalid/schema/revision.schema.json",
    title: "mmbisect revision",
    description:
      "A revision file (patches/<id>.json, or --revision FILE): what one revision of a patch does, as data, with the seed hunk each part reproduces. With extends, only id is required and the rest merges over the base revision.",
    type: "object",
    additionalProperties: false,
    required: ["id"],
    properties: props,
    allOf: [
      {
        if: { required: ["extends"] },
        else: {
          required: ["id", "title", "lineage", "date", "source", "posted_against"],
          properties: {
            posted_against: { required: ["version", "tree", "cite"] },
            nonlinear: { $ref: "#/$defs/nonlinearFull" },
          },
        },
      },
      {
        if: old,
        then: {
          not: { anyOf: ["chain", "paths", "drivers", "kernel"].map((k) => ({ required: [k] })) },
        },
        // An extending revision inherits its base: only one that says it is not 2.5.42 can tell.
        else: { if: { required: ["extends"] }, else: { not: { required: ["nonlinear"] } } },
      },
      {
        if: { not: { anyOf: [{ required: ["extends"] }, old] } },
        then: { required: ["chain"], properties: { chain: { $ref: "#/$defs/chainFull" } } },
      },
      {
        if: { allOf: [{ not: { required: ["extends"] } }, old] },
        then: { required: ["nonlinear"] },
      },
    ],
    $defs: defs,
  };
}

/** Serialises a schema as it is checked in: two-space indent, trailing newline. */
export function schemaText(schema: Schema): string {
  return JSON.stringify(schema, null, 2) + "\n";
}

/** The generated files, by path from the project root. */
export function schemaFiles(): Record<string, string> {
  return {
    "docs/scenario.schema.json": schemaText(scenarioSchema()),
    "docs/revision.schema.json": schemaText(revisionSchema()),
  };
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  for (const [path, text] of Object.entries(schemaFiles())) {
    Deno.writeTextFileSync(new URL(path, root), text);
    console.log(`wrote ${path}`);
  }
}
