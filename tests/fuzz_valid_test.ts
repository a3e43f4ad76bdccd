/**
 * Fuzzing with valid input: random scenarios built from the shipped
 * operation vocabulary (every operation of `OPS` a kernel tree allows, with
 * races, `during` threads and allocation-failure plans), each run on every
 * revision of its kernel tree, its races explored within a run bound and
 * run on random schedules, plainly and as the explorer runs them (copied,
 * keyed and recorded at every choice point). The promise checked: every run
 * ends in a typed outcome, never an exception of the harness, and never at
 * the time bound (a small scenario that takes seconds is hung); a schedule
 * run as the explorer runs it ends with the same outcome bytes; a schedule
 * ends with one of the endings a complete exploration lists; and (with
 * `MMBISECT_FUZZ_RUNS` set) a race explored merged, unmerged and with the
 * partial-order reduction in the reverse order finds the same endings, and
 * an exploration reused from another revision's is the one made afresh.
 *
 * `MMBISECT_FUZZ_RUNS` sets the number of scenarios per kernel tree
 * (`deno task fuzz`); `MMBISECT_FUZZ_SEED` replays a failure's seed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { unlessRefused } from "./_fuzz.ts";
import {
  ALLOC_KINDS,
  explore,
  type ExploreResult,
  InputError,
  KERNEL_OPS,
  loadRevisionDir,
  OPS,
  outcomeJson,
  parseScenario,
  Run,
  runCell,
  type Scenario,
  stateHash,
} from "../mod.ts";
import { assertTypedExploration, assertTypedOutcome, fuzzRuns, fuzzSeed } from "./_fuzz.ts";
import { cloneGraph, reachable } from "../src/explore/_graph.ts";
import { pickRecorded } from "../src/explore/_footprint.ts";
import { lcg } from "./_fixtures.ts";

const revisions = loadRevisionDir(new URL("../patches", import.meta.url).pathname);

type Raw = Record<string, unknown>;
type Arb<T> = fc.Arbitrary<T>;

const PAGE = 0x1000;
const BASE = 0x100000;
const hex = (n: number) => "0x" + n.toString(16);

/** Addresses on the eight pages every generated mapping is placed in, so most accesses hit one. */
const addr = fc.integer({ min: 0, max: 7 }).map((i) => hex(BASE + i * PAGE));
const len = fc.integer({ min: 1, max: 4 }).map((n) => hex(n * PAGE));
const count = fc.nat({ max: 9 });
const mm = fc.constantFrom("A", "B");
const prot = fc.constantFrom("none", "r", "rw");
const access = fc.constantFrom("read", "write");
const bool = fc.boolean();

/** An i386 `unsigned long`: near the mappings, at the edges of the address space, or anything. */
const word = fc.oneof(
  fc.integer({ min: -2, max: 9 }).map((i) => BASE + i * PAGE),
  fc.integer({ min: 0, max: 8 * PAGE }).map((d) => BASE + d),
  fc.constantFrom(0, 1, PAGE, 0x7fffffff, 0xfffff000, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
).map(hex);

/** Scheduling points of the shipped `during` steps, and one no path has. */
const DURING_AT = [
  "do_wp_page:copy.before_relock",
  "do_wp_page:copy.unlocked",
  "do_wp_page:mkwrite.unlocked",
  "move_vma:moved",
  "shrink_page_list:after_referenced",
  "sys_remap_file_pages:before_populate",
  "nowhere:never",
];

/** A record whose `optional` keys may be left out. */
function op(name: string, fields: Record<string, Arb<unknown>>, optional: string[] = []): Arb<Raw> {
  const all: Record<string, Arb<unknown>> = { op: fc.constant(name), ...fields };
  const requiredKeys = Object.keys(all).filter((k) => !optional.includes(k));
  return fc.record(all, { requiredKeys }) as Arb<Raw>;
}

/** `mmap` of anonymous memory or of one of `files`, with the tree's optional `flags`. */
function mmapOp(files: string[], flags: string[]): Arb<Raw> {
  return op("mmap", {
    mm,
    addr,
    len,
    prot,
    share: fc.constantFrom("private", "shared"),
    ...(files.length ? { file: fc.constantFrom(...files) } : {}),
    pgoff: count,
    ...Object.fromEntries(flags.map((f) => [f, bool])),
  }, ["file", "pgoff", ...flags]);
}

/** Every 2.6.24 operation but `race`, on the scenario's files and secondaries. */
function ops2624(files: string[], secs: string[]): Arb<Raw>[] {
  const out = [
    mmapOp(files, ["locked"]),
    op("munmap", { mm, addr, len }),
    op("touch", { mm, addr, access }),
    op("fork", { mm, child: fc.constantFrom("B", "C") }),
    op("exit", { mm }),
    op("mremap", { mm, addr, len, new_addr: addr }),
    op("madvise_dontneed", { mm, addr, len }),
    op("mprotect", { mm, addr, len, prot }),
    op("remap_pfn_range", { mm, addr, len, pfn: count }),
    op("apply_to_page_range", { mm, addr, len }),
    op("remap_file_pages", { mm, addr, len, pgoff: count, nonblock: bool }, ["nonblock"]),
    op("reclaim", { mm, addr }),
  ];
  if (secs.length) {
    const secondary = fc.constantFrom(...secs);
    out.push(
      op("guest", { secondary, addr, access }),
      op("snapshot", { secondary, addr, len }),
      op("register", { secondary, holding_mmap_sem: bool }, ["holding_mmap_sem"]),
      op("unregister", { secondary, holding_mmap_sem: bool, free: bool }, [
        "holding_mmap_sem",
        "free",
      ]),
      op("destroy_vm", { secondary }),
    );
  }
  if (files.length) {
    const file = fc.constantFrom(...files);
    out.push(
      op("truncate", { file, pages: count, contended: bool }, ["contended"]),
      op("xip_write", { file, index: count }),
      op("writeback", { file, index: count }),
    );
  }
  return out;
}

/** Every 2.5.42 operation, on the scenario's files. */
function ops2542(files: string[]): Arb<Raw>[] {
  const out = [
    mmapOp(files, ["locked", "populate", "nonblock"]),
    op("munmap", { mm, addr, len }),
    op("sys_remap_file_pages", {
      mm,
      start: word,
      size: word,
      prot: fc.oneof(fc.integer({ min: 0, max: 7 }).map(hex), word),
      pgoff: fc.oneof(count.map(hex), word),
      flags: fc.oneof(fc.constantFrom(0, 0x10000, 0x8000, 0x2000).map(hex), word),
    }, ["flags"]),
    op("read", { mm, addr: word }),
    op("exit", { mm }),
  ];
  if (files.length) {
    out.push(op("evict", { file: fc.constantFrom(...files), index: count }, ["index"]));
  }
  return out;
}

/** An allocation-failure plan: one or two kinds, small ordinals. */
const failPlan = fc.dictionary(
  fc.constantFrom(...ALLOC_KINDS),
  fc.uniqueArray(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }),
  { minKeys: 1, maxKeys: 2 },
);

/** `arb` on one draw in six, else null. */
function rarely<T>(arb: Arb<T>): Arb<T | null> {
  return fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: arb, weight: 1 });
}

/** A top-level step: an operation, sometimes with a failure plan or a `during` thread. */
function step(base: Arb<Raw>): Arb<Raw> {
  return fc.tuple(
    base,
    rarely(failPlan),
    rarely(fc.tuple(fc.constantFrom(...DURING_AT), base)),
  )
    .map(([s, fail, during]) => ({
      ...s,
      ...(fail ? { fail } : {}),
      ...(during ? { during: { at: during[0], step: during[1] } } : {}),
    }));
}

/**
 * Races the harness is known to crash on, left out so the fuzzing goes on
 * finding others; each names the bug. Remove an entry once its bug is fixed.
 */
const KNOWN_GAPS: ((threads: Raw[][]) => boolean)[] = [];

/** A `race` of two or three threads of one to three operations each. */
function race(base: Arb<Raw>): Arb<Raw> {
  return fc.array(fc.array(base, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 })
    .filter((threads) => !KNOWN_GAPS.some((gap) => gap(threads)))
    .map((threads) => ({
      op: "race",
      threads: Object.fromEntries(threads.map((ops, i) => [`t${i}`, ops])),
    }));
}

const scenario2624: Arb<Raw> = fc.record({
  files: fc.array(
    fc.record({
      pages: fc.integer({ min: 1, max: 8 }),
      kind: fc.constantFrom("regular", "shmem", "hugetlbfs", "xip"),
      page_mkwrite: fc.constantFrom("none", "ok", "fail"),
    }),
    { maxLength: 2 },
  ),
  secondaries: fc.array(
    fc.record({ driver: fc.constantFrom("kvm", "hmm", "gru", "xpmem"), mm }),
    { maxLength: 3 },
  ),
}).chain(({ files, secondaries }) => {
  const f = files.map((x, i) => ({ name: `f${i}`, ...x }));
  const s = secondaries.map((x, i) => ({ id: `${x.driver}${i}`, ...x }));
  const base = fc.oneof(...ops2624(f.map((x) => x.name), s.map((x) => x.id)));
  return fc.array(fc.oneof({ arbitrary: step(base), weight: 5 }, race(base)), {
    minLength: 1,
    maxLength: 10,
  }).map((steps) => ({ files: f, secondaries: s, steps }));
});

const scenario2542: Arb<Raw> = fc.array(
  fc.record({
    pages: fc.integer({ min: 1, max: 8 }),
    kind: fc.constantFrom("regular", "shmem"),
    cached: fc.oneof(
      fc.constantFrom("all", "none"),
      fc.uniqueArray(fc.nat({ max: 7 }), { maxLength: 4 }),
    ),
  }),
  { maxLength: 2 },
).map((files) =>
  files.map((x, i) => ({
    name: `f${i}`,
    ...x,
    cached: Array.isArray(x.cached) ? x.cached.filter((p) => p < x.pages) : x.cached,
  }))
).chain((files) =>
  fc.array(step(fc.oneof(...ops2542(files.map((x) => x.name)))), { minLength: 1, maxLength: 10 })
    .map((steps) => ({ kernel: "2.5.42", files, steps }))
);

/** The step object a field path such as `steps[3].threads.t0[1].addr` names. */
function stepAt(raw: Raw, field: string): Raw {
  const parts = field.replace(/\[(\d+)\]/g, ".$1").split(".").slice(0, -1);
  let at: unknown = raw;
  for (const p of parts) at = (at as Record<string, unknown>)[p];
  return at as Raw;
}

/**
 * Loads a generated scenario, marking `outside` each address the loader finds
 * outside every mapping (what a scenario author does on purpose), so the
 * scenario is valid. A scenario refused for a thread running in an mm that
 * another thread of its step exits or forks as its child (which the kernel's
 * threads cannot do) gives null; any other load error is a bug of the
 * generator.
 */
function load(body: Raw, id: string): Scenario | null {
  const raw: Raw = {
    purpose: "generated",
    exercises: [],
    cite: "tests/fuzz_valid_test.ts",
    ...JSON.parse(JSON.stringify(body)),
  };
  for (;;) {
    try {
      return parseScenario(raw, `${id}.json`, id);
    } catch (e) {
      if (e instanceof InputError && /exits it|forks from/.test(e.expected)) return null;
      if (!(e instanceof InputError) || !/outside any mapping/.test(e.expected)) throw e;
      stepAt(raw, e.field).outside = true;
    }
  }
}

/**
 * Per kernel tree: scenarios tried, runs made, explorations made, random
 * schedules whose ending was checked against a complete exploration's, and
 * explorations compared with another made otherwise (`task fuzz`).
 */
const tally: Record<
  string,
  { scenarios: number; runs: number; explorations: number; checked: number; compared: number }
> = {};

/**
 * Random schedules run per revision of a generated race (16 with
 * `MMBISECT_FUZZ_RUNS` set, as `deno task fuzz` does): the exploration's
 * run bound reaches only the first choices, these reach the deep ones (a
 * fork while a truncation has dropped i_mmap_lock, say).
 */
const RANDOM_SCHEDULES = Deno.env.get("MMBISECT_FUZZ_RUNS") ? 16 : 4;

/**
 * Runs `s` on `r` on {@link RANDOM_SCHEDULES} random schedules, the choices
 * drawn from a generator seeded by the scenario's text (so a failing
 * scenario, replayed by its fast-check seed, replays its schedules), and
 * asserts each outcome typed. Each schedule is run again as the explorer
 * runs it: at every choice point the run is copied (`Run.fork`; a writer
 * that changes in place an object the copy shares throws), its memo key
 * taken, and the step run through the partial-order reduction's recording
 * views (`pickRecorded`); the outcome must be the same bytes.
 */
function randomSchedules(
  s: Scenario,
  r: (typeof revisions)[number],
  label: string,
  explored: ExploreResult | null,
): void {
  let seed = 0;
  for (const c of JSON.stringify(s.source)) seed = (Math.imul(seed, 31) + c.charCodeAt(0)) | 0;
  const next = lcg(seed);
  for (let n = 0; n < RANDOM_SCHEDULES; n++) {
    const picks: string[] = [];
    const walk = (copying: boolean) =>
      unlessRefused(() => {
        let run = new Run(s, r, { preemptive: true, trace: false });
        // The run's immutable inputs, which every copy shares, as the explorer finds them.
        const shared = reachable(s, r, run.opts, run.checkers);
        const copy = <T>(v: T): T => cloneGraph(v, shared);
        let i = 0;
        for (let names = run.next(); names; names = run.next()) {
          if (!copying) {
            picks.push(names[next() % names.length]);
            run.pick(picks[i++]);
            continue;
          }
          // As the explorer goes on from a choice point: a copy, its memo key, and the step run
          // through the recording views of the partial-order reduction.
          run = run.fork(copy);
          stateHash(run, shared);
          pickRecorded(run, picks[i++], shared);
        }
        return run.outcome();
      });
    const o = walk(false);
    if (!o) continue;
    assertTypedOutcome(o, `${label}, random schedule ${n}`);
    // A complete exploration claims every ending: this schedule's must be one of them.
    if (explored?.status === "complete") {
      assert.ok(
        explored.endings.some((e) => e.join(",") === o.kinds.join(",")),
        `${label}, random schedule ${n} (${picks.join(",")}) ends with [${o.kinds}], ` +
          `which the exploration does not list (${JSON.stringify(explored.endings)})`,
      );
      tally[s.kernel].checked++;
    }
    const copied = walk(true);
    assert.equal(
      copied && outcomeJson(copied),
      outcomeJson(o),
      `${label}, random schedule ${n} (${picks.join(",")}) copied at each choice point`,
    );
  }
}

/** Whether each generated race is explored three ways and the results compared (`task fuzz`). */
const DIFFERENTIAL = Deno.env.get("MMBISECT_FUZZ_RUNS") !== undefined;

/**
 * Explores `s` on `r` merged, without merging, and with the partial-order
 * reduction in the reverse search order, each within a run bound; where the
 * merged one and another complete, the two must find the same endings (with
 * their final state digests) and verdicts, and the search without merging
 * the runs the merged one counted, as the soundness check of
 * `explore_test.ts` asks of every shipped race.
 */
function differential(s: Scenario, r: (typeof revisions)[number], label: string): void {
  const opts = { finals: true, reuse: false, timeout: 10 } as const;
  const merged = unlessRefused(() => explore(s, r, { ...opts, maxRuns: 400 }));
  if (merged?.status !== "complete") return;
  // Without merging, where the merged search counted at most 3000 runs for it: exactly as many.
  const off = merged.unmergedRuns! <= 3000
    ? explore(s, r, { ...opts, reduction: false, maxRuns: 3000 })
    : null;
  if (off?.status === "complete") {
    assert.equal(off.runs, merged.unmergedRuns, `${label}: runs without merging`);
  }
  const por = explore(s, r, { ...opts, partialOrder: true, reverse: true, maxRuns: 400 });
  for (const [name, other] of [["unmerged", off], ["reduced, reversed", por]] as const) {
    if (other?.status !== "complete") continue;
    assert.deepEqual(
      [other.finals, other.verdicts],
      [merged.finals, merged.verdicts],
      `${label}: ${name}`,
    );
    tally[s.kernel].compared++;
  }
}

/**
 * Runs a generated scenario on every revision of its tree, explores its
 * races and runs them on random schedules.
 */
function check(body: Raw): void {
  const s = load(body, "fuzz");
  if (!s) return;
  const t = tally[s.kernel] ??= {
    scenarios: 0,
    runs: 0,
    explorations: 0,
    checked: 0,
    compared: 0,
  };
  t.scenarios++;
  const raced = s.steps.some((x) => x.threads || x.during);
  for (const r of revisions.filter((r) => r.base === s.kernel)) {
    const label = `${r.id}: ${JSON.stringify(s.source)}`;
    // A `during.at` or `fail` this revision never reaches is refused (exit 2), not run.
    const o = unlessRefused(() => runCell(s, r, { timeout: 10 }));
    t.runs++;
    if (!o) continue;
    assertTypedOutcome(o, label);
    assert.doesNotMatch(o.aborted ?? "", /time bound reached/, `hung: ${label}`);
    if (raced) {
      const x: ExploreResult | null = unlessRefused(() =>
        explore(s, r, { maxRuns: 20, timeout: 10 })
      );
      if (x) assertTypedExploration(x, label);
      t.explorations++;
      randomSchedules(s, r, label, x);
      if (DIFFERENTIAL && x) {
        // Reused from an earlier revision's exploration where this one reads the same: it must be
        // the exploration made afresh.
        if (x.status !== "timeout") {
          const fresh: ExploreResult = explore(s, r, { maxRuns: 20, timeout: 10, reuse: false });
          assert.ok(isDeepStrictEqual(fresh, x), `${label}: reused against fresh`);
          t.compared++;
        }
        differential(s, r, label);
      }
    }
  }
}

Deno.test("OPS has no operation the fuzz generators leave out", () => {
  // A new operation must be added to a generator, or the fuzzing silently skips it.
  const drawn2624 = ["race", ...ops2624(["f"], ["s"]).map((a) => fc.sample(a, 1)[0].op)];
  assert.deepEqual([...new Set(drawn2624)].sort(), [...KERNEL_OPS["2.6.24"]].sort());
  const drawn2542 = ops2542(["f"]).map((a) => fc.sample(a, 1)[0].op);
  assert.deepEqual(drawn2542.sort(), [...KERNEL_OPS["2.5.42"]].sort());
  assert.deepEqual(
    Object.keys(OPS).sort(),
    [...new Set([...KERNEL_OPS["2.6.24"], ...KERNEL_OPS["2.5.42"]])].sort(),
  );
});

for (const [tree, arb] of [["2.6.24", scenario2624], ["2.5.42", scenario2542]] as const) {
  Deno.test(`runCell() ends every random valid ${tree} scenario on every revision in a typed outcome`, () => {
    fc.assert(fc.property(arb, check), { numRuns: fuzzRuns(), seed: fuzzSeed() });
    if (Deno.env.get("MMBISECT_FUZZ_RUNS")) {
      console.log(`fuzz ${tree}: ${JSON.stringify(tally[tree])}`);
    }
  });
}
