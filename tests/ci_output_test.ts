/**
 * Output for CI through the command line: the README's CI example,
 * `report --expect FILE` and the TAP and JUnit formats.
 *
 * @module
 */
import assert from "node:assert/strict";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { assertInputError, cliInProcess } from "./_cli.ts";

/** The README's CI example: the arguments after `task report`, with `--out` in `dir`. */
function readmeExample(dir: string): string[] {
  const line = Deno.readTextFileSync("README.md").split("\n").find((l) =>
    l.includes("task report --lineage emmu --baseline emmu-v5")
  );
  assert.ok(line, "the README has the CI example");
  const args = line.slice(line.indexOf("task report") + "task report".length).trim().split(/\s+/);
  const out = args.indexOf("--out");
  assert.ok(out > 0, "the example writes a file");
  args[out + 1] = `${dir}/report.md`;
  return ["report", ...args];
}

/** A user's revision: emmu-v5 without its copy_page_range callouts (V4's copy_page_range). */
function regressingRevision(dir: string): string {
  const file = `${dir}/my-change.json`;
  Deno.writeTextFileSync(
    file,
    JSON.stringify({
      id: "my-change",
      extends: "emmu-v5",
      title: "emmu-v5 without the copy_page_range callouts",
      follows: "emmu-v5",
      candidate: true,
      source: "a user's own revision file",
      paths: { copy_page_range: null },
    }),
  );
  return file;
}

Deno.test("report --baseline: the README's CI example exits 0 on the shipped data, 1 when a user revision regresses", async (t) => {
  const dir = Deno.makeTempDirSync();
  try {
    await t.step("the shipped data", async () => {
      const r = await cliInProcess(...readmeExample(dir));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      const md = Deno.readTextFileSync(`${dir}/report.md`);
      assert.match(md, /^No regression: none of 3 revisions /m);
    });
    await t.step("with a user revision that drops V5's copy_page_range callouts", async () => {
      const r = await cliInProcess(...readmeExample(dir), "--revision", regressingRevision(dir));
      assert.equal(r.code, 1, r.stderr);
      const md = Deno.readTextFileSync(`${dir}/report.md`);
      // expectations/emmu.json: fork-cow-writable-secondary is stale-secondary on emmu-v4,
      // whose copy_page_range has no callout, and passes on emmu-v5.
      assert.match(
        md,
        /^\| fork-cow-writable-secondary +\| my-change +\| pass +\| stale-secondary /m,
      );
      assert.match(md, /^Checked: emmu-v5-holt-guard, emmu-v5-rmap, emmu-v5-rmap-xip, my-change /m);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("report --baseline runs the revisions it judges even when their lineage is not shown", async () => {
  const r = await cliInProcess(
    "report",
    "--lineage",
    "reference",
    "--baseline",
    "emmu-v4",
    "--no-races",
  );
  // expectations/emmu.json: truncate-contended (pass on emmu-v4) and fork-enomem
  // (stale-secondary on emmu-v4) gain kinds on emmu-v5 and its three candidates.
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^mmbisect: baseline emmu-v4: 8 regressions in emmu-v5, emmu-v5-holt-guard, /m,
  );
  assert.match(r.stdout, /^\| truncate-contended +\| emmu-v5 +\| pass +\| unbalanced-range /m);
  assert.doesNotMatch(r.stdout, /^## Lineage emmu$/m);
});

Deno.test("report --expect exits 0 when every cell matches, 1 on a mismatch, 2 on a bad file", async (t) => {
  const dir = Deno.makeTempDirSync();
  const run = (file: string) =>
    cliInProcess(
      "report",
      "--lineage",
      "hmm",
      "--no-races",
      "--expect",
      file,
      "--out",
      `${dir}/r.md`,
    );
  try {
    await t.step("the shipped pins match", async () => {
      const r = await run("expectations/emmu.json");
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /^mmbisect: expectations expectations\/emmu\.json: \d+ match, 0 mismatch, 0 not pinned$/m,
      );
    });
    await t.step("a pin of the user's that the run does not meet", async () => {
      const mine = `${dir}/mine.json`;
      const pins = JSON.parse(Deno.readTextFileSync("expectations/emmu.json"));
      const s = "race-hmm-reclaim";
      Deno.writeTextFileSync(
        mine,
        JSON.stringify({ [s]: { default: { kinds: ["lost-write"], cite: "mine" } } }),
      );
      assert.ok(pins[s], "a scenario the shipped pins know");
      const r = await run(mine);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /: 0 match, 2 mismatch, \d+ not pinned$/m);
      assert.match(
        r.stderr,
        /^ {2}race-hmm-reclaim on hmm-sequence-retry: kinds \[\] != pinned \[lost-write\]$/m,
      );
      assert.match(r.stderr, /^ {4}reproduce: deno task run /m);
    });
    await t.step("a malformed file", async () => {
      const bad = `${dir}/bad.json`;
      Deno.writeTextFileSync(bad, JSON.stringify({ s: { r: { kinds: "none", cite: "x" } } }));
      assertInputError(await run(bad), /"s\.r\.kinds" must be an array of violation kinds/);
      assertInputError(await run(`${dir}/missing.json`), /missing\.json.*cannot be read/);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("report --format junit and tap judge the cells against the shipped pins", async () => {
  const junit = await cliInProcess("report", "--lineage", "hmm", "--no-races", "--format", "junit");
  assert.equal(junit.code, 0, junit.stderr);
  assert.equal(XMLValidator.validate(junit.stdout), true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
    junit.stdout,
  );
  assert.equal(doc.testsuites.failures, "0");
  assert.equal(doc.testsuites.testsuite.name, "hmm");
  const tap = await cliInProcess("report", "--lineage", "hmm", "--no-races", "--format", "tap");
  assert.equal(tap.code, 0, tap.stderr);
  const lines = tap.stdout.trimEnd().split("\n");
  assert.equal(lines[0], "TAP version 14");
  assert.equal(lines[1], `1..${doc.testsuites.tests}`);
  assert.equal(lines.filter((l) => l.startsWith("not ok")).length, 0);
});
