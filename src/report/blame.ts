/**
 * Causal blame: which of the config keys that differ between two revisions
 * flip a scenario's verdict. Hybrid revisions (revision A with some of the
 * differing keys taken from B) are run, and the smallest set of keys whose
 * hybrid has B's verdict is kept: single keys first, then delta debugging
 * (ddmin) over every differing key when no single key suffices.
 *
 * @module
 */
import type { ViolationKind } from "../check/checker.ts";
import { explore, type ExploreResult } from "../explore/explorer.ts";
import { Run } from "../run/runner.ts";
import type { Outcome } from "../run/outcome.ts";
import { type Deadline, deadline, DEFAULT_TIMEOUT_SECONDS } from "../run/deadline.ts";
import { diffConfig, type KeyChange, type Revision } from "../run/revision.ts";
import type { Scenario } from "../run/scenario.ts";
import { applicable, behaviourKey, hybridRevision } from "./_hybrid.ts";
import { InputError } from "../run/errors.ts";

/** Options of {@link blame}. */
export interface BlameOptions {
  /**
   * Which verdict is blamed: `run` (default), the violation kinds of one run
   * (for a race scenario, its default schedule, as a matrix cell has it);
   * `explore`, the explorer's verdict over every schedule (each kind's
   * always / sometimes).
   */
  verdict?: "run" | "explore";
  /**
   * The time bound of each run or exploration, in seconds (default
   * {@link DEFAULT_TIMEOUT_SECONDS}). A hybrid stopped by it counts as not
   * having B's verdict.
   */
  timeout?: number;
  /**
   * What the caller already has of `from` and `to` with the same scenario
   * and time bound: the outcome of each run (verdict `run`) or each
   * exploration (verdict `explore`: its status and verdicts suffice). A
   * complete one gives its revision's verdict without running the scenario
   * again; one stopped by a bound is run again.
   */
  known?: { from?: Known; to?: Known };
}

/** A run's outcome, or an exploration's status and verdicts (see {@link BlameOptions.known}). */
export type Known = Outcome | Pick<ExploreResult, "status" | "verdicts">;

/**
 * How {@link Blame.causes} was found: `single` (one key alone gives B's
 * verdict), `ddmin` (no single key does; delta debugging found a set none of
 * whose keys can be left out), `none` (even every differing key together
 * does not give B's verdict: what differs lies outside the flattened config,
 * such as the order of two callouts at one hook point, or a run was stopped
 * by the time bound), `same` (A's verdict is already B's: nothing to blame).
 */
export type BlameMethod = "single" | "ddmin" | "none" | "same";

/** The keys that flip a scenario's verdict from one revision to another. */
export interface Blame {
  /** The scenario id. */
  scenario: string;
  /** Revision A, the one the hybrids start from. */
  from: string;
  /** Revision B, the one whose verdict is sought. */
  to: string;
  /** Which verdict was blamed (see {@link BlameOptions.verdict}). */
  verdict: "run" | "explore";
  /** The verdict on A: sorted kinds (`run`), or `kind reach` pairs (`explore`); `pass` for none. */
  fromVerdict: string;
  /** The verdict on B, in the same form. */
  toVerdict: string;
  /** How the causes were found. */
  method: BlameMethod;
  /**
   * The smallest set of differing keys found that alone flips the verdict:
   * A with these keys taken from B has B's verdict. Empty when the method is
   * `none` or `same`.
   */
  causes: KeyChange[];
  /**
   * Other keys that each flip the verdict alone as well (method `single`
   * only, when more than one key does; {@link Blame.causes} holds the first in
   * key order).
   */
  alternatives: KeyChange[];
  /** The other keys that differ, which the verdict does not need. */
  alsoDiffer: KeyChange[];
  /**
   * How many hybrids were run (or explored), besides A and B themselves; a
   * set that cannot be taken alone, or that the loader refuses, is not run.
   */
  runs: number;
}

/**
 * Finds the smallest set of the config keys that differ from `from` to `to`
 * which alone flips the scenario's verdict. Each candidate set is applied to
 * `from` as a hybrid revision (built on the resolved JSON and re-parsed, so
 * it is exactly what the loader would give; callouts are replaced, removed or
 * inserted at their position in `to`), and the scenario is run on it. A set
 * is kept when the hybrid's verdict equals `to`'s. Every single key is tried
 * first; when none suffices, ddmin over all the keys finds a set from which
 * no key can be left out (1-minimal; as no single key works, a pair it finds
 * is the smallest there is). The search is deterministic.
 *
 * @param scenario The scenario.
 * @param from Revision A.
 * @param to Revision B, of the same kernel tree.
 * @param opts Which verdict to blame, and the time bound of each run.
 * @returns The causes, the alternatives and the other differing keys.
 * @throws {RangeError} When the revisions are of different kernel trees, or the scenario is
 * not written for theirs.
 *
 * @example
 * ```ts
 * import { loadRevisionDir } from "../run/revision.ts";
 * import { loadScenario } from "../run/scenario.ts";
 * import { blame } from "./blame.ts";
 * const revs = loadRevisionDir("patches");
 * const get = (id: string) => revs.find((r) => r.id === id)!;
 * const s = loadScenario("scenarios/wp-reuse-after-fork.json");
 * const b = blame(s, get("emmu-v3"), get("emmu-v4"));
 * console.log(b.fromVerdict, "->", b.toVerdict, "caused by", b.causes.map((k) => k.key));
 * // pass -> no-progress,unbalanced-range caused by
 * // [ "paths.do_wp_page.callouts[unlock:invalidate_range_end]" ]
 * ```
 */
export function blame(
  scenario: Scenario,
  from: Revision,
  to: Revision,
  opts: BlameOptions = {},
): Blame {
  if (from.base !== to.base || scenario.kernel !== from.base) {
    throw new RangeError(
      `Cannot blame "${scenario.id}" (${scenario.kernel}) from "${from.id}" (${from.base}) ` +
        `to "${to.id}" (${to.base}): not one kernel tree`,
    );
  }
  const mode = opts.verdict ?? "run";
  const seconds = opts.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  // Verdicts by behaviour: two subsets can give one hybrid, or a hybrid A or B itself.
  const seen = new Map<string, string | undefined>();
  const verdictOf = (rev: Revision, known?: Known) => {
    const key = behaviourKey(rev);
    if (seen.has(key)) return seen.get(key);
    const v = (known && knownVerdict(known, mode)) ?? verdict(scenario, rev, mode, seconds);
    seen.set(key, v);
    return v;
  };
  const keys = diffConfig(from, to);
  const fromVerdict = verdictOf(from, opts.known?.from);
  const toVerdict = verdictOf(to, opts.known?.to);
  // Subsets tried, by their keys joined: whether the hybrid has B's verdict.
  const tried = new Map<string, boolean>();
  let runs = 0;
  const result = (method: BlameMethod, causes: string[], alternatives: string[] = []): Blame => ({
    scenario: scenario.id,
    from: from.id,
    to: to.id,
    verdict: mode,
    fromVerdict: fromVerdict ?? "(stopped by the time bound)",
    toVerdict: toVerdict ?? "(stopped by the time bound)",
    method,
    causes: keys.filter((k) => causes.includes(k.key)),
    alternatives: keys.filter((k) => alternatives.includes(k.key)),
    alsoDiffer: keys.filter((k) => !causes.includes(k.key) && !alternatives.includes(k.key)),
    runs,
  });
  if (fromVerdict === undefined || toVerdict === undefined) return result("none", []);
  if (fromVerdict === toVerdict) return result("same", []);
  const flips = (subset: string[]): boolean => {
    const id = subset.join("\n");
    let ok = tried.get(id);
    if (ok === undefined) {
      const hybrid = hybridOf(from, to, subset);
      if (hybrid) runs++;
      ok = hybrid !== undefined && verdictOf(hybrid) === toVerdict;
      tried.set(id, ok);
    }
    return ok;
  };
  const names = keys.map((k) => k.key);
  const singles = names.filter((k) => flips([k]));
  if (singles.length) return result("single", singles.slice(0, 1), singles.slice(1));
  if (names.length < 2 || !flips(names)) return result("none", []);
  return result("ddmin", ddmin(names, flips));
}

/**
 * Hybrids built so far, by A, B and the keys joined (undefined: none can be
 * built). A report blames every scenario whose verdict changes between two
 * revisions, and each search builds the same hybrids of that pair again; a
 * loaded revision does not change, so neither does a hybrid of two.
 */
const HYBRIDS = new WeakMap<Revision, WeakMap<Revision, Map<string, Revision | undefined>>>();

/**
 * A with `keys` of B, or undefined when they cannot be taken on their own
 * ({@link applicable}) or the loader refuses the hybrid: a key that needs
 * another (`nonlinear.default_prot.set` "force-none-unless-offset-matches"
 * needs `nonlinear.default_prot.offset`) cannot be taken alone.
 */
function hybridOf(from: Revision, to: Revision, keys: string[]): Revision | undefined {
  let byTo = HYBRIDS.get(from);
  if (!byTo) HYBRIDS.set(from, byTo = new WeakMap());
  let built = byTo.get(to);
  if (!built) byTo.set(to, built = new Map());
  const id = keys.join("\n");
  if (built.has(id)) return built.get(id);
  let hybrid: Revision | undefined;
  try {
    hybrid = applicable(from, to, keys) ? hybridRevision(from, to, keys) : undefined;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
  }
  built.set(id, hybrid);
  return hybrid;
}

/** The verdict of a run or exploration the caller has; undefined when a bound stopped it. */
function knownVerdict(r: Known, mode: "run" | "explore"): string | undefined {
  if (mode === "explore") {
    const x = r as Pick<ExploreResult, "status" | "verdicts">;
    return x.status === "complete" ? exploreVerdict(x) : undefined;
  }
  const o = r as Outcome;
  return (o.status ?? o.verdict) === "timeout" ? undefined : runVerdict(o.kinds);
}

/** An exploration's verdict as text: each kind's reach, in kind order. */
function exploreVerdict(r: Pick<ExploreResult, "verdicts">): string {
  const kinds = Object.entries(r.verdicts).sort(([a], [b]) => a.localeCompare(b));
  return kinds.map(([k, reach]) => `${k} ${reach}`).join(", ") || "never";
}

/** A run's verdict as text: its distinct kinds, sorted. */
function runVerdict(kinds: readonly ViolationKind[]): string {
  return [...new Set<ViolationKind>(kinds)].sort().join(",") || "pass";
}

/** A verdict as comparable text; undefined when the time bound stopped the run. */
function verdict(
  scenario: Scenario,
  rev: Revision,
  mode: "run" | "explore",
  seconds: number,
): string | undefined {
  if (mode === "explore") {
    const r = explore(scenario, rev, { timeout: seconds });
    return r.status === "complete" ? exploreVerdict(r) : undefined;
  }
  // As runCell runs it (the default schedule), with no outcome built: only the kinds count.
  const clock = watched(deadline(seconds));
  const run = new Run(scenario, rev, { deadline: clock, trace: false });
  run.complete();
  if (clock.hit) return undefined;
  return runVerdict(run.kinds() as ViolationKind[]);
}

/** A deadline that remembers whether it ever said the bound had passed. */
function watched(d: Deadline): Deadline & { hit: boolean } {
  const w = {
    seconds: d.seconds,
    hit: false,
    expired() {
      if (d.expired()) w.hit = true;
      return w.hit;
    },
  };
  return w;
}

/**
 * Delta debugging (Zeller and Hildebrandt's ddmin) for a set that passes
 * `test`: splits it in `n` parts, keeps a part or a complement that still
 * passes, and refines the split until no single element can be removed.
 * Elements keep their order; subsets are tested in a fixed order.
 */
function ddmin(all: string[], test: (subset: string[]) => boolean): string[] {
  let c = all;
  let n = 2;
  while (c.length >= 2) {
    const chunks = split(c, n);
    const part = chunks.find((x) => test(x));
    if (part) {
      c = part;
      n = 2;
      continue;
    }
    // With two parts, a complement is the other part: already tested.
    const rest = n > 2
      ? chunks.map((x) => c.filter((k) => !x.includes(k))).find((x) => test(x))
      : undefined;
    if (rest) {
      c = rest;
      n = Math.max(n - 1, 2);
      continue;
    }
    if (n >= c.length) break;
    n = Math.min(c.length, 2 * n);
  }
  return c;
}

/** Splits a list into `n` contiguous parts of near-equal size. */
function split<T>(list: T[], n: number): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + Math.floor((list.length - start) / (n - i));
    out.push(list.slice(start, end));
    start = end;
  }
  return out.filter((x) => x.length);
}
