/**
 * Workers (`--jobs`): the same results, in the same order, with the same
 * errors, as a run in one thread.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  explore,
  loadRevisionDir,
  loadScenario,
  loadScenarioDir,
  matrixPairs,
  parseShard,
  racePlan,
  runCell,
  runWork,
  ScenarioError,
  shardIndexes,
} from "../mod.ts";
import { canonicalJson } from "../src/model/state.ts";
import { assertInputError, cliInProcess } from "./_cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const REVISIONS = loadRevisionDir(`${ROOT}patches`);
const SCENARIOS = loadScenarioDir(`${ROOT}scenarios`);

Deno.test("runWork() gives on two threads the results of one, in the units' order", async () => {
  const revs = REVISIONS.filter((r) => r.lineage === "emmu" || r.lineage === "nonlinear");
  // Every fourth scenario's cells, and the explorations of two quick race scenarios.
  const scenarios = SCENARIOS.filter((_, i) => i % 4 === 0);
  const quick = ["race-wp-copy-refault", "race-unregister-dispatch"];
  const work = {
    cells: matrixPairs(scenarios, revs),
    explorations: racePlan(SCENARIOS.filter((s) => quick.includes(s.id)), revs).pairs,
  };
  assert.ok(work.explorations.length > 1);
  const one = await runWork(work, { revisions: REVISIONS });
  const seen: number[] = [];
  const afterCells: string[] = [];
  const two = await runWork(work, {
    jobs: 2,
    revisions: REVISIONS,
    onProgress: (done, total) => seen.push(done, total),
    afterCells: (outcomes) => afterCells.push(canonicalJson(outcomes)),
  });
  assert.equal(canonicalJson(two), canonicalJson(one));
  assert.deepEqual(afterCells, [canonicalJson(one.outcomes)], "afterCells: once, every outcome");
  assert.deepEqual(
    two.outcomes.map((o) => `${o.scenario} ${o.revision}`),
    work.cells.map((p) => `${p.scenario.id} ${p.revision.id}`),
  );
  const total = work.cells.length + work.explorations.length;
  assert.deepEqual(seen.slice(-2), [total, total], "progress reaches the total");
});

Deno.test("runWork() gives a revision of another's behaviour the values of its own runs", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // A revision that differs from mmun-v8 in its provenance alone.
    const file = `${dir}/twin.json`;
    Deno.writeTextFileSync(
      file,
      JSON.stringify({
        id: "twin",
        extends: "mmun-v8",
        title: "twin",
        lineage: "t",
        date: "2008-07-01",
        source: "test",
      }),
    );
    const revisions = loadRevisionDir(`${ROOT}patches`, [file]);
    const twin = revisions.find((r) => r.id === "twin")!;
    const revs = [revisions.find((r) => r.id === "mmun-v8")!, twin];
    const ids = ["mremap-move", "wp-reuse-after-fork", "race-hmm-snapshot-storm"];
    const scenarios = SCENARIOS.filter((s) => ids.includes(s.id));
    const race = scenarios.filter((s) => s.id === "race-hmm-snapshot-storm");
    const work = { cells: matrixPairs(scenarios, revs), explorations: racePlan(race, revs).pairs };
    const own = {
      outcomes: work.cells.map((p) => runCell(p.scenario, p.revision)),
      explorations: work.explorations.map((p) => explore(p.scenario, p.revision)),
    };
    assert.ok(own.explorations.some((r) => r.revision === "twin"));
    assert.ok(own.explorations.some((r) => Object.keys(r.counterexamples).length > 0));
    for (const jobs of [1, 2]) {
      const { outcomes, explorations } = await runWork(work, { jobs, revisions });
      assert.equal(canonicalJson(outcomes), canonicalJson(own.outcomes), `--jobs ${jobs}`);
      assert.equal(canonicalJson(explorations), canonicalJson(own.explorations), `--jobs ${jobs}`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("runWork() raises the error of the first failing unit, as one thread does", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const good = loadScenario(`${ROOT}scenarios/mremap-move.json`);
    const bad = (name: string, at: string) => {
      const raw = JSON.parse(Deno.readTextFileSync(good.file));
      raw.steps[3].during.at = at;
      Deno.writeTextFileSync(`${dir}/${name}.json`, JSON.stringify(raw));
      return loadScenario(`${dir}/${name}.json`);
    };
    const revs = REVISIONS.filter((r) => r.lineage === "emmu");
    // Two failing scenarios after a good one: the first of them is the one reported.
    const cells = matrixPairs(
      [good, bad("b1", "move_vma:first"), bad("b2", "move_vma:second")],
      revs,
    );
    const message = async (jobs: number) => {
      try {
        await runWork({ cells }, { jobs, revisions: REVISIONS });
      } catch (e) {
        assert.ok(e instanceof ScenarioError, String(e));
        return e.message;
      }
      assert.fail("no error");
    };
    const one = await message(1);
    assert.match(
      one,
      /b1\.json" cannot run on "emmu-v1": field "steps\[3\]\.during\.at" is "move_vma:first"/,
    );
    assert.equal(await message(2), one);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("runWork() refuses a file that changed after it was loaded", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/mremap-move.json`;
    Deno.copyFileSync(`${ROOT}scenarios/mremap-move.json`, file);
    const s = loadScenario(file);
    const raw = JSON.parse(Deno.readTextFileSync(file));
    raw.purpose = "changed";
    Deno.writeTextFileSync(file, JSON.stringify(raw));
    const revs = REVISIONS.filter((r) => r.lineage === "emmu").slice(0, 2);
    await assert.rejects(
      () => runWork({ cells: matrixPairs([s], revs) }, { jobs: 2, revisions: REVISIONS }),
      /mremap-move\.json": file changed while the run was going on/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseShard() reads k/n and refuses anything else", () => {
  assert.deepEqual(parseShard("1/1"), { index: 1, count: 1 });
  assert.deepEqual(parseShard("3/12"), { index: 3, count: 12 });
  for (const bad of ["3/2", "0/2", "x", "1/0", "1/", "/2", "-1/2", "1.5/2", " 1/2", "1/2/3"]) {
    assert.throws(() => parseShard(bad), RangeError, bad);
  }
});

Deno.test("shardIndexes() deals every index to exactly one shard", () => {
  for (const length of [0, 1, 7, 40]) {
    for (let count = 1; count <= 5; count++) {
      const all = [];
      for (let index = 1; index <= count; index++) {
        all.push(...shardIndexes(length, { index, count }));
      }
      assert.deepEqual(all.sort((a, b) => a - b), [...Array(length).keys()], `${length} ${count}`);
    }
  }
});

Deno.test("main() gives the same output with --jobs 2 for compare and bisect", async (t) => {
  // Each command on two workers, and on one per CPU named each way ("auto" and "0" mean the same).
  for (
    const [args, perCpu] of [
      [["compare", "mmun-v3", "mmun-v3-rcu", "--races", "--json"], "auto"],
      [["bisect", "emmu", "mremap-move", "--json"], "0"],
    ] as const
  ) {
    await t.step(args[0], async () => {
      const one = await cliInProcess(...args);
      assert.equal(one.code, 0, one.stderr);
      for (const jobs of ["2", perCpu]) {
        const two = await cliInProcess(...args, "--jobs", jobs);
        assert.equal(two.code, one.code, two.stderr);
        assert.equal(two.stdout, one.stdout, `--jobs ${jobs}`);
      }
    });
  }
});

Deno.test("main() refuses a bad --jobs or --shard with one line and exit status 2", async () => {
  for (const v of ["-1", "x", "1.5", "", "2e1"]) {
    assertInputError(
      await cliInProcess("report", "--jobs", v),
      new RegExp(`option "--jobs" is "${v.replace(".", "\\.")}" \\(expected a number of workers`),
    );
  }
  assertInputError(
    await cliInProcess("bisect", "emmu", "mremap-move", "--jobs=-1"),
    /option "--jobs" is "-1"/,
  );
  for (const v of ["3/2", "x", "0/1", "-1/2"]) {
    assertInputError(
      await cliInProcess("report", "--shard", v),
      new RegExp(`option "--shard" is "${v}" \\(expected k/n with 1 <= k <= n`),
    );
  }
  assertInputError(
    await cliInProcess("report", "--shard", "1/2", "--format", "md"),
    /option "--shard" writes a result set for "merge", which is JSON: --format is "md"/,
  );
  assertInputError(
    await cliInProcess("run", "mremap-move", "emmu-v5", "--jobs", "2"),
    /unknown option "--jobs" for "run"/,
  );
});
