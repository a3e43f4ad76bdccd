/**
 * The command line's promise on bad input, one test per class of input an
 * independent fuzz found breaking it: one line `mmbisect: <message>` on
 * standard error naming the file, the field and what was expected, exit
 * status 2, never a stack trace; output that cannot be written exits 3.
 */
import assert from "node:assert/strict";
import {
  explore,
  LIMITS,
  loadRevisionDir,
  loadScenario,
  parseScenario,
  runScenario,
} from "../mod.ts";
import { assertInputError, assertOneLine, CLI, cli, cliInProcess, type Result } from "./_cli.ts";

const SCENARIOS = new URL("../scenarios/", import.meta.url).pathname;
const REVISIONS = loadRevisionDir(new URL("../patches/", import.meta.url).pathname);

/** A shipped scenario's JSON, to change. */
function shipped(id: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(`${SCENARIOS}${id}.json`));
}

/** Writes `value` (or text) as `<dir>/<name>.json` and runs it on `revision` in process. */
function runFile(
  dir: string,
  name: string,
  value: unknown,
  revision = "emmu-v5",
): Promise<Result> {
  const file = `${dir}/${name}.json`;
  Deno.writeTextFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
  return cliInProcess("run", file, revision);
}

/** Steps of a scenario as an editable list. */
type Steps = Record<string, unknown>[];

function withTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "mmbisect-bad-input-" });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

/** Renames every mm, file, secondary and thread of a scenario's JSON by the maps given. */
function renameIds(value: unknown, names: Record<string, Record<string, string>>): unknown {
  const kindOfKey: Record<string, string> = {
    mm: "mm",
    child: "mm",
    secondary: "secondary",
    id: "secondary",
    file: "file",
    name: "file",
    thread: "thread",
  };
  const walk = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        out[k] = k === "threads"
          ? Object.fromEntries(
            Object.entries(x as object).map(([t, ops]) => [names.thread[t] ?? t, walk(ops)]),
          )
          : walk(x, k);
      }
      return out;
    }
    const kind = key === undefined ? undefined : kindOfKey[key];
    return typeof v === "string" && kind ? names[kind][v] ?? v : v;
  };
  return walk(value);
}

const PROPERTY_NAMES = {
  mm: { A: "constructor", B: "toString" },
  secondary: { kvm0: "valueOf" },
  file: { data: "hasOwnProperty" },
  thread: { cpu0: "toString", drv: "isPrototypeOf", vcpu0: "constructor" },
};

Deno.test("main() runs a scenario whose ids are JavaScript property names like any other", async (t) => {
  const dir = Deno.makeTempDirSync();
  try {
    const v5 = REVISIONS.find((r) => r.id === "emmu-v5")!;
    for (const id of ["race-register-truncate", "fork-cow-writable-secondary", "mremap-move"]) {
      await t.step(id, async () => {
        const renamed = renameIds(shipped(id), PROPERTY_NAMES);
        const file = `${dir}/${id}.json`;
        Deno.writeTextFileSync(file, JSON.stringify(renamed));
        const a = runScenario(loadScenario(`${SCENARIOS}${id}.json`), v5);
        const b = runScenario(loadScenario(file), v5);
        assert.equal(b.verdict, a.verdict);
        assert.deepEqual(b.kinds, a.kinds);
        assert.deepEqual(b.counters, a.counters);
        assert.equal(b.trace.length, a.trace.length);
        assert.equal(b.violations.length, a.violations.length);
        assert.deepEqual(b.secondaries.map((s) => s.state), a.secondaries.map((s) => s.state));
        const r = await cliInProcess("run", file, "emmu-v5");
        assert.equal(r.code, 0, r.stderr);
      });
    }
    await t.step("explore finds the same verdicts", () => {
      const id = "race-register-truncate";
      const renamed = parseScenario(renameIds(shipped(id), PROPERTY_NAMES), "renamed.json", id);
      const a = explore(loadScenario(`${SCENARIOS}${id}.json`), v5);
      const b = explore(renamed, v5);
      assert.deepEqual(b.verdicts, a.verdicts);
      assert.equal(b.states, a.states);
    });
    await t.step("a command named after a property is unknown", async () => {
      for (const name of ["constructor", "toString", "__proto__"]) {
        assertInputError(await cliInProcess(name), new RegExp(`unknown command "${name}"`));
        assertInputError(await cliInProcess("help", name), new RegExp(`unknown command "${name}"`));
      }
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  "main() refuses __proto__ and other non-ids as names, naming the field",
  withTempDir(async (dir) => {
    const proto = { A: "__proto__" };
    const cases: [string, unknown, RegExp][] = [
      [
        "mm",
        renameIds(shipped("mremap-move"), { ...PROPERTY_NAMES, mm: proto }),
        /"secondaries\[0\]\.mm" is "__proto__" \(expected an id/,
      ],
      [
        "secondary",
        renameIds(shipped("mremap-move"), { ...PROPERTY_NAMES, secondary: { kvm0: "__proto__" } }),
        /"secondaries\[0\]\.id" is "__proto__"/,
      ],
      [
        "file",
        renameIds(shipped("race-register-truncate"), {
          ...PROPERTY_NAMES,
          file: { data: "__proto__" },
        }),
        /"files\[0\]\.name" is "__proto__"/,
      ],
      [
        "race thread",
        // JSON.stringify of a "__proto__" key made by Object.fromEntries keeps it a key.
        renameIds(shipped("race-register-truncate"), {
          ...PROPERTY_NAMES,
          thread: { drv: "__proto__" },
        }),
        /"steps\[2\]\.threads\.__proto__" is "__proto__"/,
      ],
    ];
    for (const [what, value, pattern] of cases) {
      await Promise.resolve();
      const text = JSON.stringify(value);
      assert.match(text, /"__proto__"/, what);
      assertInputError(await runFile(dir, what.replace(/ /g, "-"), text), pattern);
    }
    const steps = shipped("mremap-move").steps as Steps;
    steps[2].thread = "cpu0,cpu1";
    assertInputError(
      await runFile(dir, "comma", { ...shipped("mremap-move"), steps }),
      /"steps\[2\]\.thread" is "cpu0,cpu1" \(expected an id/,
    );
    assertInputError(
      await runFile(dir, "__proto__", shipped("mremap-move")),
      /__proto__\.json": file name gives the scenario id "__proto__", which JavaScript objects treat as their prototype/,
    );
  }),
);

/** `depth` arrays inside one another. */
function nested(depth: number): unknown {
  let v: unknown = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

Deno.test(
  "main() refuses JSON nested deeper than LIMITS.depth in a free-text field",
  withTempDir(async (dir) => {
    {
      const s = shipped("mremap-move");
      (s.steps as Steps)[1].note = nested(100_000);
      assertInputError(
        await runFile(dir, "deep", s),
        new RegExp(
          `deep\\.json": field "steps\\[1\\]\\.note(\\[0\\])+" nests objects and arrays more than ${LIMITS.depth} levels deep`,
        ),
      );
      const rev = `${dir}/deep-rev.json`;
      Deno.writeTextFileSync(
        rev,
        JSON.stringify({ id: "deep", extends: "emmu-v5", source: { a: nested(50) } }),
      );
      assertInputError(
        await cliInProcess("run", "mremap-move", rev),
        /deep-rev\.json": field "source\.a(\[0\])+" nests objects and arrays more than/,
      );
      await Promise.resolve();
    }
  }),
);

Deno.test(
  "main() refuses sizes past LIMITS, naming the field and the limit",
  withTempDir(async (dir) => {
    const base = shipped("race-register-truncate");
    const steps = () => structuredClone(base.steps) as Steps;
    const cases: [string, Record<string, unknown>, RegExp][] = [];
    const add = (name: string, change: Record<string, unknown>, pattern: RegExp) =>
      cases.push([name, { ...structuredClone(base), ...change }, pattern]);
    for (const len of [2 ** 32, 2 ** 53 - 4096]) {
      const s = steps();
      s[0].len = len;
      add(
        `len-${len}`,
        { steps: s },
        new RegExp(
          `"steps\\[0\\]\\.len" is 0x[0-9a-f]+, \\d+ pages \\(expected at most ${LIMITS.pages} pages`,
        ),
      );
    }
    for (const pages of [2 ** 32, 2 ** 53 - 1]) {
      add(
        `pages-${pages}`,
        { files: [{ name: "data", pages, kind: "shmem" }] },
        new RegExp(`"files\\[0\\]\\.pages" must be at most ${LIMITS.pages} pages`),
      );
    }
    const s1 = steps();
    s1[1] = { op: "remap_pfn_range", mm: "A", addr: "0x200000", len: 1e6 * 4096, pfn: 1 };
    add("remap-pfn-range", { steps: s1 }, /"steps\[1\]\.len" is 0xf4240000, 1000000 pages/);
    const s2 = steps();
    s2[1] = { op: "apply_to_page_range", mm: "A", addr: "0x200000", len: 1e6 * 4096 };
    add("apply-to-page-range", { steps: s2 }, /"steps\[1\]\.len" .*expected at most \d+ pages/);
    const threads: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++) {
      threads[`cpu${i}`] = [{ op: "touch", mm: "A", addr: "0x200000", access: "read" }];
    }
    const s3 = steps();
    s3[2] = { op: "race", threads };
    add(
      "threads",
      { steps: s3 },
      new RegExp(
        `"steps\\[2\\]\\.threads" names 1000 threads \\(expected at most ${LIMITS.threads}\\)`,
      ),
    );
    const s4 = steps();
    s4[2] = {
      op: "race",
      threads: {
        cpu0: Array(1000).fill({ op: "touch", mm: "A", addr: "0x200000", access: "read" }),
        drv: [{ op: "register", secondary: "kvm0" }],
      },
    };
    add(
      "ops",
      { steps: s4 },
      new RegExp(
        `"steps\\[2\\]\\.threads\\.cpu0" lists 1000 entries \\(expected at most ${LIMITS.opsPerThread}\\)`,
      ),
    );
    add(
      "steps",
      { steps: [...steps().slice(0, 2), ...Array(5000).fill(steps()[1])] },
      new RegExp(`"steps" lists 5002 entries \\(expected at most ${LIMITS.operations}\\)`),
    );
    // Races of as many threads and operations as allowed: past the operations limit soon.
    const race = () => ({
      op: "race",
      threads: Object.fromEntries(
        Array.from({ length: LIMITS.threads }, (_, t) => [
          `cpu${t}`,
          Array(LIMITS.opsPerThread).fill({
            op: "touch",
            mm: "A",
            addr: "0x200000",
            access: "read",
          }),
        ]),
      ),
    });
    add(
      "operations",
      { steps: [...steps().slice(0, 2), race(), race(), race()] },
      new RegExp(
        `"steps\\[\\d\\]\\.threads\\.cpu\\d\\[\\d+\\]" is operation ${
          LIMITS.operations + 1
        } of the scenario \\(expected at most ${LIMITS.operations}, counting those of races and durings\\)`,
      ),
    );
    const s5 = steps();
    s5[1].fail = { page: 1e30 };
    add(
      "fail",
      { steps: s5 },
      /"steps\[1\]\.fail\.page\[0\]" is 1e\+30 \(expected a positive integer/,
    );
    const many = steps();
    for (let i = 0; i < 5; i++) {
      many.splice(1, 0, {
        op: "mmap",
        mm: "A",
        addr: "0x200000",
        len: LIMITS.pages * 4096,
        prot: "rw",
        share: "private",
      });
    }
    add(
      "total",
      { steps: many },
      new RegExp(
        `"steps\\[4\\]\\.len" brings the pages the scenario's operations, forks and cached files cover to ${
          4 + 4 * LIMITS.pages
        } \\(expected at most ${LIMITS.totalPages} in all\\)`,
      ),
    );
    for (const [name, value, pattern] of cases) {
      await Promise.resolve();
      assertInputError(await runFile(dir, name, value), pattern);
    }
    const nl = shipped("nl-evict-remapped-file");
    nl.files = [{ name: "data", pages: 16, kind: "regular", cached: Array(100_000).fill(0) }];
    assertInputError(
      await runFile(dir, "cached", nl, "nl-2.5.42-f8"),
      /"files\[0\]\.cached" lists 100000 indexes \(expected at most one per page, 16\)/,
    );
    const big = { ...base, purpose: "x".repeat(LIMITS.fileBytes) };
    assertInputError(
      await runFile(dir, "big", big),
      /big\.json": file is larger than 1048576 bytes/,
    );
  }),
);

Deno.test(
  "main() reads only regular files and directories it can list",
  withTempDir(async (dir) => {
    assertInputError(
      await cliInProcess("run", "/dev/zero", "emmu-v5"),
      /"\/dev\/zero": file is a character device \(expected a regular file\)/,
    );
    await new Deno.Command("mkfifo", { args: [`${dir}/fifo.json`] }).output();
    assertInputError(
      await cliInProcess("run", `${dir}/fifo.json`, "emmu-v5"),
      /fifo\.json": file is a FIFO/,
    );
    Deno.mkdirSync(`${dir}/dir.json`);
    assertInputError(
      await cliInProcess("run", `${dir}/dir.json`, "emmu-v5"),
      /dir\.json": file is a directory/,
    );
    assertInputError(
      await cliInProcess("run", "mremap-move", "emmu-v5", "--revision", `${dir}/dir.json`),
      /dir\.json": file is a directory/,
    );
    assertInputError(
      await cliInProcess("run", "mremap-move", "emmu-v5", "--revision", "/dev/zero"),
      /"\/dev\/zero": file is a character device/,
    );
    assertInputError(
      await cliInProcess("run", "mremap-move", "emmu-v5", "--revision", `${dir}/missing.json`),
      /missing\.json": file cannot be read: No such file/,
    );
    assertInputError(
      await cliInProcess("compare", "emmu-v4", "emmu-v5", "--scenarios", `${dir}/missing`),
      /option "--scenarios" is ".*missing": No such file or directory/,
    );
    assertInputError(
      await cliInProcess("run", "mremap-move", "emmu-v5", "--patches", "README.md"),
      /option "--patches" is "README\.md", which is not a directory/,
    );
    assertInputError(
      await cliInProcess("report", "--scenarios", "/dev/null"),
      /option "--scenarios" is "\/dev\/null", which is not a directory/,
    );
  }),
);

Deno.test("main() reports output it cannot write with exit status 3, never 1", async (t) => {
  const deno = Deno.execPath();
  const sh = async (script: string) => {
    const out = await new Deno.Command("bash", {
      args: ["-c", script, "sh", deno, CLI],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  await t.step("standard output on a full device", async () => {
    for (
      const args of ["run mremap-move emmu-v5", "--help", "report --no-races --lineage reference"]
    ) {
      const r = await sh(`"$1" run --allow-read "$2" ${args} >/dev/full`);
      assert.equal(r.code, 3, `${args}: ${r.stderr}`);
      assertOneLine(r.stderr);
      assert.match(r.stderr, /^mmbisect: cannot write standard output: No space left on device/);
    }
  });
  await t.step("a closed pipe ends the command quietly", async () => {
    // The reader is gone before the command writes: its first write fails.
    const r = await sh(
      `"$1" run --allow-read "$2" run mremap-move emmu-v5 | true; echo "\${PIPESTATUS[0]}"`,
    );
    assert.equal(r.stdout, "3\n");
    assert.equal(r.stderr, "");
  });
});

Deno.test(
  "main() refuses what a run would skip in silence",
  withTempDir(async (dir) => {
    const mremap = () => shipped("mremap-move");
    await Promise.resolve();
    const d = mremap();
    ((d.steps as Steps)[3].during as Record<string, unknown>).at = "move_vma:nowhere";
    assertInputError(
      await runFile(dir, "during-at", d),
      /Scenario ".*during-at\.json" cannot run on "emmu-v5": field "steps\[3\]\.during\.at" is "move_vma:nowhere", a scheduling point step 3 never reached \(it reached: move_vma:moved\)/,
    );
    const f = mremap();
    (f.steps as Steps)[2].fail = { page: [1, 99] };
    assertInputError(
      await runFile(dir, "fail", f),
      /field "steps\[2\]\.fail\.page\[1\]" is 99, an allocation step 2 never reached \(it made 1 page allocation\)/,
    );
    assertInputError(
      await cliInProcess("run", "race-wp-copy-refault", "emmu-v2", "--schedule", "cpu0,cpu9"),
      /option "--schedule" names thread "cpu9", which scenario "race-wp-copy-refault" does not run \(its threads: cpu0, vcpu0/,
    );
    const dup = mremap();
    dup.secondaries = [...dup.secondaries as unknown[], (dup.secondaries as unknown[])[0]];
    assertInputError(
      await runFile(dir, "dup", dup),
      /"secondaries\[1\]\.id" is "kvm0", already used by secondaries\[0\]/,
    );
    const dupFile = shipped("race-register-truncate");
    dupFile.files = [...dupFile.files as unknown[], (dupFile.files as unknown[])[0]];
    assertInputError(
      await runFile(dir, "dup-file", dupFile),
      /"files\[1\]\.name" is "data", already used/,
    );
    const race = {
      op: "race",
      threads: {
        a: [{ op: "exit", mm: "A" }],
        b: [{ op: "reclaim", mm: "A", addr: "0x100000" }],
      },
    };
    const r = mremap();
    ((r.steps as Steps)[3].during as Record<string, unknown>).step = race;
    assertInputError(
      await runFile(dir, "race-in-during", r),
      /"steps\[3\]\.during\.step\.op" nests a race or a during in a during/,
    );
    const n = mremap();
    const inner = ((n.steps as Steps)[3].during as Record<string, unknown>).step as Record<
      string,
      unknown
    >;
    inner.during = { at: "x", step: { op: "exit", mm: "A" } };
    assertInputError(
      await runFile(dir, "during-in-during", n),
      /"steps\[3\]\.during\.step\.during" nests/,
    );
    const same = mremap();
    inner.thread = "cpu0";
    delete inner.during;
    ((same.steps as Steps)[3].during as Record<string, unknown>).step = inner;
    assertInputError(
      await runFile(dir, "same-thread", same),
      /"steps\[3\]\.during\.step\.thread" is "cpu0", the thread of steps\[3\] itself/,
    );
    // A during on a race starts on cpu1 by default: a thread of the race, two threads of one name.
    const dr = shipped("race-register-truncate");
    const threads = (dr.steps as Steps)[2].threads as Record<string, Steps>;
    const names = Object.keys(threads);
    (dr.steps as Steps)[2].during = { at: "x", step: { op: "exit", mm: "A", thread: names[0] } };
    assertInputError(
      await runFile(dir, "during-race-thread", dr),
      new RegExp(`"steps\\[2\\]\\.during\\.step\\.thread" is "${names[0]}", a thread of the race`),
    );
    const rf = shipped("race-register-truncate");
    const rt = (rf.steps as Steps)[2].threads as Record<string, Steps>;
    rt.cpu0[0].fail = { page: 1 };
    assertInputError(
      await runFile(dir, "fail-in-race", rf),
      /"steps\[2\]\.threads\.cpu0\[0\]\.fail" is set on a race thread's operation/,
    );
    // The threads of a process hold mm_users: none runs in the mm while another exits it. Reclaim,
    // the thread the shipped race-exit-reclaim runs, is kswapd's and may.
    const ex = shipped("race-exit-reclaim");
    const et = (ex.steps as Steps).find((st) => st.op === "race")!.threads as Record<string, Steps>;
    et.cpu1.push({ op: "touch", mm: "A", addr: "0x100000", access: "read" });
    assertInputError(
      await runFile(dir, "exit-race", ex),
      /"steps\[\d+\]\.threads\.cpu1\[1\]" runs touch in mm "A" while thread "cpu0" exits it/,
    );
    const ed = shipped("race-exit-reclaim");
    const i = (ed.steps as Steps).findIndex((st) => st.op === "race");
    (ed.steps as Steps)[i] = {
      op: "exit",
      mm: "A",
      during: { at: "exit_mmap:entry", step: { op: "fork", mm: "A", child: "B" } },
    };
    assertInputError(
      await runFile(dir, "exit-during", ed),
      /"steps\[\d+\]\.during\.step" runs fork in mm "A" while thread "cpu0" exits it/,
    );
    // A during started on a race is one more thread of it.
    const rd = shipped("race-exit-reclaim");
    const ri = (rd.steps as Steps).findIndex((st) => st.op === "race");
    (rd.steps as Steps)[ri].during = {
      at: "exit_mmap:entry",
      step: { op: "munmap", mm: "A", addr: "0x100000", len: "0x1000", thread: "cpu2" },
    };
    assertInputError(
      await runFile(dir, "exit-race-during", rd),
      /"steps\[\d+\]\.during\.step" runs munmap in mm "A" while thread "cpu0" exits it/,
    );
    // Two threads cannot fork one child: it exists only once a fork has made it.
    const fk = shipped("race-exit-reclaim");
    const ft = (fk.steps as Steps).find((st) => st.op === "race")!.threads as Record<string, Steps>;
    ft.cpu0 = [{ op: "fork", mm: "A", child: "B" }];
    ft.cpu1 = [{ op: "fork", mm: "A", child: "B" }];
    assertInputError(
      await runFile(dir, "fork-race", fk),
      /"steps\[\d+\]\.threads\.cpu0\[0\]" runs fork naming mm "B", which thread "cpu1" forks from "A" in the same step/,
    );
  }),
);

Deno.test("main() writes --out only to a regular file, atomically", async (t) => {
  const dir = Deno.makeTempDirSync();
  const report = ["report", "--no-races", "--lineage", "reference", "--out"];
  try {
    await t.step(
      "a FIFO, a character device or a directory is refused and left as it was",
      async () => {
        await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
        // mknod needs CAP_MKNOD; without it the FIFO and the directory still show the rule.
        const mknod = await new Deno.Command("mknod", { args: [`${dir}/null`, "c", "1", "3"] })
          .output();
        Deno.mkdirSync(`${dir}/dir`);
        Deno.writeTextFileSync(`${dir}/dir/inside`, "kept\n");
        const targets: [string, string][] = [["fifo", "a FIFO"], ["dir", "a directory"]];
        if (mknod.success) targets.push(["null", "a character device"]);
        for (const [name, kind] of targets) {
          const before = Deno.lstatSync(`${dir}/${name}`);
          assertInputError(
            await cliInProcess(...report, `${dir}/${name}`),
            new RegExp(
              `cannot write ".*/${name}": it is ${kind} \\(expected a regular file or a new path\\)`,
            ),
          );
          const after = Deno.lstatSync(`${dir}/${name}`);
          assert.equal(after.ino, before.ino);
          assert.equal(after.mode, before.mode);
        }
        assert.equal(Deno.readTextFileSync(`${dir}/dir/inside`), "kept\n");
        assert.deepEqual(
          [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
          targets.map(([n]) => n).sort(),
          "no temporary file left",
        );
      },
    );
    await t.step("a path below a regular file is refused", async () => {
      Deno.writeTextFileSync(`${dir}/plain`, "plain\n");
      assertInputError(
        await cliInProcess(...report, `${dir}/plain/report.md`),
        /cannot write ".*plain\/report\.md": ".*plain" is a regular file \(expected a directory\)/,
      );
    });
    await t.step("a symbolic link is written through, to the file it points to", async () => {
      Deno.writeTextFileSync(`${dir}/target.md`, "old\n");
      Deno.chmodSync(`${dir}/target.md`, 0o600);
      Deno.symlinkSync("target.md", `${dir}/link.md`);
      const r = await cliInProcess(...report, `${dir}/link.md`);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Deno.lstatSync(`${dir}/link.md`).isSymlink);
      assert.match(Deno.readTextFileSync(`${dir}/target.md`), /^# mmbisect regression report/);
      assert.equal(Deno.statSync(`${dir}/target.md`).mode! & 0o777, 0o600, "permissions kept");
    });
    await t.step("a write that fails part-way leaves the previous file intact", async () => {
      const out = `${dir}/cut.md`;
      Deno.writeTextFileSync(out, "previous\n");
      // The disk fills up after the first bytes of the temporary file.
      const write = Deno.FsFile.prototype.writeSync;
      Deno.FsFile.prototype.writeSync = function (p: Uint8Array) {
        write.call(this, p.subarray(0, 16));
        throw new Error("No space left on device (os error 28)");
      };
      let r: Result;
      try {
        r = await cliInProcess(...report, out);
      } finally {
        Deno.FsFile.prototype.writeSync = write;
      }
      assert.equal(r.code, 3, r.stderr);
      assertOneLine(r.stderr);
      assert.match(r.stderr, /^mmbisect: cannot write ".*cut\.md": No space left on device/);
      assert.equal(Deno.readTextFileSync(out), "previous\n");
      assert.ok(
        ![...Deno.readDirSync(dir)].some((e) => e.name.startsWith(".cut.md")),
        "the temporary file is removed",
      );
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main() turns a bad file into exit status 2 in a child process too", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const s = shipped("mremap-move");
    (s.steps as Steps)[0].len = 2 ** 32;
    Deno.writeTextFileSync(`${dir}/big.json`, JSON.stringify(s));
    assertInputError(
      await cli("run", `${dir}/big.json`, "emmu-v5"),
      /"steps\[0\]\.len" is 0x100000000/,
    );
    assertInputError(await cli("run", "/dev/zero", "emmu-v5"), /character device/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
