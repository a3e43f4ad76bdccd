/**
 * Shards and `merge`: the result sets of `report --shard k/n` join into the
 * bytes of the report run in one go, and only the shards of one run join.
 * The whole report's runs here (each in a process of its own, all at once,
 * shared by the tests of this file) also show that the same input gives the
 * same JSON bytes, that the whole report validates against its schema, and
 * that a long run draws no progress when standard error is not a terminal.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertInputError, cli, cliInProcess, type Result } from "./_cli.ts";
import { type Schema, validate } from "./_json_schema.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const RESULTS: Schema = JSON.parse(Deno.readTextFileSync(`${ROOT}docs/results-schema.json`));
const REPORT: Schema = JSON.parse(Deno.readTextFileSync(`${ROOT}docs/report-schema.json`));

/** A shard's process, with the file it wrote (its path then, its size and its text). */
interface ShardRun extends Result {
  path: string;
  size: number;
  text: string;
}

/** The unsharded report's process, which writes it in JSON and in Markdown. */
interface WholeRun extends Result {
  /** The paths it wrote, JSON then Markdown, each with its size then. */
  paths: [string, string];
  sizes: [number, number];
  /** The JSON report. */
  json: string;
  /** The Markdown report. */
  md: string;
}

/** The whole report's processes: see {@link wholeRuns}. */
interface WholeRuns {
  whole: WholeRun;
  shards: [ShardRun, ShardRun];
}

let started: Promise<WholeRuns> | undefined;

/**
 * The whole report, each run in its own process, all at once, started by the
 * first test that asks: unsharded on one thread, in JSON and in Markdown
 * (two `--format`, each with its `--out`), and as two shards written with
 * `--out`, the first on two workers with `--quiet`, the second on one
 * thread without.
 */
function wholeRuns(): Promise<WholeRuns> {
  return started ??= (async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const paths = [`${dir}/shard-1.json`, `${dir}/shard-2.json`];
      const both: [string, string] = [`${dir}/whole.json`, `${dir}/whole.md`];
      const [w, r1, r2] = await Promise.all([
        cli("report", "--format", "json", "--out", both[0], "--format", "md", "--out", both[1]),
        cli("report", "--shard", "1/2", "--jobs", "2", "--out", paths[0], "-q"),
        cli("report", "--shard", "2/2", "--format", "json", "--out", paths[1]),
      ]);
      for (const r of [w, r1, r2]) assert.equal(r.code, 0, r.stderr);
      const shard = (r: Result, path: string): ShardRun => ({
        ...r,
        path,
        size: Deno.statSync(path).size,
        text: Deno.readTextFileSync(path),
      });
      const whole: WholeRun = {
        ...w,
        paths: both,
        sizes: [Deno.statSync(both[0]).size, Deno.statSync(both[1]).size],
        json: Deno.readTextFileSync(both[0]),
        md: Deno.readTextFileSync(both[1]),
      };
      return { whole, shards: [shard(r1, paths[0]), shard(r2, paths[1])] };
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  })();
}

Deno.test("main() merges --shard 1/2 and 2/2 into the bytes of the unsharded report", async (t) => {
  const { whole, shards } = await wholeRuns();
  const dir = Deno.makeTempDirSync();
  try {
    const [s1, s2] = shards.map((s, i) => {
      const file = `${dir}/shard-${i + 1}.json`;
      Deno.writeTextFileSync(file, s.text);
      return file;
    });
    await t.step(
      "JSON: two runs of the same input, one of them in two shards, write the same bytes",
      async () => {
        // The unsharded run in one thread, and the two shards' (one on two workers) joined by
        // merge: neither the run, nor its workers, nor its slices may show in the bytes.
        const merged = await cli("merge", "--format", "json", s1, s2);
        assert.equal(merged.code, 0, merged.stderr);
        assert.equal(merged.stderr, "");
        assert.ok(merged.stdout === whole.json, "merged JSON differs from the unsharded report");
        const report = JSON.parse(whole.json);
        assert.equal(report.schema, "mmbisect/report@1");
        assert.ok(report.outcomes.length > 0);
        // Every scenario runs on every revision of its kernel tree, and on no other.
        const pairs = report.scenarios.reduce(
          (n: number, s: { kernel: string }) =>
            n + report.revisions.filter((r: { base: string }) => r.base === s.kernel).length,
          0,
        );
        assert.equal(report.outcomes.length, pairs);
        assert.ok(report.scenarios.some((s: { kernel: string }) => s.kernel === "2.5.42"));
        assert.equal(report.costs.revision, "nl-2.5.42-f8");
      },
    );
    await t.step("Markdown, the shards given in the other order", async () => {
      const merged = await cliInProcess("merge", s2, s1);
      assert.equal(merged.code, 0, merged.stderr);
      assert.ok(merged.stdout === whole.md, "merged Markdown differs from the unsharded report");
    });
    await t.step(
      "the whole report, races included, validates against docs/report-schema.json",
      () => {
        const value = JSON.parse(whole.json);
        assert.deepEqual(validate(REPORT, value), []);
        assert.ok(value.races.length > 0);
        assert.equal(value.cells.length, value.outcomes.length);
        // Every cell is judged against the shipped pins, and each carries its citation.
        assert.equal(value.judgements.length, value.cells.length);
        const pinned = value.judgements.filter((j: { result: string }) => j.result !== "unpinned");
        assert.ok(pinned.length > 0);
        for (const j of pinned) {
          assert.ok(j.expected.cite.length > 0, `${j.scenario} ${j.revision}`);
        }
        // Each cell carries the content hashes of its scenario and revision.
        const hashOf = new Map(
          value.revisions.map((x: { id: string; hash: string }) => [x.id, x.hash]),
        );
        const scen = new Map(
          value.scenarios.map((x: { id: string; hash: string }) => [x.id, x.hash]),
        );
        for (const c of value.cells) {
          assert.equal(c.hashes.revision, hashOf.get(c.revision));
          assert.equal(c.hashes.scenario, scen.get(c.scenario));
        }
        // A broken report does not validate.
        delete value.outcomes[0].hashes;
        value.cells[0].status = "flaky";
        value.surprise = 1;
        assert.deepEqual(validate(REPORT, value), [
          '$: must NOT have additional properties "surprise"',
          '$.cells[0].status: must be equal to one of the allowed values ["pass","fail","unsupported","timeout"]',
          "$.outcomes[0]: must have required property 'hashes'",
        ]);
      },
    );
    await t.step("each result set validates against docs/results-schema.json", () => {
      const report = JSON.parse(whole.json);
      let cells = 0;
      let explorations = 0;
      for (const [i, file] of [s1, s2].entries()) {
        const set = JSON.parse(shards[i].text);
        assert.deepEqual(validate(RESULTS, set), [], file);
        for (const c of set.cells) assert.deepEqual(validate(REPORT, c.outcome, "outcome"), []);
        for (const x of set.explorations) {
          assert.deepEqual(validate(REPORT, x.result, "exploreResult"), []);
        }
        cells += set.cells.length;
        explorations += set.explorations.length;
        assert.deepEqual(set.units, {
          cells: report.cells.length,
          explorations: report.races.length,
        });
      }
      assert.equal(cells, report.cells.length);
      assert.equal(explorations, report.races.length);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main() draws no progress when standard error is not a terminal, or with --quiet", async () => {
  // Each whole-report run lasts longer than the second a progress line waits for.
  const { whole, shards: [quiet, plain] } = await wholeRuns();
  assert.equal(plain.stderr, `mmbisect: wrote ${plain.path} (${plain.size} bytes)\n`);
  assert.equal(
    whole.stderr,
    whole.paths.map((p, i) => `mmbisect: wrote ${p} (${whole.sizes[i]} bytes)\n`).join(""),
  );
  assert.equal(quiet.stderr, "");
  const others = await Promise.all(
    [["bisect", "emmu", "mremap-move"], ["compare", "emmu-v4", "emmu-v5"]].map((a) => cli(...a)),
  );
  for (const r of others) {
    assert.equal(r.stderr, "");
    assert.ok(!r.stdout.includes("\r") && !r.stdout.includes("\x1b["), "no progress line");
  }
});

Deno.test("main() merge exits 1 when the shards' baseline regressed, as report does", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // expectations/emmu.json: truncate-contended passes on emmu-v4, not on emmu-v5.
    const args = ["report", "--lineage", "emmu", "--baseline", "emmu-v4", "--no-races"];
    const whole = await cliInProcess(...args, "--format", "json");
    assert.equal(whole.code, 1, whole.stderr);
    for (const k of [1, 2, 3]) {
      const r = await cliInProcess(...args, "--shard", `${k}/3`, "--out", `${dir}/${k}.json`, "-q");
      assert.equal(r.code, 0, "a slice checks no baseline");
    }
    const merged = await cliInProcess(
      "merge",
      "--format",
      "json",
      ...[3, 1, 2].map((k) => `${dir}/${k}.json`),
    );
    assert.equal(merged.code, 1);
    assert.equal(merged.stdout, whole.stdout);
    assert.equal(merged.stderr, whole.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main() merge refuses result sets that are not the shards of one run, naming the file", async (t) => {
  const dir = Deno.makeTempDirSync();
  const small = ["report", "--lineage", "reference", "--no-races", "-q"];
  const shard = async (name: string, k: string, ...more: string[]) => {
    const file = `${dir}/${name}.json`;
    const r = await cliInProcess(...small, "--shard", k, "--out", file, ...more);
    assert.equal(r.code, 0, r.stderr);
    return file;
  };
  const edit = (from: string, name: string, change: (set: Record<string, unknown>) => void) => {
    const set = JSON.parse(Deno.readTextFileSync(from));
    change(set);
    const file = `${dir}/${name}.json`;
    Deno.writeTextFileSync(file, JSON.stringify(set));
    return file;
  };
  try {
    const s1 = await shard("s1", "1/2");
    const s2 = await shard("s2", "2/2");
    await t.step(
      "the shards of one lineage, races included, merge into its HTML report",
      async () => {
        const one = ["report", "--lineage", "reference", "-q"];
        const html = await cliInProcess(...one, "--format", "html");
        const files = [`${dir}/h1.json`, `${dir}/h2.json`];
        for (const [i, file] of files.entries()) {
          assert.equal(
            (await cliInProcess(...one, "--shard", `${i + 1}/2`, "--out", file)).code,
            0,
          );
        }
        const merged = await cliInProcess("merge", "--format", "html", ...files);
        assert.equal(merged.code, 0, merged.stderr);
        assert.match(merged.stdout, /race-wp-copy-refault/);
        assert.ok(merged.stdout === html.stdout, "merged HTML differs from the unsharded report");
      },
    );
    await t.step("a missing shard", async () => {
      assertInputError(await cliInProcess("merge", s1), /shard 2\/2 is missing/);
    });
    await t.step("a --timeout of its own: the shards' applies", async () => {
      assertInputError(
        await cliInProcess("merge", s1, s2, "--timeout", "5"),
        /^mmbisect: option "--timeout" is not for "merge": the time bound is the shards'/,
      );
    });
    await t.step("the same shard twice", async () => {
      const again = edit(s1, "again", () => {});
      assertInputError(
        await cliInProcess("merge", s1, again, s2),
        /Cannot merge ".*again\.json": it holds shard 1\/2, as ".*s1\.json" does/,
      );
    });
    await t.step("another shard count", async () => {
      const third = await shard("third", "2/3");
      assertInputError(
        await cliInProcess("merge", s1, third),
        /Cannot merge ".*third\.json": it is shard 2\/3, but ".*s1\.json" is one of 2/,
      );
    });
    await t.step("other options", async () => {
      const other = await shard("other", "2/2", "--timeout", "30");
      assertInputError(
        await cliInProcess("merge", s1, other),
        /Cannot merge ".*other\.json": it was run with other options than ".*s1\.json" \(--lineage reference --no-races --timeout 30; there --lineage reference --no-races --timeout 60\)/,
      );
    });
    await t.step("other scenarios, than each other or than those loaded here", async () => {
      const scenarios = `${dir}/scenarios`;
      Deno.mkdirSync(scenarios);
      for (const e of Deno.readDirSync(`${ROOT}scenarios`)) {
        if (e.name !== "mremap-move.json") {
          Deno.copyFileSync(`${ROOT}scenarios/${e.name}`, `${scenarios}/${e.name}`);
        }
      }
      const fewer = await shard("fewer", "2/2", "--scenarios", scenarios);
      assertInputError(
        await cliInProcess("merge", s1, fewer),
        /Cannot merge ".*fewer\.json": it was run on other scenarios or revisions than ".*s1\.json" \(scenario "mremap-move" is missing\)/,
      );
      assertInputError(
        await cliInProcess("merge", s1, s2, "--scenarios", scenarios),
        /Cannot merge ".*s1\.json": it was run on other scenarios or revisions than those loaded here \(scenario "mremap-move" is not in the other; give merge the --scenarios, --patches and --revision the shards had\)/,
      );
      const changed = edit(s2, "changed", (set) => {
        (set.revisions as { hash: string }[])[0].hash = "0123456789abcdef";
      });
      assertInputError(
        await cliInProcess("merge", s1, changed),
        /Cannot merge ".*changed\.json": it was run on other scenarios or revisions than ".*s1\.json" \(revision ".*" has another content hash\)/,
      );
    });
    await t.step("another schema version, or a whole report", async () => {
      const v2 = edit(s2, "v2", (set) => set.schema = "mmbisect/results@2");
      assertInputError(
        await cliInProcess("merge", s1, v2),
        /Cannot load ".*v2\.json": field "schema" is "mmbisect\/results@2" \(this mmbisect merges "mmbisect\/results@1"\)/,
      );
      const r2 = edit(s2, "r2", (set) => set.report = "mmbisect/report@2");
      assertInputError(
        await cliInProcess("merge", s1, r2),
        /Cannot load ".*r2\.json": field "report" is "mmbisect\/report@2": results for another report schema/,
      );
      const whole = `${dir}/whole.json`;
      await cliInProcess(...small, "--format", "json", "--out", whole);
      assertInputError(
        await cliInProcess("merge", s1, whole),
        /Cannot load ".*whole\.json": field "schema" is "mmbisect\/report@1": a whole report, not a result set of report --shard/,
      );
      Deno.writeTextFileSync(`${dir}/broken.json`, "{ not json");
      assertInputError(
        await cliInProcess("merge", `${dir}/broken.json`),
        /broken\.json": file is not valid JSON/,
      );
    });
    await t.step("a result out of place, or one missing", async () => {
      const moved = edit(s2, "moved", (set) => {
        (set.cells as { index: number }[])[0].index = 0;
      });
      assertInputError(
        await cliInProcess("merge", s1, moved),
        /Cannot merge ".*moved\.json": its cell 0 \(.* on .*\) is not one of shard 2\/2's/,
      );
      const lacking = edit(s2, "lacking", (set) => (set.cells as unknown[]).pop());
      assertInputError(
        await cliInProcess("merge", s1, lacking),
        /Cannot merge ".*lacking\.json": it lacks cell \d+ \(.* on mainline-2\.6\.27\) of shard 2\/2/,
      );
      const bare = edit(s2, "bare", (set) => delete set.units);
      assertInputError(
        await cliInProcess("merge", s1, bare),
        /Cannot load ".*bare\.json": field "units" must be \{ cells, explorations \}/,
      );
    });
    await t.step("no file at all", async () => {
      assertInputError(
        await cliInProcess("merge"),
        /"merge" takes at least 1 argument \(<file>\.\.\.\), got 0/,
      );
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
