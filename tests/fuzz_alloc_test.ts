/**
 * Fault injection: every allocation point of every shipped scenario made to
 * fail, one at a time, and random sets of them together. Each step's
 * allocations are first counted per kind (`Kernel.alloc` wrapped on one run),
 * then the nth allocation of each kind in each step is failed through the
 * step's `fail` plan. The promise checked: every run ends in a typed
 * outcome, and the failure injected did happen.
 *
 * By default each scenario is failed through on one revision of its tree (a
 * different one from scenario to scenario, so every revision is covered);
 * `MMBISECT_FUZZ_RUNS` / 40 revisions per scenario with `MMBISECT_FUZZ_RUNS`
 * set (`deno task fuzz` covers every revision), and as many random sets.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { unlessRefused } from "./_fuzz.ts";
import {
  type AllocKind,
  loadRevisionDir,
  loadScenarioDir,
  type Revision,
  Run,
  type Scenario,
} from "../mod.ts";
import { assertTypedOutcome, DEFAULT_FUZZ_RUNS, fuzzRuns, fuzzSeed } from "./_fuzz.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const revisions = loadRevisionDir(`${ROOT}patches`);
const scenarios = loadScenarioDir(`${ROOT}scenarios`);

/** One allocation of a run: the nth allocation of `kind` in step `step`. */
interface AllocPoint {
  step: number;
  kind: AllocKind;
  n: number;
  /** Its place among all the run's allocations. */
  seq: number;
}

/** Every allocation a run of `s` on `r` makes, with the scenario's own failure plans in place. */
function allocPoints(s: Scenario, r: Revision): AllocPoint[] {
  const run = new Run(s, r);
  const points: AllocPoint[] = [];
  const seen = new Map<string, number>();
  const alloc = run.kernel.alloc.bind(run.kernel);
  run.kernel.alloc = (kind, path) => {
    const key = `${run.kernel.step}:${kind}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    points.push({ step: run.kernel.step, kind, n, seq: points.length });
    return alloc(kind, path);
  };
  run.finish();
  return points;
}

/** `s` with each of `points` added to its step's failure plan. */
function failing(s: Scenario, points: AllocPoint[]): Scenario {
  const steps = s.steps.map((st, i) => {
    const here = points.filter((p) => p.step === i);
    if (here.length === 0) return st;
    const fail = { ...st.fail };
    for (const p of here) fail[p.kind] = [...new Set([...(fail[p.kind] ?? []), p.n])];
    return { ...st, fail };
  });
  return { ...s, steps };
}

/** Runs made failing each allocation point in turn, and failing random sets of them. */
const tally = { points: 0, sets: 0 };

/** Runs `s` on `r` with `points` failing; asserts a typed outcome and that the first one failed. */
function runFailing(s: Scenario, r: Revision, points: AllocPoint[]): void {
  const label = `${s.id} on ${r.id}, failing ${
    points.map((p) => `step ${p.step} ${p.kind} #${p.n}`).join(", ")
  }`;
  const run = new Run(failing(s, points), r);
  // A later point past an earlier failure's error path is never reached: a refused input.
  const outcome = unlessRefused(() => run.finish());
  if (outcome) assertTypedOutcome(outcome, label);
  // A later point may lie past an earlier failure's error path; up to the first
  // one the run is the counting run, so that one always happens.
  const first = points.reduce((a, b) => (b.seq < a.seq ? b : a));
  assert.ok(
    run.kernel.failedAllocs.some((f) => f.step === first.step && f.kind === first.kind),
    `${label}: the failure was not injected`,
  );
}

/** The revisions each scenario is failed through on: a rotating window of its tree's. */
function revisionsFor(index: number, s: Scenario): Revision[] {
  const tree = revisions.filter((r) => r.base === s.kernel);
  const count = Math.min(tree.length, Math.max(1, Math.floor(fuzzRuns() / DEFAULT_FUZZ_RUNS)));
  return Array.from({ length: count }, (_, k) => tree[(index + k) % tree.length]);
}

Deno.test("Kernel.alloc() counts of a shipped scenario reach every allocation kind", () => {
  const kinds = new Set(
    scenarios.flatMap((s) =>
      allocPoints(s, revisions.find((r) => r.base === s.kernel)!).map((p) => p.kind)
    ),
  );
  // If a kind is never allocated the injection below never exercises its error paths.
  assert.deepEqual([...kinds].sort(), ["anon_vma", "page", "pmd", "pte", "pud"]);
});

scenarios.forEach((s, index) => {
  Deno.test(`Run.finish() ends ${s.id} in a typed outcome whichever allocation fails`, () => {
    for (const r of revisionsFor(index, s)) {
      for (const p of allocPoints(s, r)) {
        runFailing(s, r, [p]);
        tally.points++;
      }
    }
  });
});

Deno.test("Run.finish() ends a shipped scenario in a typed outcome when several allocations fail", () => {
  const cases = scenarios.flatMap((s) =>
    revisions.filter((r) => r.base === s.kernel).map((r) => ({ s, r }))
  );
  const points = new Map<string, AllocPoint[]>();
  const pointsOf = (s: Scenario, r: Revision) => {
    const key = `${s.id}\n${r.id}`;
    if (!points.has(key)) points.set(key, allocPoints(s, r));
    return points.get(key)!;
  };
  const arb = fc.constantFrom(...cases).chain(({ s, r }) => {
    const all = pointsOf(s, r);
    return fc.record({
      s: fc.constant(s),
      r: fc.constant(r),
      chosen: all.length === 0
        ? fc.constant([])
        : fc.uniqueArray(fc.constantFrom(...all), { minLength: 1, maxLength: 4 }),
    });
  });
  fc.assert(
    fc.property(arb, ({ s, r, chosen }) => {
      if (chosen.length > 0) runFailing(s, r, chosen);
      tally.sets++;
    }),
    { numRuns: fuzzRuns(), seed: fuzzSeed() },
  );
  // The file's last test: the figures of the whole file, for BENCHMARKS.md.
  if (Deno.env.get("MMBISECT_FUZZ_RUNS")) console.log(`fuzz alloc: ${JSON.stringify(tally)}`);
});
