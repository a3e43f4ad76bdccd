import assert from "node:assert/strict";
import { scenarioFormat } from "../tools/scenario_format.ts";
import { CALLOUT_NAMES, HOOK_POINTS } from "../src/kernel/hooks.ts";
import { ALLOC_KINDS } from "../src/kernel/context.ts";
import { OPS } from "../src/run/scenario.ts";
import { loadRevisionDir, parseRevision } from "../src/run/revision.ts";

const text = scenarioFormat();

Deno.test("scenarioFormat() equals docs/scenario-format.md (deno run -A tools/scenario_format.ts)", () => {
  assert.equal(Deno.readTextFileSync("docs/scenario-format.md"), text);
});

Deno.test("scenarioFormat() has a section for every operation, fail kind and callout", () => {
  for (const op of Object.keys(OPS)) assert.ok(text.includes(`\n### \`${op}\`\n`), op);
  for (const k of ALLOC_KINDS) assert.ok(text.includes(`\n- \`${k}\`: `), k);
  for (const c of CALLOUT_NAMES) assert.ok(text.includes(`\n- \`${c}\`: a `), c);
});

Deno.test("scenarioFormat() gives every hook point an example the loader accepts there", () => {
  const revisions = loadRevisionDir("patches");
  const seen = new Set<string>();
  let path = "";
  for (const line of text.split("\n")) {
    const head = /^### `([^`]+)` \(2\.6\.24\)$/.exec(line);
    if (head) path = head[1];
    const ex = /^ {2}- example: `(.*)`$/.exec(line);
    if (!ex) continue;
    const callout = JSON.parse(ex[1]);
    const raw = { id: "x", extends: "emmu-v5", paths: { [path]: { callouts: [callout] } } };
    const r = parseRevision(raw, "x.json", (id) => revisions.find((x) => x.id === id));
    assert.equal(r.paths[path].callouts[0].at, callout.at);
    seen.add(`${path}:${callout.at}`);
  }
  for (const [p, points] of Object.entries(HOOK_POINTS)) {
    for (const point of Object.keys(points)) assert.ok(seen.has(`${p}:${point}`), `${p}:${point}`);
  }
});
