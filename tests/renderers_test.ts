/**
 * The renderers by snapshot: a small report model, checked in as
 * `tests/snapshots/model.json`, rendered in every format and compared with
 * the checked-in text. A renderer that drifts fails here; when the change
 * is meant, `MMBISECT_UPDATE_SNAPSHOTS=1` rewrites the snapshots (and the
 * model, from the fixture matrix below), and the diff is reviewed.
 *
 * The mail report is checked for its width, the TAP report parsed as TAP
 * 14 by a strict parser written here, the JUnit report parsed as XML.
 *
 * @module
 */
import assert from "node:assert/strict";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { analyse } from "../src/analysis/analyse.ts";
import type { ReportModel } from "../src/analysis/model.ts";
import type { ExpectationTable } from "../src/analysis/expect.ts";
import { renderMarkdown } from "../src/report/markdown.ts";
import { buildReport, reportJson } from "../src/report/json.ts";
import { buildHtmlData } from "../src/report/html.ts";
import { MAIL_WIDTH, renderMail, wrapText } from "../src/report/mail.ts";
import { renderTap } from "../src/report/tap.ts";
import { renderJunit } from "../src/report/junit.ts";
import { canonicalJson } from "../src/model/state.ts";
import { matrix, outcome, revision } from "./_fixtures.ts";
import type { Scenario } from "../mod.ts";

const DIR = new URL("./snapshots/", import.meta.url);
const UPDATE = Deno.env.get("MMBISECT_UPDATE_SNAPSHOTS") === "1";

/**
 * The fixture: lineage l with a -> b and the candidate b-fix on b, three
 * scenarios: s1's kinds swap from a to b, s2 regresses in b and b-fix fixes
 * it, s3 stays the same. The pins expect s2 to pass on b (a mismatch) and
 * leave s3 unpinned.
 */
function fixtureModel(): ReportModel {
  const m = matrix(
    [
      revision("a"),
      revision("b", { follows: "a" }),
      revision("b-fix", { follows: "b", candidate: true }),
    ],
    [
      outcome("a", ["stale-secondary"], { scenario: "s1" }),
      outcome("b", ["no-progress"], { scenario: "s1" }),
      outcome("b-fix", ["no-progress"], { scenario: "s1" }),
      outcome("a", [], { scenario: "s2" }),
      outcome("b", ["lost-write"], { scenario: "s2", paths: ["move_ptes"] }),
      outcome("b-fix", [], { scenario: "s2" }),
      outcome("a", [], { scenario: "s3" }),
      outcome("b", [], { scenario: "s3" }),
      outcome("b-fix", [], { scenario: "s3" }),
    ],
  );
  m.scenarios = m.scenarios.map((s) =>
    ({
      ...s,
      purpose: `what ${s.id} exercises`,
      exercises: ["move_ptes"],
      cite: "a seed",
      steps: [{ op: "mmap" }],
      secondaries: [],
      source: { id: s.id },
    }) as unknown as Scenario
  );
  const expect: ExpectationTable = {
    s1: {
      default: { kinds: ["no-progress"], cite: "seed 1, hunk @@ -1,2 +1,3 @@" },
      a: { kinds: ["stale-secondary"], cite: "seed 1, the changelog of a" },
    },
    s2: { default: { kinds: [], cite: "seed 2: b's mremap keeps the secondary coherent" } },
  };
  const model = analyse(m, { blame: false, baseline: "a", expect });
  // The causes a blame search would find (the fixture's revisions cannot run).
  const key = { key: "paths.move_ptes.callouts[entry:invalidate_range_begin]", from: "present" };
  for (const step of model.lineages[0].steps) {
    for (const c of step.scenarios.filter((x) => x.classes.includes("regression"))) {
      c.causes = [key];
      c.alternatives = [];
      c.alsoDiffer = [{ key: "chain.list", from: "rcu", to: "rwlock" }];
    }
  }
  return model;
}

function snapshot(name: string, text: string): void {
  const url = new URL(name, DIR);
  if (UPDATE) {
    Deno.mkdirSync(DIR, { recursive: true });
    Deno.writeTextFileSync(url, text);
  }
  assert.equal(text, Deno.readTextFileSync(url), `${name} drifted from its snapshot`);
}

function loadModel(): ReportModel {
  if (UPDATE) {
    Deno.mkdirSync(DIR, { recursive: true });
    Deno.writeTextFileSync(new URL("model.json", DIR), canonicalJson(fixtureModel()) + "\n");
  }
  return JSON.parse(Deno.readTextFileSync(new URL("model.json", DIR)));
}

const MODEL = loadModel();

Deno.test("renderMarkdown() renders the fixture model as its snapshot", () => {
  snapshot("report.md", renderMarkdown(MODEL));
});

Deno.test("buildReport() renders the fixture model as its snapshot", () => {
  snapshot("report.json", reportJson(buildReport(MODEL)));
});

Deno.test("buildHtmlData() renders the fixture model as its snapshot", () => {
  snapshot("html-data.json", JSON.stringify(buildHtmlData(MODEL), null, 2) + "\n");
});

Deno.test("renderMail() renders the fixture model as its snapshot, within 78 columns", () => {
  const text = renderMail(MODEL);
  snapshot("report.mail.txt", text);
  for (const line of text.split("\n")) assert.ok(line.length <= MAIL_WIDTH, line);
  assert.match(text, /^\[1\] s2 regressed in b$/m);
  assert.match(
    text,
    /^ {4}caused by: {5}paths\.move_ptes\.callouts\[entry:invalidate_range_begin\]:/m,
  );
  assert.match(text, /^ {4}reproduce: {5}deno task run s2 b$/m);
  assert.match(text, /^ {4}pinned: {8}b: pinned pass \(the run differs: kinds \[lost-write\] !=$/m);
});

Deno.test("wrapText() keeps every line within the width and every word", () => {
  const text = "caused by paths.do_wp_page.callouts[unlock:invalidate_range_end] and more words";
  const lines = wrapText(text, "    x: ", 30);
  for (const l of lines) assert.ok(l.length <= 30, l);
  assert.equal(lines.map((l) => l.slice(7)).join("").replace(/ /g, ""), text.replace(/ /g, ""));
});

Deno.test("wrapText() splits a long config key between its parts, not inside a name", () => {
  const key = "paths.populate_range.callouts[pte.after_zap:invalidate_page]:";
  const lines = wrapText(key, "    caused by:     ", 78);
  assert.deepEqual(lines, [
    "    caused by:     paths.populate_range.callouts[pte.after_zap:",
    "                   invalidate_page]:",
  ]);
});

/** A parsed TAP 14 document: its plan and test points. */
interface Tap {
  plan: number;
  points: { ok: boolean; id: number; description: string; directive?: string; yaml?: string[] }[];
}

/**
 * Parses TAP 14 strictly: the version line first, a plan `1..N` before the
 * test points, points numbered 1..N in order, a YAML block (two-space
 * indented, `---` to `...`) only right after a point, nothing else.
 */
function parseTap14(text: string): Tap {
  const lines = text.split("\n");
  assert.equal(lines.pop(), "", "the document ends with a newline");
  assert.equal(lines[0], "TAP version 14");
  const plan = /^1\.\.(\d+)$/.exec(lines[1] ?? "");
  assert.ok(plan, `a plan on line 2, got ${lines[1]}`);
  const out: Tap = { plan: Number(plan[1]), points: [] };
  for (let i = 2; i < lines.length; i++) {
    const p = /^(not ok|ok) (\d+) - ((?:[^#\\]|\\[#\\])*?)(?: # (SKIP|TODO)(?: (.*))?)?$/.exec(
      lines[i],
    );
    assert.ok(p, `line ${i + 1} is a test point: ${lines[i]}`);
    const point: Tap["points"][number] = {
      ok: p[1] === "ok",
      id: Number(p[2]),
      description: p[3],
    };
    if (p[4]) point.directive = p[4];
    assert.equal(point.id, out.points.length + 1, `line ${i + 1}: points numbered in order`);
    if (lines[i + 1] === "  ---") {
      const yaml: string[] = [];
      for (i += 2; lines[i] !== "  ..."; i++) {
        assert.ok(i < lines.length, "a YAML block ends with '  ...'");
        assert.match(lines[i], /^ {2}[a-z]+: \S/, `line ${i + 1}: a YAML mapping entry`);
        // Each value is a JSON scalar or array, which YAML reads alike.
        JSON.parse(lines[i].replace(/^ {2}[a-z]+: /, "").replace(/^([a-z]+)$/, '"$1"'));
        yaml.push(lines[i].trim());
      }
      point.yaml = yaml;
    }
    out.points.push(point);
  }
  assert.equal(out.points.length, out.plan, "as many points as planned");
  return out;
}

Deno.test("renderTap() renders the fixture model as its snapshot, and it parses as TAP 14", () => {
  const text = renderTap(MODEL);
  snapshot("report.tap", text);
  const tap = parseTap14(text);
  // 3 scenarios x 3 revisions; s2 on b is pinned pass but fails; s3 is not pinned.
  assert.equal(tap.plan, 9);
  const notOk = tap.points.filter((p) => !p.ok);
  assert.deepEqual(notOk.map((p) => p.description), ["s2 on b"]);
  assert.ok(notOk[0].yaml!.some((l) => l.startsWith('cite: "seed 2')));
  assert.equal(tap.points.filter((p) => p.directive === "SKIP").length, 3);
});

Deno.test("parseTap14() refuses what TAP 14 does not allow", () => {
  assert.throws(() => parseTap14("TAP version 13\n1..0\n"));
  assert.throws(() => parseTap14("TAP version 14\n1..2\nok 1 - a\n"));
  assert.throws(() => parseTap14("TAP version 14\n1..1\nok 2 - a\n"));
  assert.throws(() => parseTap14("TAP version 14\n1..1\nok 1 - a\n  ---\n  x: 1\n"));
  assert.throws(() => parseTap14("TAP version 14\n1..1\nok 1 - a # b\n"));
});

Deno.test("renderJunit() renders the fixture model as its snapshot, and it parses as XML with the counts", () => {
  const text = renderJunit(MODEL);
  snapshot("report.junit.xml", text);
  assert.equal(XMLValidator.validate(text), true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(text);
  const all = doc.testsuites;
  assert.deepEqual([all.tests, all.failures, all.skipped], ["9", "1", "3"]);
  const cases = [all.testsuite.testcase].flat();
  assert.equal(cases.length, 9);
  const failed = cases.filter((c: { failure?: unknown }) => c.failure);
  assert.deepEqual(failed.map((c: { classname: string; name: string }) => [c.classname, c.name]), [
    ["l.b", "s2"],
  ]);
  assert.equal(XMLValidator.validate(text.replace("</testsuites>", "")) === true, false);
});

/** The files a module imports at run time (not `import type`), resolved, relative ones only. */
function runtimeImports(file: string): string[] {
  const text = Deno.readTextFileSync(file);
  const out: string[] = [];
  const re =
    /^(?:import|export)\s+(type\s+)?(?:(\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+)\s+from\s+)?"([^"]+)";/gm;
  for (const m of text.matchAll(re)) {
    if (m[1] || !m[3].startsWith(".")) continue;
    const names = m[2]?.startsWith("{") ? m[2].slice(1, -1).split(",").map((s) => s.trim()) : [];
    if (names.length && names.filter(Boolean).every((n) => n.startsWith("type "))) continue;
    out.push(new URL(m[3], `file://${Deno.cwd()}/${file}`).pathname.slice(Deno.cwd().length + 1));
  }
  return out;
}

/** Every file reached from `file` through run-time imports. */
function reached(file: string, seen = new Set<string>()): Set<string> {
  for (const f of runtimeImports(file)) {
    if (!seen.has(f)) {
      seen.add(f);
      reached(f, seen);
    }
  }
  return seen;
}

Deno.test("runtimeImports() tells run-time imports from type imports", () => {
  // diff.ts runs the matrix; json.ts only names its types.
  assert.ok(runtimeImports("src/report/diff.ts").includes("src/run/matrix.ts"));
  assert.ok(!runtimeImports("src/report/json.ts").includes("src/report/diff.ts"));
});

Deno.test("renderMarkdown(), buildReport(), renderHtml(), renderMail(), renderTap() and renderJunit() reach no runner and no analysis", () => {
  const forbidden = [
    /^src\/(run|explore|jobs|kernel|check|notifier|secondary)\//,
    /^src\/report\/(diff|blame|_hybrid|bisect|explain)\.ts$/,
    /^src\/analysis\/(analyse|comparison|plan)\.ts$/,
  ];
  for (const name of ["markdown", "json", "html", "mail", "tap", "junit"]) {
    const bad = [...reached(`src/report/${name}.ts`)].filter((f) =>
      forbidden.some((re) => re.test(f))
    );
    assert.deepEqual(bad, [], `src/report/${name}.ts`);
  }
});
