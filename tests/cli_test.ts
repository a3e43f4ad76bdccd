import assert from "node:assert/strict";
import { assertInputError, cli, cliInProcess } from "./_cli.ts";
import { existsSync } from "node:fs";

const SCENARIO = {
  purpose: "A write fault after fork",
  exercises: ["do_wp_page"],
  cite: "test",
  secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
  steps: [
    { op: "mmap", mm: "A", addr: "0x100000", len: "0x1000", prot: "rw", share: "private" },
    { op: "register", secondary: "kvm0" },
    { op: "touch", mm: "A", addr: "0x100000", access: "write" },
    { op: "exit", mm: "A" },
  ],
};

Deno.test("main() rejects bad input with one line and exit status 2", async (t) => {
  // In this process, as main() is what decides; a file error and a usage error in a process of
  // their own too, for the exit status and standard error the shell sees.
  const dir = Deno.makeTempDirSync();
  try {
    await t.step("an unknown revision id", async () => {
      assertInputError(
        await cliInProcess("run", "wp-reuse-after-fork", "emmu-v99"),
        /unknown revision "emmu-v99" \(known: .*emmu-v5/,
      );
    });
    await t.step("an unknown scenario id", async () => {
      assertInputError(
        await cliInProcess("run", "no-such-scenario", "emmu-v5"),
        /unknown scenario "no-such-scenario"/,
      );
    });
    await t.step("an unknown field in a scenario file names the file and the field", async () => {
      const file = `${dir}/typo.json`;
      const bad = { ...SCENARIO, steps: [{ ...SCENARIO.steps[0], lenght: "0x1000" }] };
      Deno.writeTextFileSync(file, JSON.stringify(bad));
      const r = await cliInProcess("run", file, "emmu-v5");
      assertInputError(r, /typo\.json.*steps\[0\]\.lenght.*is unknown/);
    });
    await t.step("a scenario file that is not JSON", async () => {
      const file = `${dir}/broken.json`;
      Deno.writeTextFileSync(file, "{ not json");
      assertInputError(await cli("run", file, "emmu-v5"), /broken\.json.*not valid JSON/);
    });
    await t.step("a revision file with an unknown key", async () => {
      const file = `${dir}/rev.json`;
      Deno.writeTextFileSync(file, JSON.stringify({ id: "mine", extends: "emmu-v5", colour: 1 }));
      assertInputError(
        await cliInProcess("compare", "emmu-v5", "mine", "--revision", file),
        /rev\.json.*"colour"/,
      );
    });
    await t.step("an unknown option", async () => {
      assertInputError(
        await cli("report", "--formt", "json"),
        /unknown option "--formt" for "report"/,
      );
    });
    await t.step("a missing argument", async () => {
      assertInputError(await cliInProcess("compare", "emmu-v5"), /"compare" takes 2 arguments/);
    });
    await t.step("a bad --format", async () => {
      assertInputError(
        await cliInProcess("report", "--format", "pdf"),
        /--format.*"pdf".*md, json, html, mail, tap, junit/,
      );
    });
    await t.step("a --baseline that is not one of the revisions compared", async () => {
      assertInputError(
        await cliInProcess("compare", "emmu-v4", "emmu-v5", "--baseline", "emmu-v3"),
        /"--baseline" is "emmu-v3" \(expected one of the two revisions compared/,
      );
    });
    await t.step("an unknown --baseline", async () => {
      assertInputError(
        await cliInProcess("report", "--baseline", "emmu-v9", "--no-races"),
        /unknown revision "emmu-v9"/,
      );
    });
    await t.step("explain without its revision", async () => {
      assertInputError(await cliInProcess("explain", "mremap-move"), /"explain" takes 2 arguments/);
    });
    await t.step("an unknown lineage", async () => {
      assertInputError(
        await cliInProcess("bisect", "nope", "wp-reuse-after-fork"),
        /unknown lineage "nope"/,
      );
    });
    await t.step("an unknown command", async () => {
      assertInputError(await cliInProcess("frobnicate"), /unknown command "frobnicate"/);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main() prints help with examples for every command", async (t) => {
  const top = await cli("--help");
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^Usage: mmbisect <command>/);
  assert.match(top.stdout, /^Exit status:\n {2}0 .*\n {2}1 .*baseline/m);
  const commands = ["run", "compare", "report", "bisect", "explain", "explore", "merge"];
  // The top-level "--help" above in a process of its own (its exit status and streams); each
  // command's "--help", "-h" and "help" in this one, which runs the same main().
  const runs = await Promise.all(
    commands.map(async (command) => [
      await cliInProcess(command, "--help"),
      await cliInProcess(command, "-h"),
      await cliInProcess("help", command),
    ]),
  );
  for (const [i, command] of commands.entries()) {
    await t.step(command, () => {
      for (const r of runs[i]) {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        assert.match(r.stdout, new RegExp(`^Usage: mmbisect ${command} `));
        assert.match(r.stdout, new RegExp(`Examples:\\n  deno task ${command}\\b`));
        // Every command documents its exit status; those with --baseline document 1.
        assert.match(r.stdout, /^Exit status:\n {2}0 .*\n(.*\n)* {2}2 {2}bad input/m);
        assert.match(r.stdout, /^ {2}3 {2}output error: /m);
        const baseline = ["compare", "report", "merge"].includes(command);
        assert.equal(/^ {2}1 {2}with --baseline/m.test(r.stdout), baseline, r.stdout);
        assert.match(r.stdout, /-q, --quiet/);
      }
    });
  }
});

Deno.test("main() runs each command on the shipped revisions and scenarios", async (t) => {
  // Each command once in a process of its own, as a shell runs it (run, bisect, explain, and
  // compare and report where --baseline makes them exit 1); the rest in this process, which runs
  // the same main().
  await t.step("run --json prints one canonical outcome", async () => {
    const r = await cliInProcess("run", "wp-reuse-after-fork", "emmu-v5", "--json");
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    assert.equal(o.schema, "mmbisect/outcome@1");
    assert.equal(o.reproduce, "deno task run wp-reuse-after-fork emmu-v5");
  });
  await t.step("run prints the verdict and the reproduce command", async () => {
    const r = await cli("run", "scenarios/wp-reuse-after-fork.json", "mainline-2.6.27");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wp-reuse-after-fork on mainline-2\.6\.27: (pass|fail) /);
    assert.match(r.stdout, /^reproduce: deno task run /m);
  });
  await t.step("compare classifies every scenario", async () => {
    const r = await cliInProcess("compare", "emmu-v5", "emmu-v5-holt-guard");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^compare emmu-v5 -> emmu-v5-holt-guard$/m);
    assert.match(r.stdout, /^config keys that differ \(\d+\):$/m);
    assert.match(
      r.stdout,
      /^summary: \d+ scenarios = \d+ regressions? \+ \d+ fix(es)? \+ \d+ both \+ \d+ other changes? \+ \d+ same; \d+ regressed and \d+ fixed in all$/m,
    );
  });
  await t.step("bisect prints the verdict along the lineage", async () => {
    const r = await cliInProcess("bisect", "emmu", "wp-reuse-after-fork");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^bisect wp-reuse-after-fork along emmu:$/m);
    assert.match(r.stdout, /^ {2}emmu-v1 /m);
  });
  await t.step("bisect names every verdict change along the lineage", async () => {
    const r = await cli("bisect", "emmu", "mremap-move");
    assert.equal(r.code, 0, r.stderr);
    // V2 loses move_ptes' invalidate_page and fixes V1's release (docs/sources.md §5a.1).
    assert.match(r.stdout, /^ {2}emmu-v2 +lost-write +<- regressed and fixed in emmu-v2$/m);
    assert.match(r.stdout, /^ {2}emmu-v5 +pass +<- fixed in emmu-v5$/m);
    assert.match(r.stdout, /^last unchanged: emmu-v1 \(list-corruption\)$/m);
    assert.match(r.stdout, /^first changed: {2}emmu-v2 \(lost-write\)$/m);
    assert.match(
      r.stdout,
      /^ {2}fixed in emmu-v5 \(after emmu-v4\): lost-write -> pass \(-lost-write\)$/m,
    );
    assert.match(
      r.stdout,
      /^ {6}paths\.move_page_tables\.callouts\[entry:invalidate_range_begin\]: \(absent\) -> /m,
    );
    const j = JSON.parse((await cliInProcess("bisect", "emmu", "mremap-move", "--json")).stdout);
    assert.equal(j.schema, "mmbisect/bisect@1");
    assert.deepEqual(
      j.transitions.map((
        x: { from: string; to: string; classes: string[] },
      ) => [x.from, x.to, x.classes]),
      [["emmu-v1", "emmu-v2", ["regression", "fix"]], ["emmu-v4", "emmu-v5", ["fix"]]],
    );
  });
  await t.step("explain shows each violation's callouts and config keys", async () => {
    const r = await cli("explain", "wp-reuse-after-fork", "emmu-v5");
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^explain wp-reuse-after-fork on emmu-v5: fail \(no-progress,unbalanced-range\)$/m,
    );
    assert.match(r.stdout, /^hashes: scenario [0-9a-f]{16}, revision [0-9a-f]{16}$/m);
    assert.match(r.stdout, /^violation 2 of 2: step 5, unbalanced-range at 0x100000-0x101000: /m);
    assert.match(
      r.stdout,
      /^ {2}\* step 5 vcpu0: do_wp_page@unlock invalidate_range_end\(A 0x100000-0x101000\)/m,
    );
    assert.match(
      r.stdout,
      /^ {4}paths\.do_wp_page\.callouts\[unlock:invalidate_range_end\]: range=page atomic=0$/m,
    );
    assert.match(r.stdout, /^reproduce: deno task run wp-reuse-after-fork emmu-v5$/m);
    const j = JSON.parse(
      (await cliInProcess("explain", "wp-reuse-after-fork", "emmu-v5", "--json")).stdout,
    );
    assert.equal(j.schema, "mmbisect/explain@1");
    assert.equal(j.violations.length, 2);
  });
  await t.step(
    "compare --baseline exits 1 when the other revision regressed, 0 otherwise",
    async () => {
      const fixed = await cliInProcess(
        "compare",
        "emmu-v5",
        "emmu-v5-holt-guard",
        "--baseline",
        "emmu-v5",
      );
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.match(fixed.stdout, /^baseline emmu-v5: no regression in emmu-v5-holt-guard$/m);
      const worse = await cli(
        "compare",
        "emmu-v5",
        "emmu-v5-holt-guard",
        "--baseline",
        "emmu-v5-holt-guard",
      );
      assert.equal(worse.code, 1, worse.stderr);
      assert.match(worse.stdout, /^baseline emmu-v5-holt-guard: 4 regressions in emmu-v5$/m);
      assert.match(
        worse.stdout,
        /^ {2}wp-reuse-after-fork on emmu-v5: pass -> no-progress,unbalanced-range /m,
      );
      const j = JSON.parse(
        (await cliInProcess(
          "compare",
          "emmu-v5",
          "emmu-v5-holt-guard",
          "--baseline",
          "emmu-v5-holt-guard",
          "--json",
        ))
          .stdout,
      );
      assert.equal(j.baseline.regressions.length, 4);
    },
  );
  await t.step(
    "report --baseline judges the revisions after it, exits 1 when one regressed, 0 otherwise",
    async () => {
      const ok = await cliInProcess(
        "report",
        "--lineage",
        "emmu",
        "--baseline",
        "emmu-v5",
        "--no-races",
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^## Against baseline emmu-v5$/m);
      assert.match(
        ok.stderr,
        /^mmbisect: baseline emmu-v5: no regression in emmu-v5-holt-guard, emmu-v5-rmap, emmu-v5-rmap-xip$/m,
      );
      // expectations/emmu.json: truncate-contended passes on emmu-v4 and not on emmu-v5.
      const bad = await cli(
        "report",
        "--lineage",
        "emmu",
        "--baseline",
        "emmu-v4",
        "--no-races",
        "--quiet",
      );
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr, "", "--quiet prints no notice");
      assert.match(
        bad.stdout,
        /^\| truncate-contended +\| emmu-v5 +\| pass +\| unbalanced-range /m,
      );
      const section = bad.stdout.slice(bad.stdout.indexOf("## Against baseline emmu-v4"));
      const table = section.slice(0, section.indexOf("\n## "));
      assert.doesNotMatch(table, /emmu-v[123]\b/, "revisions before the baseline are not judged");
    },
  );
  await t.step("a user revision may extend a shipped one", async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const file = `${dir}/mine.json`;
      Deno.writeTextFileSync(
        file,
        JSON.stringify({
          id: "mine",
          extends: "emmu-v5",
          title: "mine",
          follows: "emmu-v5",
          candidate: true,
          source: "test",
        }),
      );
      const r = await cliInProcess("compare", "emmu-v5", "mine", "--revision", file, "--json");
      assert.equal(r.code, 0, r.stderr);
      const c = JSON.parse(r.stdout);
      assert.deepEqual(c.keys, []);
      for (const s of c.scenarios) assert.deepEqual(s.classes, ["same"]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
});

Deno.test("main() writes --out atomically", async (t) => {
  const dir = Deno.makeTempDirSync();
  const out = `${dir}/report.md`;
  try {
    await t.step("the report replaces the previous file by a rename", async () => {
      Deno.writeTextFileSync(out, "previous\n");
      const before = Deno.statSync(out).ino;
      const r = await cli("report", "--lineage", "reference", "--out", out);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "");
      const text = Deno.readTextFileSync(out);
      assert.match(text, /^# mmbisect regression report\n/);
      assert.match(text, /^## Lineage reference$/m);
      // A new inode: the file was renamed into place, not rewritten in place.
      assert.notEqual(Deno.statSync(out).ino, before);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["report.md"]);
      const printed = await cliInProcess("report", "--lineage", "reference");
      assert.equal(printed.stdout, text);
    });
    await t.step(
      "a command that fails before writing leaves the previous file intact",
      async () => {
        Deno.writeTextFileSync(out, "previous\n");
        const r = await cliInProcess("report", "--out", out, "--revision", `${dir}/missing.json`);
        assertInputError(r, /missing\.json.*cannot be read/);
        assert.equal(Deno.readTextFileSync(out), "previous\n");
        assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["report.md"]);
      },
    );
    await t.step("a missing directory is created", async () => {
      const nested = `${dir}/a/b/report.json`;
      const r = await cliInProcess(
        "report",
        "--lineage",
        "reference",
        "--format",
        "json",
        "--out",
        nested,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(Deno.readTextFileSync(nested)).schema, "mmbisect/report@1");
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main() writes several formats of one run, each the bytes of a run of that format alone", async (t) => {
  const dir = Deno.makeTempDirSync();
  // One lineage with a baseline, whose line goes to standard error once. (The whole report's
  // two formats are checked against its shards in tests/merge_test.ts.)
  const args = ["report", "--lineage", "hmm", "--baseline", "hmm-range-lock", "--no-races"];
  try {
    await t.step("report: md, json and mail, in the order given", async () => {
      const formats = ["mail", "md", "json"];
      const outs = formats.map((f) => `${dir}/report.${f}`);
      const both = await cliInProcess(
        ...args,
        ...formats.flatMap((f, i) => ["--format", f, "--out", outs[i]]),
      );
      for (const [i, f] of formats.entries()) {
        const alone = await cliInProcess(...args, "--format", f);
        assert.equal(both.code, alone.code);
        assert.ok(Deno.readTextFileSync(outs[i]) === alone.stdout, `${f} differs`);
        assert.ok(both.stderr.endsWith(alone.stderr), "the baseline line once, at the end");
      }
      assert.equal(
        both.stderr.split("\n").filter((l) => l.startsWith("mmbisect: wrote ")).length,
        3,
      );
    });
    await t.step("merge: json and html of two shards", async () => {
      const shards = [1, 2].map((k) => `${dir}/shard-${k}.json`);
      for (const [i, file] of shards.entries()) {
        const r = await cliInProcess(...args, "--shard", `${i + 1}/2`, "--out", file, "-q");
        assert.equal(r.code, 0, r.stderr);
      }
      const outs = [`${dir}/merged.json`, `${dir}/merged.html`];
      const r = await cliInProcess(
        "merge",
        ...shards,
        "--format",
        "json",
        "--out",
        outs[0],
        "--format",
        "html",
        "--out",
        outs[1],
        "-q",
      );
      assert.equal(r.stderr, "");
      for (const [i, f] of ["json", "html"].entries()) {
        const alone = await cliInProcess("merge", ...shards, "--format", f);
        assert.equal(r.code, alone.code);
        assert.ok(Deno.readTextFileSync(outs[i]) === alone.stdout, `${f} differs`);
      }
    });
    await t.step(
      "formats and outputs that do not pair are refused before the long part",
      async () => {
        const x = `${dir}/x`;
        assertInputError(
          await cliInProcess("report", "--format", "json", "--format", "md", "--out", x),
          /"--format" is given 2 times and "--out" 1 time: with more than one format, give one --out per --format/,
        );
        assertInputError(
          await cliInProcess("report", "--out", x, "--out", `${dir}/y`),
          /"--out" is given 2 times for one format/,
        );
        assertInputError(
          await cliInProcess(
            "merge",
            x,
            "--format",
            "md",
            "--format",
            "json",
            "--out",
            x,
            "--out",
            x,
          ),
          /"--out" names ".*\/x" twice/,
        );
        assertInputError(
          await cliInProcess(
            "report",
            "--shard",
            "1/2",
            "--format",
            "json",
            "--format",
            "md",
            "--out",
            x,
            "--out",
            `${dir}/y`,
          ),
          /"--shard" writes a result set for "merge", which is JSON: --format is "json, md"/,
        );
        assert.ok(!existsSync(x) && !existsSync(`${dir}/y`), "nothing written");
      },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main() refuses a scenario and a revision of different kernel trees with exit 2", async () => {
  for (
    const args of [
      ["run", "nl-remap-inside", "emmu-v5"],
      ["compare", "emmu-v5", "nl-2.5.42-f8"],
      ["bisect", "emmu", "nl-remap-inside"],
    ]
  ) {
    const r = await cliInProcess(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^mmbisect: .*(2\.5\.42|kernel tree)/);
  }
});

Deno.test("main() run shows what a read finds through each address of a 2.5.42 scenario", async () => {
  const r = await cliInProcess("run", "nl-evict-remapped-file", "nl-2.5.42-f8");
  assert.equal(r.code, 0, r.stderr);
  // F8 cover letter: the mapping information lives only in the page tables, so after eviction
  // the refill is the linear page 0 where page 5 was remapped.
  assert.match(r.stdout, /what a read finds at the end:\n {2}A 0x40000000-0x40004000: data:0-3\n/);
});

Deno.test("main() explore --partial-order says whether the reduction made the result", async (t) => {
  const dispatch = ["explore", "race-unregister-dispatch", "emmu-v2"];
  await t.step("race-unregister-dispatch on emmu-v2: fewer states, the same verdict", async () => {
    const on = await cliInProcess(...dispatch, "--partial-order", "--json");
    const off = await cliInProcess(...dispatch, "--json");
    const [x, y] = [JSON.parse(on.stdout), JSON.parse(off.stdout)];
    assert.equal(x.partialOrder, true);
    assert.equal(y.partialOrder, undefined);
    assert.ok(x.states < y.states, `${x.states} against ${y.states}`);
    assert.deepEqual(x.verdicts, { "use-after-free": "sometimes" });
    assert.deepEqual(x.verdicts, y.verdicts);
  });
  await t.step("race-hmm-snapshot-storm on hmm-sequence-retry: its snapshot retries", async () => {
    // The snapshot retries (waits for the invalidation to end), which makes cycles: the search
    // keys the step's point count, and the reduction applies there too.
    const storm = ["explore", "race-hmm-snapshot-storm", "hmm-sequence-retry"];
    const on = await cliInProcess(...storm, "--partial-order", "--json");
    const off = await cliInProcess(...storm, "--json");
    const [x, y] = [JSON.parse(on.stdout), JSON.parse(off.stdout)];
    assert.equal(x.partialOrder, true);
    assert.ok(x.runs < y.runs, `${x.runs} against ${y.runs}`);
    assert.deepEqual(x.verdicts, { "no-progress": "sometimes" });
    assert.deepEqual(x.verdicts, y.verdicts);
    const text = await cliInProcess(...storm, "--partial-order");
    assert.match(text.stdout, /\(reduction on, partial-order reduction on\)\n/);
    assert.doesNotMatch(text.stdout, /gave way/);
  });
  await t.step("it works on top of merging", async () => {
    assertInputError(
      await cliInProcess(...dispatch, "--partial-order", "--no-reduction"),
      /"--no-reduction" and "--partial-order" exclude each other/,
    );
  });
});
