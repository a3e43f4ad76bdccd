/**
 * Walks every race of the shipped scenarios without merging, on every
 * revision of its tree that explores it itself (not one whose exploration
 * is reused from another revision that answers every read the same), to the
 * end and with no bound, and checks that it finds what the merged search
 * found: the same endings (each its violation kinds and final state digest),
 * the same verdicts and shortest counterexamples of the same length, in
 * exactly the transitions the merged search predicts for the tree it
 * stands for (`unmergedRuns`). The merged search in the reverse order of
 * threads, with the partial-order reduction, must find the same endings
 * and verdicts too.
 *
 * `tests/explore_test.ts` makes the same checks in `deno task test` on the
 * trees it can walk in a test (up to 20,000 transitions, 2,000 for a
 * mirror race on a 2.6 revision); this sweep walks them all, some of them
 * millions of transitions (see BENCHMARKS.md, "Every race walked without
 * merging"). It prints one line a cell and a closing line, and exits 1 if
 * a cell disagrees (2 on bad arguments).
 *
 * ```sh
 * deno task soundness [--shard k/n] [--min N]
 * ```
 *
 * `--shard k/n` takes the k-th of n slices of the cells (run n processes at
 * once, one per CPU); `--min N` skips the cells whose tree has fewer than N
 * transitions (those the test already walks whole); `--scenario ID` (again
 * for more) walks only those races.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { explore, loadRevisionDir, loadScenarioDir } from "../mod.ts";
import { reused } from "../src/run/reuse.ts";
import { parseShard } from "../src/jobs/shard.ts";

const root = new URL("..", import.meta.url).pathname;

/** What the sweep found on one cell: null when it agrees, or what differs. */
function compare(
  on: ReturnType<typeof explore>,
  other: ReturnType<typeof explore>,
  exact: boolean,
): string | null {
  if (other.status !== "complete") return `status ${other.status}`;
  if (JSON.stringify(other.finals) !== JSON.stringify(on.finals)) return "endings differ";
  if (JSON.stringify(other.verdicts) !== JSON.stringify(on.verdicts)) return "verdicts differ";
  if (!exact) return null;
  for (const [kind, c] of Object.entries(on.counterexamples)) {
    const o = other.counterexamples[kind as keyof typeof on.counterexamples];
    if (!o || o.steps.length !== c!.steps.length || o.schedule.length !== c!.schedule.length) {
      return `shortest ${kind} differs`;
    }
  }
  return null;
}

/** `n` and `noun`, plural but for one. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

if (import.meta.main) Deno.exit(main(Deno.args));

/** Where {@link main} writes its lines. */
export interface SweepIo {
  /** A line of the sweep's report. */
  out(line: string): void;
  /** A line about bad arguments. */
  err(line: string): void;
}

/**
 * Runs the sweep as the command line `args` asks, writing to `io`.
 *
 * @returns The exit code: 0 when every cell agrees, 1 when one does not, 2 on bad arguments.
 */
export function main(
  args: string[],
  io: SweepIo = { out: console.log, err: console.error },
): number {
  const usage = (what: string) => {
    io.err(`soundness_sweep: ${what}`);
    io.err("usage: deno task soundness [--shard k/n] [--min N] [--scenario ID]...");
    return 2;
  };
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        shard: { type: "string" },
        min: { type: "string" },
        scenario: { type: "string", multiple: true },
      },
    }).values;
  } catch (e) {
    return usage((e as Error).message);
  }
  const min = Number(values.min ?? 0);
  if (!Number.isInteger(min) || min < 0) {
    return usage(`--min must be a whole number, not "${values.min}"`);
  }
  let shard;
  try {
    shard = values.shard === undefined ? undefined : parseShard(values.shard);
  } catch (e) {
    return usage(`--shard: ${(e as Error).message}`);
  }
  const revisions = loadRevisionDir(`${root}patches`);
  const races = loadScenarioDir(`${root}scenarios`).filter((s) =>
    s.steps.some((st) => st.threads) && (!values.scenario || values.scenario.includes(s.id))
  );
  const unknown = values.scenario?.find((id) => !races.some((s) => s.id === id));
  if (unknown !== undefined) return usage(`--scenario: no race scenario "${unknown}"`);
  // The cells that explore themselves, largest tree first, dealt to the shards so that each gets
  // about as many transitions (each cell to the shard with the fewest so far).
  const own = races.flatMap((s) =>
    revisions.filter((r) => r.base === s.kernel).flatMap((r) => {
      const on = explore(s, r, { finals: true });
      return reused(on) ? [] : [{ s, r, on }];
    })
  ).sort((a, b) => (b.on.unmergedRuns ?? 0) - (a.on.unmergedRuns ?? 0));
  const load = new Array<number>(shard?.count ?? 1).fill(0);
  const mine = own.filter(({ on }) => {
    const k = load.indexOf(Math.min(...load));
    load[k] += on.unmergedRuns ?? 0;
    return k === (shard ? shard.index - 1 : 0);
  });
  let walked = 0, transitions = 0, bad = 0, skipped = 0;
  const t0 = performance.now();
  for (const { s, r, on } of mine) {
    if (on.status !== "complete") {
      // Nothing to compare with: the merged search itself stopped at a bound.
      bad++;
      io.out(`DISAGREES  ${s.id} on ${r.id}: the merged search stopped (${on.status})`);
      continue;
    }
    if (on.unmergedRuns! < min) {
      skipped++;
      continue;
    }
    const t = performance.now();
    const off = explore(s, r, {
      reduction: false,
      finals: true,
      reuse: false,
      maxRuns: Number.MAX_SAFE_INTEGER,
      timeout: 1e9,
    });
    const seconds = (performance.now() - t) / 1000;
    const reversed = explore(s, r, {
      reverse: true,
      partialOrder: true,
      finals: true,
      reuse: false,
    });
    const wrong = (off.runs !== on.unmergedRuns
      ? `walked ${off.runs} transitions, the merged search predicts ${on.unmergedRuns}`
      : null) ??
      compare(on, off, true) ??
      compare(on, reversed, false);
    walked++;
    transitions += off.runs;
    if (wrong) {
      bad++;
    }
    io.out(
      `${wrong ? "DISAGREES" : "agrees"}  ${s.id} on ${r.id}: ${off.runs} transitions ` +
        `unmerged (${plural(on.states, "state")}, ${on.runs} transitions merged), ` +
        `${plural(on.finals!.length, "ending")}, ${seconds.toFixed(1)} s${
          wrong ? `: ${wrong}` : ""
        }`,
    );
  }
  const total = ((performance.now() - t0) / 1000).toFixed(0);
  io.out(
    `${walked} cells walked whole without merging (${transitions} transitions, ${total} s), ` +
      `${skipped} under --min, ${bad} disagree (${own.length} cells explore themselves, ` +
      `the others reuse one of theirs)`,
  );
  return bad > 0 ? 1 : 0;
}
