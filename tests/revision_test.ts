import assert from "node:assert/strict";
import {
  diffConfig,
  flattenConfig,
  InputError,
  loadRevisionDir,
  loadRevisionFiles,
  mergeConfig,
  parseRevision,
  type Revision,
} from "../mod.ts";

const revisions = loadRevisionDir("patches");
const byId = (id: string): Revision => revisions.find((r) => r.id === id)!;
const v5raw = JSON.parse(Deno.readTextFileSync("patches/emmu-v5.json"));

function rejects(raw: unknown, field: string) {
  assert.throws(
    () => parseRevision(raw, "patches/x.json", (id) => revisions.find((r) => r.id === id)),
    (e) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.field, field);
      return true;
    },
  );
}

Deno.test("loadRevisionDir() loads every lineage revision, candidate and the reference", () => {
  const ids = revisions.map((r) => r.id);
  for (
    const id of [
      "emmu-v1",
      "emmu-v2",
      "emmu-v3",
      "emmu-v4",
      "emmu-v5",
      "emmu-v5-holt-guard",
      "mainline-2.6.27",
    ]
  ) {
    assert.ok(ids.includes(id), id);
  }
});

Deno.test("loadRevisionDir() gives every revision and every callout its provenance", () => {
  for (const r of revisions) {
    assert.ok(r.source.length > 20, `${r.id}: source`);
    assert.ok(r.chain.cite.length > 20, `${r.id}: chain.cite`);
    assert.ok(r.postedAgainst.version.length > 0, `${r.id}: posted_against.version`);
    assert.ok(r.postedAgainst.cite.length > 20, `${r.id}: posted_against.cite`);
    const nl = r.resolved.nonlinear as Record<string, { cite: string }> | undefined;
    for (const [part, cfg] of Object.entries(nl ?? {})) {
      assert.match(
        cfg.cite,
        /(00[0-4]_|docs\/sources\.md|v2\.6\.2\d mm\/)/,
        `${r.id} nonlinear.${part}`,
      );
    }
    for (const [path, cfg] of Object.entries(r.paths)) {
      for (const c of cfg.callouts) {
        assert.match(
          c.cite,
          // or a kernel source by version, file and line (v4.9 mm/rmap.c:1583, v2.6.27 mm/mprotect.c:212)
          /(00[0-4]_|docs\/sources\.md|DESIGN\.md|reconstructed|MMU Notifiers|v\d+(\.\d+)+ mm\/\w+\.c:\d)/,
          `${r.id} ${path}:${c.at}`,
        );
      }
    }
  }
});

Deno.test("parseRevision() rejects a config key that is not part of the schema", async (t) => {
  await t.step(
    "a key naming a bug",
    () => rejects({ ...v5raw, hasEndWithoutBegin: true }, "hasEndWithoutBegin"),
  );
  await t.step(
    "an unknown kernel path",
    () =>
      rejects(
        { ...v5raw, paths: { ...v5raw.paths, do_magic: { callouts: [] } } },
        "paths.do_magic",
      ),
  );
  await t.step("an unknown hook point", () =>
    rejects({
      ...v5raw,
      paths: {
        do_wp_page: { callouts: [{ at: "somewhere", call: "invalidate_page", cite: "x" }] },
      },
    }, "paths.do_wp_page.callouts[0].at"));
  await t.step("a range the hook point does not have in scope", () =>
    rejects({
      ...v5raw,
      paths: {
        unmap_region: {
          callouts: [{
            at: "before_unmap_vmas",
            call: "invalidate_range_begin",
            range: "page",
            cite: "x",
          }],
        },
      },
    }, "paths.unmap_region.callouts[0].range"));
  await t.step(
    "an unknown chain variant",
    () => rejects({ ...v5raw, chain: { ...v5raw.chain, release: "never" } }, "chain.release"),
  );
});

Deno.test("parseRevision() resolves extends by merging over the base", () => {
  const user = parseRevision(
    { id: "my-v5", extends: "emmu-v5", chain: { list: "rwlock" } },
    "my.json",
    (id) => revisions.find((r) => r.id === id),
  );
  assert.equal(user.chain.list, "rwlock");
  assert.equal(user.chain.release, byId("emmu-v5").chain.release);
  assert.deepEqual(diffConfig(byId("emmu-v5"), user).map((c) => c.key), ["chain.list"]);
});

Deno.test("mergeConfig() merges objects, replaces arrays and deletes on null", () => {
  assert.deepEqual(mergeConfig({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2] }, d: null }), {
    a: { b: 1, c: [2] },
  });
});

Deno.test("diffConfig() names exactly the do_wp_page guard between emmu-v5 and Robin Holt's fix", () => {
  assert.deepEqual(diffConfig(byId("emmu-v5"), byId("emmu-v5-holt-guard")), [{
    key: "paths.do_wp_page.callouts[unlock:invalidate_range_end]",
    from: "range=page atomic=0",
    to: "range=page atomic=0 if invalidate_started",
  }]);
});

Deno.test("diffConfig() between emmu-v4 and emmu-v5 names the mremap and copy_page_range callouts", () => {
  const keys = diffConfig(byId("emmu-v4"), byId("emmu-v5")).map((c) => c.key);
  assert.ok(keys.includes("paths.copy_page_range.callouts[entry:invalidate_range_begin]"));
  assert.ok(keys.includes("paths.move_page_tables.callouts[entry:invalidate_range_begin]"));
  assert.ok(keys.includes("chain.register"));
});

Deno.test("flattenConfig() leaves provenance out of the behaviour keys", () => {
  for (const key of Object.keys(flattenConfig(byId("emmu-v5")))) {
    assert.doesNotMatch(key, /cite|source|evidence/);
  }
});

const f8raw = JSON.parse(Deno.readTextFileSync("patches/nl-2.5.42-f8.json"));

Deno.test("parseRevision() names the field of a bad 2.5.42 revision", async (t) => {
  const nl = f8raw.nonlinear;
  await t.step(
    "a notifier chain on 2.5.42",
    () => rejects({ ...f8raw, chain: v5raw.chain }, "chain"),
  );
  await t.step(
    "a nonlinear config on 2.6.24",
    () => rejects({ ...v5raw, nonlinear: nl }, "nonlinear"),
  );
  await t.step("a missing part", () => {
    const { shmem_populate: _s, ...rest } = nl;
    rejects({ ...f8raw, nonlinear: rest }, "nonlinear.shmem_populate");
  });
  await t.step(
    "an unknown behaviour",
    () =>
      rejects(
        {
          ...f8raw,
          nonlinear: { ...nl, filemap_populate: { ...nl.filemap_populate, no_page: "retry" } },
        },
        "nonlinear.filemap_populate.no_page",
      ),
  );
  await t.step(
    "an offset expression the model does not know",
    () =>
      rejects(
        {
          ...f8raw,
          nonlinear: {
            ...nl,
            default_prot: {
              set: "force-none-unless-offset-matches",
              offset: "start >> 12",
              cite: "c",
            },
          },
        },
        "nonlinear.default_prot.offset",
      ),
  );
  await t.step("a part without its citation", () => {
    const { cite: _c, ...args } = nl.remap_args;
    rejects({ ...f8raw, nonlinear: { ...nl, remap_args: args } }, "nonlinear.remap_args.cite");
  });
});

Deno.test("loadRevisionFiles() keeps a lineage on one kernel tree", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      `${dir}/a.json`,
      JSON.stringify({ ...f8raw, lineage: "emmu", id: "x-f8" }),
    );
    assert.throws(
      () => loadRevisionFiles(["patches/emmu-v1.json", `${dir}/a.json`]),
      (e) => e instanceof InputError && e.field === "base",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
