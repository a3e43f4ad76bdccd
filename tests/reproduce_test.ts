/**
 * Every reproducer the commands print, run as printed: for shipped and for
 * user files (a scenario and a revision in a temporary directory), with and
 * without `--schedule`, each must give the outcome its command reported.
 *
 * @module
 */
import assert from "node:assert/strict";
import { cliInProcess } from "./_cli.ts";
import { reproduceArgs, reproduceCommand, shellWord } from "../src/run/reproduce.ts";
import { loadRevisionDir, type Revision } from "../src/run/revision.ts";
import { loadScenario, type Scenario } from "../src/run/scenario.ts";

const REPRO = /deno task run [^`\n)]*[^`\n) ]/g;

/** A temporary directory with a user scenario (a race) and a user revision. */
function userFiles(): { dir: string; scenario: string; wp: string; revision: string } {
  const dir = Deno.makeTempDirSync({ prefix: "mmbisect-repro " });
  const scenario = `${dir}/my-race.json`;
  const wp = `${dir}/my-wp.json`;
  const revision = `${dir}/my-v2.json`;
  Deno.copyFileSync("scenarios/race-mremap-guest-write.json", scenario);
  Deno.copyFileSync("scenarios/wp-reuse-after-fork.json", wp);
  Deno.writeTextFileSync(
    revision,
    JSON.stringify({
      id: "my-v2",
      extends: "emmu-v2",
      title: "a user's copy of emmu-v2",
      candidate: true,
      follows: "emmu-v2",
    }),
  );
  return { dir, scenario, wp, revision };
}

/** The user revision of {@link userFiles}, loaded as the commands load it. */
function mine(u: { revision: string }): Revision {
  return loadRevisionDir("patches", [u.revision]).find((r) => r.id === "my-v2")!;
}

/** A scenario by id: one of the user's files, else a shipped one. */
function scenarioOf(id: string, u: { scenario: string; wp: string }): Scenario {
  const own = [u.scenario, u.wp].find((f) => f.endsWith(`/${id}.json`));
  return loadScenario(own ?? `scenarios/${id}.json`);
}

/** What the commands reported: kinds by `scenario revision`, and the kind each replay reaches. */
interface Reported {
  cells: Map<string, string[]>;
  replays: Map<string, string[]>;
  printed: Set<string>;
}

function reported(): Reported {
  return { cells: new Map(), replays: new Map(), printed: new Set() };
}

/** Collects what a JSON output reports: outcomes with their reproducers, and counterexamples. */
function collect(value: unknown, into: Reported): void {
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into);
    return;
  }
  if (!value || typeof value !== "object") return;
  const o = value as Record<string, unknown>;
  if (typeof o.reproduce === "string" && Array.isArray(o.kinds)) {
    into.cells.set(`${o.scenario} ${o.revision}`, o.kinds as string[]);
    into.printed.add(o.reproduce);
  }
  if (o.counterexamples && typeof o.counterexamples === "object") {
    for (
      const [kind, c] of Object.entries(o.counterexamples as Record<string, { replay: string }>)
    ) {
      into.replays.set(c.replay, [kind]);
      into.printed.add(c.replay);
    }
  }
  for (const v of Object.values(o)) collect(v, into);
}

/** Collects every reproducer a text output prints. */
function collectText(text: string, into: Reported): void {
  for (const m of text.matchAll(REPRO)) into.printed.add(m[0]);
}

/** Runs every printed reproducer through `main()` and checks it against what was reported. */
async function checkAll(r: Reported): Promise<number> {
  assert.ok(r.printed.size > 0, "some reproducer was printed");
  for (const command of r.printed) {
    const res = await cliInProcess("run", ...reproduceArgs(command), "--json");
    assert.equal(res.code, 0, `${command}: ${res.stderr}`);
    const out = JSON.parse(res.stdout);
    assert.equal(out.reproduce, command, "the run prints the same reproducer");
    const replay = r.replays.get(command);
    if (replay) {
      for (const kind of replay) assert.ok(out.kinds.includes(kind), `${command} reaches ${kind}`);
      continue;
    }
    const want = r.cells.get(`${out.scenario} ${out.revision}`);
    assert.ok(want, `${command}: its outcome was reported`);
    assert.deepEqual(out.kinds, want, command);
  }
  return r.printed.size;
}

Deno.test("reproduceCommand() names shipped files by id and user files by path", () => {
  const u = userFiles();
  try {
    const v5 = loadRevisionDir("patches").find((r) => r.id === "emmu-v5")!;
    const shipped = loadScenario("scenarios/wp-reuse-after-fork.json");
    assert.equal(reproduceCommand(shipped, v5), "deno task run wp-reuse-after-fork emmu-v5");
    const mine = loadRevisionDir("patches", [u.revision]).find((r) => r.id === "my-v2")!;
    assert.equal(
      reproduceCommand(loadScenario(u.scenario), mine, { schedule: ["cpu0", "vcpu0"] }),
      `deno task run ${shellWord(u.scenario)} my-v2 --revision ${
        shellWord(u.revision)
      } --schedule cpu0,vcpu0`,
    );
    const patches = `${u.dir}/patches`;
    Deno.mkdirSync(patches);
    for (const e of Deno.readDirSync("patches")) {
      Deno.copyFileSync(`patches/${e.name}`, `${patches}/${e.name}`);
    }
    Deno.copyFileSync(u.revision, `${patches}/my-v2.json`);
    const fromDir = loadRevisionDir(patches).find((r) => r.id === "my-v2")!;
    assert.equal(
      reproduceCommand(shipped, fromDir),
      `deno task run wp-reuse-after-fork my-v2 --patches ${shellWord(patches)}`,
    );
  } finally {
    Deno.removeSync(u.dir, { recursive: true });
  }
});

Deno.test("reproduceArgs() splits what shellWord() quotes", () => {
  const words = ["/tmp/a b/it's.json", "emmu-v5", "--schedule", "-"];
  assert.deepEqual(reproduceArgs(`deno task run ${words.map(shellWord).join(" ")}`), words);
  assert.throws(() => reproduceArgs("deno task report"), SyntaxError);
});

Deno.test("every printed reproducer reproduces the outcome it reports", async (t) => {
  const u = userFiles();
  const user = ["--scenario", u.scenario, "--scenario", u.wp, "--revision", u.revision];
  try {
    await t.step("report (JSON) on shipped and user files, races included", async () => {
      const r = reported();
      const res = await cliInProcess("report", "--lineage", "emmu", "--format", "json", ...user);
      assert.equal(res.code, 0, res.stderr);
      collect(JSON.parse(res.stdout), r);
      assert.ok([...r.printed].some((c) => c.includes(`--revision ${shellWord(u.revision)}`)));
      assert.ok([...r.printed].some((c) => c.includes(shellWord(u.scenario))));
      assert.ok([...r.printed].some((c) => c.includes("--schedule")));
      assert.ok(await checkAll(r) > 100);
    });
    await t.step("compare, text and JSON, with every schedule explored", async () => {
      const r = reported();
      // The cells' kinds come from the JSON; the replays of races are checked by their kind.
      const json = await cliInProcess("compare", "emmu-v5", "my-v2", "--races", "--json", ...user);
      assert.equal(json.code, 0, json.stderr);
      const c = JSON.parse(json.stdout);
      for (const s of c.scenarios) r.cells.set(`${s.scenario} ${s.to}`, s.toKinds);
      for (const race of c.races) {
        // One replay per kind new on the second revision, in the kinds' order.
        const fresh = Object.keys(race.to).filter((k) => !(k in race.from));
        assert.equal(race.replays.length, fresh.length);
        race.replays.forEach((replay: string, i: number) => {
          r.replays.set(replay, [fresh[i]]);
          r.printed.add(replay);
        });
      }
      const text = await cliInProcess("compare", "emmu-v5", "my-v2", "--races", ...user);
      collectText(text.stdout, r);
      // Each regression, fix or both row prints the command that runs it on the second revision.
      const rows = c.scenarios.filter((s: { classes: string[] }) =>
        s.classes.includes("regression") || s.classes.includes("fix")
      );
      assert.ok(rows.length > 0, "my-v2 (emmu-v2) changes verdicts against emmu-v5");
      for (const s of rows) {
        assert.equal(s.reproduce, reproduceCommand(scenarioOf(s.scenario, u), mine(u)));
        assert.ok(text.stdout.includes(`\n    reproduce: ${s.reproduce}\n`), s.scenario);
      }
      assert.ok([...r.printed].some((x) => x.includes(shellWord(u.scenario))), "a user race");
      await checkAll(r);
    });
    await t.step("bisect, shipped and user scenario", async () => {
      for (const s of ["wp-reuse-after-fork", u.wp]) {
        const r = reported();
        const json = await cliInProcess("bisect", "emmu", s, "--json", ...user);
        assert.equal(json.code, 0, json.stderr);
        const b = JSON.parse(json.stdout);
        for (const st of b.steps) r.cells.set(`${b.scenario} ${st.revision}`, st.kinds);
        const text = await cliInProcess("bisect", "emmu", s, ...user);
        collectText(text.stdout, r);
        for (const tr of b.transitions) r.printed.add(tr.reproduce);
        await checkAll(r);
      }
    });
    await t.step("explain and run, with and without --schedule", async () => {
      const r = reported();
      for (const [s, rev] of [["wp-reuse-after-fork", "emmu-v5"], [u.scenario, u.revision]]) {
        const json = await cliInProcess("explain", s, rev, "--json", ...user);
        assert.equal(json.code, 0, json.stderr);
        collect(JSON.parse(json.stdout), r);
        collectText((await cliInProcess("explain", s, rev, ...user)).stdout, r);
      }
      const sched = await cliInProcess(
        "run",
        "my-race",
        "my-v2",
        "--schedule",
        "cpu0,cpu0,cpu0,cpu0,vcpu0",
        "--json",
        ...user,
      );
      assert.equal(sched.code, 0, sched.stderr);
      const o = JSON.parse(sched.stdout);
      assert.match(o.reproduce, / --schedule cpu0,cpu0,cpu0,cpu0,vcpu0$/);
      r.replays.set(o.reproduce, o.kinds);
      r.printed.add(o.reproduce);
      await checkAll(r);
    });
    await t.step("explore, text and JSON, shipped and user files", async () => {
      const r = reported();
      for (const [s, rev] of [["race-mremap-guest-write", "emmu-v2"], [u.scenario, u.revision]]) {
        const json = await cliInProcess("explore", s, rev, "--json", ...user);
        assert.equal(json.code, 0, json.stderr);
        collect(JSON.parse(json.stdout), r);
        collectText((await cliInProcess("explore", s, rev, ...user)).stdout, r);
      }
      assert.ok([...r.printed].every((c) => c.includes("--schedule")));
      assert.ok(await checkAll(r) >= 2);
    });
  } finally {
    Deno.removeSync(u.dir, { recursive: true });
  }
});
