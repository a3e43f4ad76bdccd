/**
 * Time bounds: the deadline, the explorer and the matrix stopping at it with
 * what they did so far, and the command line's default bound. Clocks are
 * faked wherever a figure is asserted; the two acceptance races use a real
 * one-second bound and assert only that the exploration ends with a status.
 *
 * @module
 */
import assert from "node:assert/strict";
import { analyse } from "../src/analysis/analyse.ts";
import {
  type Deadline,
  deadline,
  DEFAULT_TIMEOUT_SECONDS,
  explore,
  loadRevisionDir,
  loadScenarioDir,
  parseScenario,
  replaySchedule,
  runCell,
  runMatrix,
  runScenario,
  type Scenario,
} from "../mod.ts";
import { cellStatus } from "../src/report/diff.ts";
import { raceCell, type RaceTable } from "../src/report/races.ts";
import { main } from "../src/cli/main.ts";
import { buildReport, reportJson } from "../src/report/json.ts";
import { renderMarkdown } from "../src/report/markdown.ts";
import { renderHtml } from "../src/report/html.ts";
import { type Schema, validate } from "./_json_schema.ts";

const revisions = loadRevisionDir("patches");
const scenarios = loadScenarioDir("scenarios");
const rev = (id: string) => revisions.find((r) => r.id === id)!;

/**
 * A race of `threads` threads, each running `ops` operations on one page: the
 * CPUs alternate write faults and MADV_DONTNEED (each takes mmap_sem and the
 * page-table lock, and calls the notifiers), the vCPUs fault the page in
 * through KVM.
 */
function race(threads: number, ops: number): Scenario {
  const th: Record<string, unknown[]> = {};
  for (let t = 0; t < threads; t++) {
    const vcpu = t % 2 === 1;
    th[vcpu ? `vcpu${t}` : `cpu${t}`] = Array.from(
      { length: ops },
      (_, i) =>
        vcpu
          ? { op: "guest", secondary: "kvm0", addr: "0x100000", access: "read" }
          : i % 2
          ? { op: "madvise_dontneed", mm: "A", addr: "0x100000", len: "0x1000" }
          : { op: "touch", mm: "A", addr: "0x100000", access: "write" },
    );
  }
  return parseScenario(
    {
      purpose: `${threads} threads, ${ops} operations each, on one page`,
      exercises: ["do_wp_page", "zap_page_range"],
      cite: "test",
      secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
      steps: [
        { op: "mmap", mm: "A", addr: "0x100000", len: "0x2000", prot: "rw", share: "private" },
        { op: "register", secondary: "kvm0" },
        { op: "touch", mm: "A", addr: "0x100000", access: "write" },
        { op: "race", threads: th },
        { op: "exit", mm: "A" },
      ],
    },
    `generated/race-${threads}x${ops}.json`,
    `race-${threads}x${ops}`,
  );
}

/** A deadline that passes on its `n`-th poll, whatever the time. */
function afterPolls(n: number): Deadline & { polls: number } {
  const d = { seconds: 1, polls: 0, expired: () => ++d.polls >= n };
  return d;
}

/** Replaying each counterexample of a result reaches its kind. */
function assertReplays(s: Scenario, r: string, res: ReturnType<typeof explore>): void {
  for (const [kind, c] of Object.entries(res.counterexamples)) {
    const { outcome } = replaySchedule(s, rev(r), c!.schedule);
    assert.ok(outcome.kinds.includes(kind as never), `${c!.replay} gave [${outcome.kinds}]`);
  }
}

Deno.test("deadline() passes after its seconds, read on every n-th poll only", async (t) => {
  await t.step("expired once the clock reaches the bound, and stays so", () => {
    let now = 1000;
    const d = deadline(2, { now: () => now });
    assert.equal(d.expired(), false);
    now = 2999;
    assert.equal(d.expired(), false);
    now = 3000;
    assert.equal(d.expired(), true);
    now = 0;
    assert.equal(d.expired(), true);
  });
  await t.step("reads the clock on every n-th call", () => {
    let reads = 0;
    const d = deadline(1, { every: 4, now: () => (reads++, 10_000 * reads) });
    assert.equal(reads, 1);
    const seen = [d.expired(), d.expired(), d.expired(), d.expired()];
    assert.deepEqual(seen, [false, false, false, true]);
    assert.equal(reads, 2);
  });
  await t.step("Infinity is no bound", () => {
    const d = deadline(Infinity, { now: () => 0 });
    assert.equal(d.expired(), false);
  });
  await t.step("rejects a bound that is not a positive number", () => {
    for (const bad of [0, -1, NaN]) assert.throws(() => deadline(bad), RangeError);
  });
});

// The two races of the acceptance check: deep (two threads, a long schedule) and wide.
for (const [threads, ops] of [[2, 400], [6, 2]]) {
  Deno.test(`explore() ends a ${threads}-thread race of ${ops} operations each within its time bound`, () => {
    const s = race(threads, ops);
    // A quarter of a second: what is checked is that the bound stops it, not how long it is.
    const res = explore(s, rev("emmu-v5"), { timeout: 0.25 });
    assert.ok(res.status === "timeout" || res.status === "complete", res.status);
    assert.ok(res.runs > 0);
    assertReplays(s, "emmu-v5", res);
  });
}

Deno.test("explore() stopped by its deadline keeps the schedules explored so far", async (t) => {
  const s = scenarios.find((x) => x.id === "race-exit-reclaim")!;
  const full = explore(s, rev("emmu-v2"));
  assert.equal(full.status, "complete");
  for (const polls of [1, 5, 15, 30]) {
    await t.step(`deadline passing on poll ${polls}`, () => {
      const d = afterPolls(polls);
      const part = explore(s, rev("emmu-v2"), { deadline: d, reuse: false });
      assert.equal(part.status, "timeout");
      assert.equal(part.runs, polls - 1, "one poll before each run");
      assert.ok(part.schedules <= full.schedules && part.states <= full.states);
      for (const e of part.endings) {
        assert.ok(full.endings.some((f) => f.join() === e.join()), `ending [${e}]`);
      }
      for (const kind of Object.keys(part.verdicts)) assert.ok(kind in full.verdicts, kind);
      assert.match(raceCell(part), /\(timeout\)$/);
      assertReplays(s, "emmu-v2", part);
    });
  }
  await t.step("the same deadline later than the exploration changes nothing", () => {
    const late = explore(s, rev("emmu-v2"), { deadline: afterPolls(1e9), reuse: false });
    assert.deepEqual(late, full);
  });
});

Deno.test("explore() reports the run bound as bounded, with the schedules run before it", () => {
  const s = scenarios.find((x) => x.id === "race-exit-reclaim")!;
  const full = explore(s, rev("emmu-v2"));
  const part = explore(s, rev("emmu-v2"), { maxRuns: 25 });
  assert.equal(part.status, "bounded");
  assert.equal(part.runs, 25);
  for (const kind of Object.keys(part.verdicts)) assert.ok(kind in full.verdicts, kind);
  assert.ok(part.schedules > 0);
});

Deno.test("runCell() stopped by its deadline keeps the steps run so far, as a timeout", () => {
  const s = scenarios.find((x) => x.id === "wp-reuse-after-fork")!;
  const r = rev("emmu-v5");
  const out = runCell(s, r, { deadline: afterPolls(3) });
  assert.equal(out.aborted, "step 2: time bound reached after 1 s");
  assert.equal(out.returns.length, 2);
  assert.equal(cellStatus(out), "timeout");
  assert.deepEqual(runCell(s, r, { deadline: afterPolls(1e9) }), runScenario(s, r));
});

Deno.test("runMatrix() gives every cell its own time bound, and the same outcomes within it", () => {
  const some = scenarios.slice(0, 6);
  const bounded = runMatrix(some, revisions, { timeout: 3600 });
  const plain = some.flatMap((s) =>
    revisions.filter((r) => r.base === s.kernel).map((r) => runScenario(s, r))
  );
  assert.deepEqual(bounded.cells, plain);
});

Deno.test("buildReport(), renderMarkdown() and renderHtml() show a timed-out cell and exploration", () => {
  const emmu = revisions.filter((r) => r.lineage === "emmu");
  const plain = scenarios.find((x) => x.id === "wp-reuse-after-fork")!;
  const raced = scenarios.find((x) => x.id === "race-exit-reclaim")!;
  // On emmu-v2 both stop at their deadline; elsewhere they complete.
  const cells = [plain, raced].flatMap((s) =>
    emmu.map((r) => runCell(s, r, r.id === "emmu-v2" ? { deadline: afterPolls(3) } : {}))
  );
  const m = { scenarios: [plain, raced], revisions: emmu, cells };
  const races: RaceTable = {
    scenarios: [raced.id],
    revisions: emmu.map((r) => r.id),
    results: emmu.map((r) =>
      explore(raced, r, r.id === "emmu-v2" ? { deadline: afterPolls(10), reuse: false } : {})
    ),
  };
  const schema: Schema = JSON.parse(Deno.readTextFileSync("docs/report-schema.json"));
  const report = JSON.parse(reportJson(buildReport(analyse(m, { races }))));
  assert.deepEqual(validate(schema, report), []);
  const cell = report.cells.find((c: { revision: string; scenario: string }) =>
    c.revision === "emmu-v2" && c.scenario === plain.id
  );
  assert.equal(cell.status, "timeout");
  const race = report.races.find((x: { revision: string }) => x.revision === "emmu-v2");
  assert.equal(race.status, "timeout");
  const md = renderMarkdown(analyse(m, { races }));
  assert.match(md, /\| wp-reuse-after-fork +\|[^\n]*\| timeout/);
  assert.match(md, /\| emmu-v2 +\| [^|]*\(timeout\) +\|/);
  const html = renderHtml(analyse(m, { races }));
  assert.match(
    html,
    /<th scope="row">emmu-v2<\/th><td class="st-timeout mono">\u25f7 [^<]*\(timeout\)/,
  );
});

/**
 * Runs `main()` with `Date.now` jumping by `jump` ms after its first call (the
 * deadline's creation), so a run sees that much time pass at once.
 */
async function mainWithClock(
  args: string[],
  jump: number,
): Promise<{ status: number; out: string }> {
  const real = Date.now;
  let first = true;
  const start = real();
  Date.now = () => {
    if (first) {
      first = false;
      return start;
    }
    return start + jump;
  };
  const out: string[] = [];
  try {
    const status = await main(args, { out: (x) => out.push(x), err: (x) => out.push(x) });
    return { status, out: out.join("") };
  } finally {
    Date.now = real;
  }
}

Deno.test("main() bounds each run and each exploration by the default --timeout", async (t) => {
  const dir = Deno.makeTempDirSync();
  const ms = DEFAULT_TIMEOUT_SECONDS * 1000;
  try {
    const file = `${dir}/race-2x400.json`;
    const s = race(2, 400);
    Deno.writeTextFileSync(file, JSON.stringify(s.source));
    await t.step("an exploration stops once the default bound has passed", async () => {
      const args = ["explore", file, "emmu-v5", "--max-runs", "40", "--json"];
      const before = await mainWithClock(args, ms - 1);
      assert.equal(before.status, 0);
      assert.equal(JSON.parse(before.out).status, "bounded");
      const after = await mainWithClock(args, ms);
      assert.equal(after.status, 0);
      const res = JSON.parse(after.out);
      assert.equal(res.status, "timeout");
      assert.ok(res.runs < 40);
    });
    await t.step("a run stops once the default bound has passed", async () => {
      const before = JSON.parse(
        (await mainWithClock(["run", file, "emmu-v5", "--json"], ms - 1)).out,
      );
      assert.equal(before.aborted, undefined);
      const after = JSON.parse((await mainWithClock(["run", file, "emmu-v5", "--json"], ms)).out);
      assert.equal(after.aborted, `step 0: time bound reached after ${DEFAULT_TIMEOUT_SECONDS} s`);
    });
    await t.step("--timeout sets another bound", async () => {
      const args = ["explore", file, "emmu-v5", "--max-runs", "40", "--json", "--timeout", "120"];
      assert.equal(JSON.parse((await mainWithClock(args, ms)).out).status, "bounded");
    });
    await t.step("--timeout must be a positive number of seconds", async () => {
      for (const bad of ["0", "-1", "abc", "1e3", "Infinity"]) {
        const r = await mainWithClock(["run", file, "emmu-v5", `--timeout=${bad}`], 0);
        assert.equal(r.status, 2, bad);
        assert.match(r.out, /^mmbisect: option "--timeout" is ".*" \(expected a positive number/);
      }
    });
    await t.step("every command's help names the option and its default", async () => {
      for (const c of ["run", "compare", "report", "bisect", "explain", "explore"]) {
        const r = await mainWithClock([c, "--help"], 0);
        assert.match(
          r.out,
          new RegExp(`--timeout SECONDS.*\\n.*\\(default ${DEFAULT_TIMEOUT_SECONDS}\\)`),
        );
      }
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
