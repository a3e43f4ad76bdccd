/**
 * Hand-built outcomes, revisions, matrices and scenarios for the tests.
 *
 * @module
 */
import {
  loadRevisionDir,
  type Matrix,
  type Outcome,
  parseScenario,
  type Revision,
  type Scenario,
  type TraceEntry,
  type ViolationKind,
} from "../mod.ts";
import { zeroCounters } from "../src/model/state.ts";

/**
 * A shipped revision whose every field the hand-built ones inherit, so that
 * fields added to revisions later are present (and equal) on all of them.
 */
const BASE = loadRevisionDir("patches")[0];

/** A minimal outcome: only what the diff reads is meaningful. */
export function outcome(
  revision: string,
  kinds: ViolationKind[],
  opts: { scenario?: string; paths?: string[]; faults?: number } = {},
): Outcome {
  const scenario = opts.scenario ?? "s1";
  const trace: TraceEntry[] = (opts.paths ?? []).map((path, step) => ({
    step,
    thread: "cpu0",
    path,
    at: "entry",
    call: "invalidate_range_begin",
    mm: "A",
    atomic: 0,
    locks: [],
    inAtomic: false,
    listeners: ["kvm0"],
  }));
  return {
    schema: "mmbisect/outcome@1",
    scenario,
    revision,
    hashes: { scenario: "0", revision: revision },
    verdict: kinds.length ? "fail" : "pass",
    status: kinds.length ? "fail" : "pass",
    kinds,
    violations: kinds.map((kind) => ({ kind, step: 1, where: "0x1000", detail: `${kind} seen` })),
    returns: [],
    trace,
    counters: {
      ...zeroCounters(),
      faults: opts.faults ?? 0,
      vmas: 0,
      pageTablePages: 0,
      callouts: trace.length,
    },
    secondaries: [],
    stateDigest: "0",
    reproduce: `deno task run ${scenario} ${revision}`,
  };
}

/** A minimal revision: provenance, a chain and callouts by path. */
export function revision(
  id: string,
  opts: {
    lineage?: string;
    follows?: string;
    candidate?: boolean;
    list?: string;
    callouts?: Record<string, string[]>;
  } = {},
): Revision {
  const paths: Record<string, { callouts: { at: string; call: string; cite: string }[] }> = {};
  for (const [path, calls] of Object.entries(opts.callouts ?? {})) {
    paths[path] = { callouts: calls.map((call) => ({ at: "entry", call, cite: "test" })) };
  }
  return {
    ...BASE,
    id,
    file: `${id}.json`,
    title: id,
    lineage: opts.lineage ?? "l",
    follows: opts.follows,
    candidate: opts.candidate ?? false,
    date: "2008-01-01",
    source: "test",
    base: "2.6.24",
    evidence: undefined,
    chain: {
      ...BASE.chain,
      list: opts.list ?? "rcu",
      register: "r",
      release: "x",
      sleepable: {},
      cite: "test",
    },
    paths,
    resolved: {},
  } as unknown as Revision;
}

/** A matrix of the given revisions and outcomes; scenarios are named by the outcomes. */
export function matrix(revisions: Revision[], cells: Outcome[]): Matrix {
  const ids = [...new Set(cells.map((c) => c.scenario))];
  return {
    scenarios: ids.map((id) => ({ id, kernel: "2.6.24" }) as Scenario),
    revisions,
    cells,
  };
}

/** A small well-formed 2.6.24 scenario: an mmap and a write, with a KVM secondary declared. */
export const SMALL_SCENARIO = {
  purpose: "p",
  exercises: ["munmap"],
  cite: "c",
  secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
  steps: [
    { op: "mmap", mm: "A", addr: "0x100000", len: "0x2000", prot: "rw", share: "private" },
    { op: "touch", mm: "A", addr: "0x101000", access: "write" },
  ],
};

/**
 * A hugetlbfs file of two huge pages mapped at 0x40000000 in mm A (`share`,
 * "private" by default), secondary `driver` (KVM by default) attached to A as
 * `sec`, then `steps`.
 */
export function hugeScenario(
  steps: unknown[],
  opts: { share?: "private" | "shared"; driver?: string; sec?: string } = {},
): Scenario {
  return parseScenario(
    {
      purpose: "a hugetlbfs mapping",
      exercises: [],
      cite: "tests/_fixtures.ts",
      files: [{ name: "huge", pages: 2, kind: "hugetlbfs" }],
      secondaries: [{ id: opts.sec ?? "kvm0", driver: opts.driver ?? "kvm", mm: "A" }],
      steps: [
        {
          op: "mmap",
          mm: "A",
          addr: "0x40000000",
          len: "0x400000",
          prot: "rw",
          share: opts.share ?? "private",
          file: "huge",
        },
        ...steps,
      ],
    },
    "inline.json",
    "inline",
  );
}

/**
 * A deterministic stream of integers in [0, 2^31) (a linear congruential
 * generator), for random schedules that a failing test replays: each call
 * returns the next.
 *
 * @param seed Where the stream starts.
 * @returns The next integer, at each call.
 */
export function lcg(seed: number): () => number {
  let x = seed | 0;
  return () => (x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff);
}

/** What {@link mmapStep} maps, beyond its range. */
export interface MmapOptions {
  /** The mm (default "A"). */
  mm?: string;
  /** A file the scenario declares: a shared mapping of it (default: private anonymous memory). */
  file?: string;
  /** Protection (default "rw"). */
  prot?: "none" | "r" | "rw";
  /** MAP_LOCKED. */
  locked?: boolean;
}

/**
 * A scenario's `mmap` step of `[addr, addr + len)`: private anonymous
 * memory, or with `file` a shared mapping of that file.
 *
 * @example
 * ```ts
 * import { mmapStep } from "./_fixtures.ts";
 * console.log(mmapStep("0x200000", "0x2000", { file: "data" }).share); // "shared"
 * ```
 */
export function mmapStep(addr: string, len: string, opts: MmapOptions = {}) {
  const { mm = "A", file, prot = "rw", locked } = opts;
  return {
    op: "mmap",
    mm,
    addr,
    len,
    prot,
    share: file === undefined ? "private" : "shared",
    ...(file === undefined ? {} : { file }),
    ...(locked === undefined ? {} : { locked }),
  };
}

/** A scenario's `touch` step: a CPU read or write of `addr` in `mm` (default "A"). */
export function touchStep(addr: string, access: "read" | "write", mm = "A") {
  return { op: "touch", mm, addr, access };
}
