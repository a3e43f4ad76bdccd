import assert from "node:assert/strict";
import { cliInProcess as cli } from "./_cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The scenarios Robin Holt's do_wp_page guard changes: each loses the end made without a begin. */
const AFFECTED = [
  "wp-mkwrite-recheck-fails",
  "wp-mkwrite-shared",
  "wp-reuse-after-fork",
  "writeback-mkclean",
];

Deno.test("compare shows exactly the scenarios a user revision's one overridden key affects", async (t) => {
  const dir = Deno.makeTempDirSync();
  try {
    // A user's revision: emmu-v5 with only paths.do_wp_page replaced by Robin Holt's guard.
    const guard = JSON.parse(Deno.readTextFileSync(`${ROOT}patches/emmu-v5-holt-guard.json`));
    const file = `${dir}/my-guard.json`;
    Deno.writeTextFileSync(
      file,
      JSON.stringify({
        id: "my-guard",
        extends: "emmu-v5",
        title: "emmu-v5 with my do_wp_page guard",
        follows: "emmu-v5",
        candidate: true,
        source: "a user's own revision file",
        paths: { do_wp_page: guard.paths.do_wp_page },
      }),
    );
    const r = await cli("compare", "emmu-v5", file, "--json");
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);

    await t.step("one config key differs", () => {
      assert.equal(c.to, "my-guard");
      assert.deepEqual(c.keys, [{
        key: "paths.do_wp_page.callouts[unlock:invalidate_range_end]",
        from: "range=page atomic=0",
        to: "range=page atomic=0 if invalidate_started",
      }]);
    });
    await t.step("the scenarios it affects are fixes, naming that key", () => {
      const changed = c.scenarios.filter((s: { classes: string[] }) => s.classes[0] !== "same");
      assert.deepEqual(changed.map((s: { scenario: string }) => s.scenario), AFFECTED);
      for (const s of changed) {
        assert.deepEqual(s.classes, ["fix"], s.scenario);
        assert.deepEqual(s.added, [], s.scenario);
        assert.ok(s.removed.includes("unbalanced-range"), s.scenario);
        assert.deepEqual(s.relevant.map((k: { key: string }) => k.key), [
          "paths.do_wp_page.callouts[unlock:invalidate_range_end]",
        ]);
        assert.deepEqual(s.causes.map((k: { key: string }) => k.key), [
          "paths.do_wp_page.callouts[unlock:invalidate_range_end]",
        ]);
        assert.deepEqual(s.alsoDiffer, []);
      }
    });
    await t.step("every other scenario is the same", () => {
      const rest = c.scenarios.filter((s: { scenario: string }) => !AFFECTED.includes(s.scenario));
      assert.ok(rest.length > 0);
      for (const s of rest) assert.deepEqual(s.classes, ["same"], s.scenario);
    });
    await t.step(
      "as a CI gate against emmu-v5 it passes, and the text names the fixes",
      async () => {
        const gate = await cli("compare", "emmu-v5", file, "--baseline", "emmu-v5");
        assert.equal(gate.code, 0, gate.stderr);
        assert.match(
          gate.stdout,
          /^summary: \d+ scenarios = 0 regressions \+ 4 fixes \+ 0 both \+ 0 other changes \+ \d+ same; 0 regressed and 4 fixed in all$/m,
        );
        assert.match(gate.stdout, /^baseline emmu-v5: no regression in my-guard$/m);
        assert.match(gate.stdout, /^fixes \(4\):$/m);
        for (const id of AFFECTED) assert.match(gate.stdout, new RegExp(`^  ${id}: .* -> `, "m"));
      },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
