import assert from "node:assert/strict";
import { HOOK_POINTS, pathNames } from "../mod.ts";
import {
  isSite,
  parseSourceMap,
  renderSourceMap,
  SOURCE_MAP_FILE,
  SOURCES_FILE,
  spliceSection,
  TREES,
} from "../tools/source_map.ts";
import { mismatches } from "../tools/verify_source_map.ts";

const map = parseSourceMap(Deno.readTextFileSync(SOURCE_MAP_FILE));

/** Paths declared only by documentation examples (`deno test --doc` may load them here). */
const isExample = (name: string) => name.startsWith("doc.");

Deno.test("parseSourceMap() finds an entry for every path the model defines, and none more", () => {
  const defined = pathNames().filter((n) => !isExample(n));
  assert.ok(
    defined.includes("hugetlb_cow") && defined.includes("do_wp_page"),
    "mod.ts loads paths",
  );
  const missing = defined.filter((n) => !(n in map.paths));
  assert.deepEqual(missing, [], `add these defPath names to ${SOURCE_MAP_FILE}`);
  const stale = Object.keys(map.paths).filter((n) => !defined.includes(n));
  assert.deepEqual(stale, [], `no defPath has these names any more`);
});

Deno.test("parseSourceMap() finds an entry for every hook point of HOOK_POINTS, and none more", () => {
  const declared = Object.entries(HOOK_POINTS).flatMap(([p, pts]) =>
    Object.keys(pts).map((pt) => `${p} ${pt}`)
  );
  const mapped = Object.entries(map.hooks).flatMap(([p, pts]) =>
    Object.keys(pts).map((pt) => `${p} ${pt}`)
  );
  assert.deepEqual(declared.filter((h) => !mapped.includes(h)), [], "hook points with no entry");
  assert.deepEqual(mapped.filter((h) => !declared.includes(h)), [], "entries of no hook point");
});

Deno.test("parseSourceMap() reads sites of the trees it has with a line and the line's text", async (t) => {
  for (const tree of TREES) {
    await t.step(tree, () => {
      const info = map.trees[tree];
      const sites = [
        ...Object.values(map.paths).map((e) => e[tree]),
        ...Object.values(map.hooks).flatMap((pts) =>
          Object.values(pts).map((e) => (e as Record<string, unknown>)[tree])
        ),
      ].filter(isSite);
      if (!info.available) {
        assert.ok(info.why, `${tree} says why it is not available`);
        assert.ok(sites.every((s) => s.seed), `${tree}: only seed-based sites`);
        return;
      }
      assert.match(info.commit ?? "", /^[0-9a-f]{40}$/);
      for (const s of sites) {
        assert.ok(Number.isInteger(s.line) && s.line! > 0, `${tree} ${s.file} ${s.function}`);
        assert.ok(s.quote, `${tree} ${s.file}:${s.line} has its text`);
      }
    });
  }
});

Deno.test("mismatches() reads the sites of every tree it has, and none of a skipped tree", () => {
  const asked = new Set<string>();
  const unreadable = (tree: string) => {
    asked.add(tree);
    return null;
  };
  const v49 = Object.values(map.paths).map((e) => e["v4.9"]).filter(isSite).length +
    Object.values(map.hooks).flatMap((pts) => Object.values(pts).map((e) => e["v4.9"]))
      .filter(isSite).length;
  const skipped = mismatches(map, unreadable, ["v4.9"]);
  assert.ok(!asked.has("v4.9") && asked.has("v2.6.24") && asked.has("v2.6.27"));
  const all = mismatches(map, unreadable);
  assert.ok(asked.has("v4.9"));
  assert.ok(v49 > 0);
  assert.equal(all.length - skipped.length, v49, "one message per unreadable v4.9 site");
});

Deno.test("renderSourceMap() output is the generated section of docs/sources.md", () => {
  const sources = Deno.readTextFileSync(SOURCES_FILE);
  const section = renderSourceMap(map);
  assert.equal(
    spliceSection(sources, section),
    sources,
    "run: deno run --allow-read --allow-write tools/source_map.ts",
  );
});

Deno.test("spliceSection() replaces an earlier section and appends a first one", () => {
  const section = renderSourceMap(map);
  const once = spliceSection("# doc\n", section);
  assert.ok(once.startsWith("# doc\n\n") && once.endsWith(section));
  assert.equal(spliceSection(once, section), once);
});
