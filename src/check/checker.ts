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

/** A named invariant. */
export interface Checker {
  /** The violation kind it reports. */
  readonly kind: ViolationKind;
  /** One line: what it checks. */
  readonly doc: string;
  /** Called on every observation, synchronously. */
  observe?(ctx: CheckContext, o: Observation): void;
  /** Called when a scenario step has returned (every thread of it finished). */
  afterStep?(ctx: CheckContext, step: number): void;
  /** Called once after the last step. */
  atEnd?(ctx: CheckContext, lastStep: number): void;
  /** What the checker remembers, for the explorer's state hash. */
  snapshot?(): unknown;
}
