/**
 * The checker interface and the violation vocabulary. Every violation in an
 * outcome comes from a registered checker observing the model's state and
 * the observations (callouts, secondary accesses) of a run.
 *
 * @module
 */
import type { Kernel, Observation } from "../kernel/context.ts";
import type { ChainConfig, NotifierChain } from "../notifier/chain.ts";

/** The stable violation names (DESIGN.md, "Violation vocabulary"). */
export const VIOLATION_KINDS = [
  "unbalanced-range",
  "stale-secondary",
  "lost-write",
  "use-after-free",
  "sleep-in-atomic",
  "page-leak",
  "wrong-page",
  "pte-outside-vma",
  "release-count",
  "list-corruption",
  "no-progress",
  "errno",
] as const;

/** A violation name. */
export type ViolationKind = typeof VIOLATION_KINDS[number];

/** One violation, as an outcome reports it. */
export interface Violation {
  /** Which invariant was broken. */
  kind: ViolationKind;
  /** Scenario step (0-based) during or after which it was observed. */
  step: number;
  /** The address or range concerned, in hex. */
  where: string;
  /** What the checker observed. */
  detail: string;
  /**
   * The id of the secondary MMU the violation is about (its translation, its
   * callback, its reference, its fault), when it is about one; absent when the
   * kernel alone broke the invariant.
   */
  secondary?: string;
}

/** What a checker can look at. */
export interface CheckContext {
  /** The kernel of the run: model state, locks held, current step. */
  readonly kernel: Kernel;
  /** The notifier chain: the lists of every mm and every secondary MMU. */
  readonly chain: NotifierChain;
  /** The revision's notifier-chain behaviour. */
  readonly config: ChainConfig;
  /** Records a violation. */
  report(v: Violation): void;
}

/**
 * A named invariant: a stateless definition, registered once as a
 * module-level constant. Whatever a checker remembers between calls lives in
 * its memory `M`, which the run creates with {@link Checker.init}, owns, and
 * hands back to every call; a definition keeps no state of its own (no
 * closure, no field it writes), so the explorer can copy a run, memory
 * included, and every copy goes on independently.
 *
 * The memory must be plain data: records, arrays, Sets and Maps of
 * strings, numbers, booleans and such, never a function. The explorer deep
 * copies it with the run and encodes it, in iteration order, in its state
 * hash: a checker should keep that order a function of the contents (sorted
 * keys, or entries added in the order of the violations they go with) so that
 * equal memories encode the same.
 *
 * @example
 * ```ts
 * import type { Checker } from "./checker.ts";
 * // Reports each secondary once, the first time it accesses a page.
 * const firstAccess: Checker<{ seen: Set<string> }> = {
 *   kind: "lost-write",
 *   doc: "an example",
 *   init: () => ({ seen: new Set() }),
 *   observe(ctx, o, mem) {
 *     if (o.type !== "secondary-access" || mem.seen.has(o.secondary)) return;
 *     mem.seen.add(o.secondary);
 *     ctx.report({ kind: "lost-write", step: o.step, where: o.secondary, detail: "first access" });
 *   },
 * };
 * const memory = firstAccess.init!();
 * console.log(memory.seen.size); // 0
 * ```
 */
export interface Checker<M = unknown> {
  /** The violation kind it reports. */
  readonly kind: ViolationKind;
  /** One line: what it checks. */
  readonly doc: string;
  /**
   * Creates the checker's memory for a new run (absent: the checker keeps
   * nothing, and its memory is `undefined`).
   *
   * @returns Fresh memory: plain data, no functions.
   */
  init?(): M;
  /**
   * Called on every observation, synchronously.
   *
   * @param ctx What the checker can look at, and where it reports.
   * @param o The observation.
   * @param mem The checker's memory in this run.
   */
  observe?(ctx: CheckContext, o: Observation, mem: M): void;
  /**
   * Called when a scenario step has returned (every thread of it finished).
   *
   * @param ctx What the checker can look at, and where it reports.
   * @param step The step (0-based) that returned.
   * @param mem The checker's memory in this run.
   */
  afterStep?(ctx: CheckContext, step: number, mem: M): void;
  /**
   * Called once after the last step.
   *
   * @param ctx What the checker can look at, and where it reports.
   * @param lastStep The index of the scenario's last step.
   * @param mem The checker's memory in this run.
   */
  atEnd?(ctx: CheckContext, lastStep: number, mem: M): void;
}
