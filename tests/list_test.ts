import assert from "node:assert/strict";
import "../mod.ts";
import { assertInputError, cliInProcess } from "./_cli.ts";
import { HOOK_POINTS } from "../src/kernel/hooks.ts";
import {
  listHookPoints,
  listLabels,
  listRevisions,
  listScenarios,
  readSourceMapHooks,
} from "../src/cli/list.ts";
import { loadRevisionDir } from "../src/run/revision.ts";
import { loadScenarioDir, type Step } from "../src/run/scenario.ts";

const scenarios = loadScenarioDir("scenarios");
const revisions = loadRevisionDir("patches");
const inputs = { scenarios, revisions, timeout: 60 };

Deno.test("listScenarios() filters by path exercised, kind seen and lineage", async (t) => {
  await t.step("--path", () => {
    const ids = listScenarios(inputs, { path: "do_wp_page" }).map((r) => r.id);
    assert.ok(ids.includes("wp-reuse-after-fork"));
    assert.ok(!ids.includes("munmap"));
  });
  await t.step("--kind with --lineage: the revisions where the kind is seen", () => {
    const rows = listScenarios(inputs, { kind: "unbalanced-range", lineage: "emmu" });
    const tc = rows.find((r) => r.id === "truncate-contended")!;
    // README: V5 regresses truncate-contended against V4.
    assert.ok(tc.seenOn!.includes("emmu-v5"));
    assert.ok(!tc.seenOn!.includes("emmu-v4"));
    assert.ok(!rows.some((r) => r.id === "munmap"));
    assert.ok(rows.every((r) => r.seenOn!.every((id) => id.startsWith("emmu-"))));
  });
  await t.step("--lineage: scenarios of its kernel tree", () => {
    const rows = listScenarios(inputs, { lineage: "nonlinear" });
    assert.ok(rows.length > 0 && rows.every((r) => r.kernel === "2.5.42"));
  });
  await t.step("a filter naming nothing", () => {
    assert.throws(() => listScenarios(inputs, { path: "do_wp_pag" }), RangeError);
    assert.throws(() => listScenarios(inputs, { kind: "stale" }), RangeError);
  });
});

Deno.test("listRevisions() lists candidates with their parent", () => {
  const holt = listRevisions(revisions).find((r) => r.id === "emmu-v5-holt-guard")!;
  assert.equal(holt.candidate, true);
  assert.equal(holt.follows, "emmu-v5");
});

Deno.test("listHookPoints() lists every hook point with its v2.6.24 site", () => {
  const rows = listHookPoints(readSourceMapHooks());
  const n = Object.values(HOOK_POINTS).reduce((a, p) => a + Object.keys(p).length, 0);
  assert.equal(rows.length, n);
  const p = rows.find((r) => r.path === "do_wp_page" && r.point === "copy.after_cow_user_page")!;
  assert.equal(p.sites["v2.6.24"], "mm/memory.c:1632 do_wp_page");
  assert.deepEqual(p.ranges, ["page", "page_minus_one"]);
});

Deno.test("listLabels() holds every during.at the shipped scenarios name", () => {
  const labels = new Set(listLabels(inputs).map((r) => r.label));
  const at: string[] = [];
  const visit = (s: Step) => {
    if (s.during) at.push(s.during.at);
    for (const th of Object.values(s.threads ?? {})) th.forEach(visit);
  };
  for (const s of scenarios) s.steps.forEach(visit);
  assert.ok(at.length > 0);
  for (const a of at) assert.ok(labels.has(a), a);
  assert.ok(labels.has("do_wp_page:copy.unlocked"));
});

Deno.test("main() list prints text and JSON, with user files, and refuses what it cannot list", async (t) => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.copyFileSync("scenarios/munmap.json", `${dir}/my-munmap.json`);
    await t.step("--scenario adds a user scenario", async () => {
      const r = await cliInProcess(
        "list",
        "scenarios",
        "--path",
        "unmap_region",
        "--json",
        "--scenario",
        `${dir}/my-munmap.json`,
      );
      assert.equal(r.code, 0, r.stderr);
      const ids = JSON.parse(r.stdout).rows.map((x: { id: string }) => x.id);
      assert.ok(ids.includes("my-munmap") && ids.includes("munmap"));
    });
    await t.step("text", async () => {
      const r = await cliInProcess("list", "revisions");
      assert.match(r.stdout, /^emmu-v5-holt-guard\*\s+emmu\s+2\.6\.24\s+emmu-v5\s/m);
    });
    await t.step("an unknown topic", async () => {
      assertInputError(await cliInProcess("list", "things"), /"list" lists scenarios,/);
    });
    await t.step("a filter of another topic", async () => {
      assertInputError(
        await cliInProcess("list", "revisions", "--kind", "errno"),
        /"--kind" filters "list scenarios" only/,
      );
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main() says why a file of the other format does not load", async (t) => {
  const dir = Deno.makeTempDirSync();
  try {
    await t.step("a revision folder as --scenarios", async () => {
      assertInputError(
        await cliInProcess("list", "scenarios", "--scenarios", "patches"),
        /^mmbisect: Cannot load "patches\/emmu-v1\.json": file looks like a revision file \(it has "paths"\/"lineage"\/"chain"\): use --patches or --revision$/m,
      );
    });
    await t.step("a scenario as --revision", async () => {
      assertInputError(
        await cliInProcess("list", "revisions", "--revision", "scenarios/munmap.json"),
        /file looks like a scenario file \(it has "steps"\/"secondaries"\/"exercises"\): use --scenarios or --scenario$/m,
      );
    });
    await t.step("a --scenario whose id is taken", async () => {
      Deno.copyFileSync("scenarios/munmap.json", `${dir}/munmap.json`);
      assertInputError(
        await cliInProcess("list", "scenarios", "--scenario", `${dir}/munmap.json`),
        /name gives the scenario id "munmap", already used by .*scenarios\/munmap\.json/,
      );
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
