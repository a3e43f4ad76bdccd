/**
 * Outcomes: what one scenario did on one revision, as deterministic JSON.
 *
 * @module
 */
import { reproduceCommand } from "./reproduce.ts";
import type { CalloutEvent } from "../kernel/context.ts";
import type { Counters, MmState } from "../model/types.ts";
import { canonicalJson, digest, hex, hexRange } from "../model/state.ts";
import type { Violation, ViolationKind } from "../check/checker.ts";
import type { OpResult, World } from "./ops.ts";
import type { Scenario } from "./scenario.ts";
import type { Revision } from "./revision.ts";
import type { View } from "./v2.5.42/views.ts";
import { kernelTree } from "./kernel_tree.ts";

/** Version of the outcome JSON schema. */
export const OUTCOME_SCHEMA = "mmbisect/outcome@1";

/**
 * The status of one cell (one scenario on one revision), for CI:
 * `pass` (no violation), `fail` (a violation), `unsupported` (a step, or a
 * thread of a race step, returned `"unsupported"`: the revision or driver
 * cannot do what it asks) or `timeout` (a bound stopped the run: a step's
 * bound on scheduling points, or the cell's time bound). `unsupported` and
 * `timeout` take precedence over the verdict, as the run did not complete
 * the scenario. The runner records it as it runs.
 */
export type CellStatus = "pass" | "fail" | "unsupported" | "timeout";

/** One callout as an outcome records it. */
export interface TraceEntry {
  /** Scenario step (0-based) during which the kernel made the call. */
  step: number;
  /** The calling thread. */
  thread: string;
  /** The kernel function making the call. */
  path: string;
  /** The hook point within `path`. */
  at: string;
  /** The callout as the revision's API names it. */
  call: string;
  /** The mm passed to the callout. */
  mm: string;
  /** The `[start, end)` passed to a range callout, in hex. */
  range?: string;
  /** The address passed to a per-page or young callout, in hex. */
  address?: string;
  /** The `atomic` argument, or null when the API passes none. */
  atomic: 0 | 1 | null;
  /** Locks held by the calling thread, outermost first. */
  locks: string[];
  /** Whether the caller holds a spinlock or is in an RCU read section. */
  inAtomic: boolean;
  /** Notifiers on the list when it was made. */
  listeners: string[];
}

/** The outcome of one scenario on one revision. */
export interface Outcome {
  /** The outcome schema version, {@link OUTCOME_SCHEMA}. */
  schema: typeof OUTCOME_SCHEMA;
  /** Scenario id. */
  scenario: string;
  /** Revision id. */
  revision: string;
  /** Content hashes of the inputs, so a stale stored result is visible. */
  hashes: { scenario: string; revision: string };
  /** "fail" when any checker reported a violation. */
  verdict: "pass" | "fail";
  /** The cell's status: the verdict, unless the run did not complete (see {@link CellStatus}). */
  status: CellStatus;
  /** Distinct violation kinds, sorted. */
  kinds: ViolationKind[];
  /** Every violation, sorted by step, kind, place and detail. */
  violations: Violation[];
  /** What each step's operation returned (a value, an errno name, or "aborted"). */
  returns: { step: number; op: string; value: OpResult }[];
  /** Every callout the kernel made, in order (empty when the run kept no trace). */
  trace: TraceEntry[];
  /** Model counters at the end, with the vmas and page-table pages left and the callouts made. */
  counters: Counters & { vmas: number; pageTablePages: number; callouts: number };
  /** Each secondary MMU's driver state at the end, by notifier id. */
  secondaries: { id: string; driver: string; state: Record<string, number | string | string[]> }[];
  /** 2.5.42 scenarios: the modelled kernel functions the run went through, sorted. */
  paths?: string[];
  /**
   * 2.5.42 scenarios: what a user read finds through every mapped address
   * at the end (and through every pte outside a vma), runs of alike
   * addresses merged.
   */
  views?: View[];
  /** Set when a step stopped on a deadlock or BUG. */
  aborted?: string;
  /** Digest of the final model state. */
  stateDigest: string;
  /** The command that reproduces this outcome. */
  reproduce: string;
}

/**
 * Hashes already computed, by the scenario or revision object: every outcome
 * carries both, and a loaded scenario's JSON and a revision's resolved config
 * do not change after loading, so each is serialised once, not per outcome.
 */
const HASHES = new WeakMap<Scenario | Revision, string>();

function hashOnce(of: Scenario | Revision, value: unknown): string {
  let h = HASHES.get(of);
  if (h === undefined) {
    h = digest(value);
    HASHES.set(of, h);
  }
  return h;
}

/** Content hash of a scenario (its file's JSON). */
export function scenarioHash(s: Scenario): string {
  return hashOnce(s, s.source);
}

/** Content hash of a revision (its resolved config). */
export function revisionHash(r: Revision): string {
  return hashOnce(r, r.resolved);
}

/** Formats a callout event for an outcome. */
export function traceEntry(ev: CalloutEvent, listeners: string[]): TraceEntry {
  const e: TraceEntry = {
    step: ev.step,
    thread: ev.thread,
    path: ev.path,
    at: ev.at,
    call: ev.call,
    mm: ev.mm,
    atomic: ev.atomic,
    locks: ev.locks,
    inAtomic: ev.inAtomic,
    listeners,
  };
  if (ev.range) e.range = hexRange(ev.range);
  if (ev.address !== undefined) e.address = hex(ev.address);
  return e;
}

/** Inputs of {@link buildOutcome}. */
export interface OutcomeParts {
  /** The scenario that ran. */
  scenario: Scenario;
  /** The revision it ran on. */
  revision: Revision;
  /** Violations the checkers reported, in any order. */
  violations: Violation[];
  /** Callouts the kernel made, in order. */
  trace: CalloutEvent[];
  /** For each callout of `trace`, the notifiers on the mm's list at that moment. */
  listeners: string[][];
  /** Callouts made (the length of the trace when it is kept). */
  callouts?: number;
  /** Each step's return value, in step order. */
  returns: OpResult[];
  /** Why the run stopped early (a deadlock or BUG), if it did. */
  aborted?: string;
  /** Why the run did not complete the scenario, if it did not: a step unsupported, or a bound. */
  incomplete?: "unsupported" | "timeout";
  /** The final kernel and notifier chain. */
  world: World;
}

/** Assembles an outcome with a fixed key order. */
export function buildOutcome(p: OutcomeParts): Outcome {
  const { state } = p.world.kernel;
  const violations = [...p.violations].sort((a, b) =>
    a.step - b.step || a.kind.localeCompare(b.kind) || a.where.localeCompare(b.where) ||
    a.detail.localeCompare(b.detail)
  );
  const kinds = [...new Set(violations.map((v) => v.kind))].sort();
  const out: Outcome = {
    schema: OUTCOME_SCHEMA,
    scenario: p.scenario.id,
    revision: p.revision.id,
    hashes: { scenario: scenarioHash(p.scenario), revision: revisionHash(p.revision) },
    verdict: violations.length ? "fail" : "pass",
    status: p.incomplete ?? (violations.length ? "fail" : "pass"),
    kinds,
    violations,
    returns: p.returns.map((value, step) => ({ step, op: p.scenario.steps[step].op, value })),
    trace: p.trace.map((ev, i) => traceEntry(ev, p.listeners[i] ?? [])),
    counters: outcomeCounters(state, p.callouts ?? p.listeners.length),
    secondaries: Object.keys(p.world.chain.secondaries).sort().map((id) => {
      const s = p.world.chain.secondaries[id];
      return { id, driver: s.driver, state: s.summary() };
    }),
    stateDigest: digest(state),
    reproduce: reproduceCommand(p.scenario, p.revision),
  };
  const record = kernelTree(p.revision.base).record?.(p.world.kernel);
  if (record) {
    out.paths = record.paths;
    out.views = record.views;
  }
  if (p.aborted) out.aborted = p.aborted;
  return out;
}

/**
 * An outcome's counters: the model's, with the vmas and page-table pages
 * of every mm at the end and the number of callouts made.
 *
 * @param state The final state.
 * @param callouts Callouts made.
 * @returns The counters.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "./revision.ts";
 * import { loadScenario } from "./scenario.ts";
 * import { Run } from "./runner.ts";
 * import { outcomeCounters } from "./outcome.ts";
 * const v5 = loadRevisionDir("patches").find((r) => r.id === "emmu-v5")!;
 * const run = new Run(loadScenario("scenarios/wp-reuse-after-fork.json"), v5);
 * run.complete();
 * console.log(outcomeCounters(run.kernel.state, run.callouts).vmas);
 * ```
 */
export function outcomeCounters(state: MmState, callouts: number): Outcome["counters"] {
  let vmas = 0;
  let tables = 0;
  for (const id of Object.keys(state.mms).sort()) {
    const mm = state.mms[id];
    vmas += mm.vmas.length;
    tables += Object.keys(mm.tables.pud).length + Object.keys(mm.tables.pmd).length +
      Object.keys(mm.tables.pte).length;
  }
  return { ...state.counters, vmas, pageTablePages: tables, callouts };
}

/**
 * Digest of everything in an outcome that does not name the revision or
 * its hash: two revisions with the same behaviour digest alike.
 */
export function behaviourDigest(o: Outcome): string {
  const { revision: _r, hashes: _h, reproduce: _p, ...rest } = o;
  return digest(rest);
}

/** Serialises an outcome: stable key order, two-space indent, trailing newline. */
export function outcomeJson(o: Outcome): string {
  return JSON.stringify(JSON.parse(canonicalJson(o)), null, 2) + "\n";
}
