import assert from "node:assert/strict";
import { analyse } from "../src/analysis/analyse.ts";
import {
  loadRevisionDir,
  loadScenarioDir,
  parseRevision,
  parseScenario,
  type Revision,
  runMatrix,
} from "../mod.ts";
import {
  buildHtmlData,
  escapeHtml,
  renderHtml,
  scriptJson,
  STATUS_SYMBOLS,
} from "../src/report/html.ts";
import { renderMarkdown } from "../src/report/markdown.ts";
import { HTML_SCRIPT } from "../src/report/_html_assets.ts";
import { type Browser, launch } from "./_cdp.ts";
import { V8_FLAGS } from "./_cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CLI = `${ROOT}cli.ts`;
const SHIPPED = loadRevisionDir(`${ROOT}patches`);
const REUSE = JSON.parse(Deno.readTextFileSync(`${ROOT}scenarios/wp-reuse-after-fork.json`));

/** Markup that would run if a report inserted it as HTML. */
const EVIL_ID = "<img src=x onerror=window.__pwned=1>";
const EVIL_PURPOSE = "<script>window.__pwned=2</script> purpose";
const EVIL_TITLE = '<script>window.__pwned=3</script><img src=x onerror="window.__pwned=4">';
const EVIL_LINEAGE = "<svg onload=window.__pwned=5>";

function evilRevisions(): Revision[] {
  const lookup = (id: string) => SHIPPED.find((r) => r.id === id);
  const cand = parseRevision(
    {
      id: "evil-title",
      extends: "emmu-v5",
      title: EVIL_TITLE,
      follows: "emmu-v5",
      candidate: true,
    },
    "evil-title.json",
    lookup,
  );
  const lone = parseRevision(
    { id: "evil-lineage", extends: "mainline-2.6.27", lineage: EVIL_LINEAGE, title: "lone" },
    "evil-lineage.json",
    lookup,
  );
  return [cand, lone];
}

/** A page without the text of its script and style elements: the markup only. */
function markupOf(html: string): string {
  return html.replace(/(<script\b[^>]*>).*?(<\/script>)/gs, "$1$2")
    .replace(/(<style>).*?(<\/style>)/gs, "$1$2");
}

/** The names of the attributes of every tag (values are double-quoted and escaped). */
function attributes(markup: string): string[] {
  const names: string[] = [];
  for (const tag of markup.matchAll(/<[a-zA-Z][a-zA-Z0-9]*([^>]*)>/g)) {
    const rest = tag[1].replace(/="[^"]*"/g, "");
    names.push(...rest.split(/\s+/).filter((n) => n !== ""));
  }
  return names;
}

/** The inline script elements of a page, as written. */
function scriptTags(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
}

Deno.test("escapeHtml() and scriptJson() keep data from becoming markup", async (t) => {
  await t.step("escapeHtml() escapes the five HTML metacharacters", () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });
  await t.step("scriptJson() leaves no <, > or & and parses back to the value", () => {
    const value = { id: "</script><script>alert(1)</script><!--", sep: "a\u2028b\u2029c&d" };
    const text = scriptJson(value);
    assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
    assert.deepEqual(JSON.parse(text), value);
  });
});

Deno.test("renderHtml() shows markup in scenario and revision names as text", () => {
  const evil = parseScenario({ ...REUSE, purpose: EVIL_PURPOSE }, `${EVIL_ID}.json`, EVIL_ID);
  const plain = parseScenario(REUSE, "wp-reuse-after-fork.json", "wp-reuse-after-fork");
  const revisions = [...SHIPPED.filter((r) => r.lineage === "emmu"), ...evilRevisions()];
  const m = runMatrix([evil, plain], revisions);
  const html = renderHtml(analyse(m, { lineages: ["emmu", EVIL_LINEAGE] }));
  // The escaped text is there, where a reader sees it.
  assert.ok(html.includes(`>${escapeHtml(EVIL_ID)}</th>`), "scenario id as row header text");
  assert.ok(html.includes(`title="${escapeHtml(EVIL_PURPOSE)}"`), "purpose as an attribute value");
  assert.ok(html.includes(escapeHtml(EVIL_TITLE)), "revision title as an attribute value");
  assert.ok(html.includes(`<h2>Lineage ${escapeHtml(EVIL_LINEAGE)}</h2>`), "lineage as text");
  // No live tag: every tag in the page is the page's own.
  assert.doesNotMatch(html, /<img\b/i);
  assert.doesNotMatch(html, /<svg\b/i, "the sequence diagram is built by the script, not written");
  const handlers = attributes(markupOf(html)).filter((a) => /^on/i.test(a));
  assert.deepEqual(handlers, [], "no element with an event handler");
  assert.deepEqual(scriptTags(html), [
    '<script type="application/json" id="mmbisect-data">',
    "<script>",
  ]);
  assert.equal(html.split("</script>").length - 1, 2);
  // The data block holds the raw strings, JSON-escaped so that no < appears.
  const block =
    /<script type="application\/json" id="mmbisect-data">(.*?)<\/script>/s.exec(html)![1];
  assert.doesNotMatch(block, /</);
  const data = JSON.parse(block);
  assert.equal(data.scenarios[EVIL_ID].purpose, EVIL_PURPOSE);
  assert.equal(data.revisions["evil-title"].title, EVIL_TITLE);
  assert.ok(data.cells.some((c: { scenario: string }) => c.scenario === EVIL_ID));
  // The script is the page's own, allowed by its hash in the Content-Security-Policy.
  assert.ok(html.includes(`<script>${HTML_SCRIPT}</script>`));
  assert.match(html, /script-src 'sha256-[A-Za-z0-9+/]+=*'/);
  assert.match(html, /default-src 'none'/);
});

Deno.test("renderHtml() writes the matrix with symbols and the same bytes for the same input", () => {
  const m = runMatrix(loadScenarioDir(`${ROOT}scenarios`), SHIPPED);
  const html = renderHtml(analyse(m, { lineages: ["emmu"] }));
  assert.equal(html, renderHtml(analyse(m, { lineages: ["emmu"] })));
  // Nothing to fetch: no src attribute, links within the page only, no CSS import or url().
  const markup = markupOf(html);
  assert.doesNotMatch(markup, /\ssrc\s*=/i);
  assert.deepEqual(
    [...markup.matchAll(/\shref="([^"]*)"/g)].filter((x) => !x[1].startsWith("#")),
    [],
  );
  assert.doesNotMatch(html, /@import|url\(\s*['"]?(https?:|\/\/)/i);
  const emmu = displayed(m.revisions, "emmu");
  assert.equal(
    (html.match(/<button type="button" class="cell /g) ?? []).length,
    m.scenarios.filter((s) => s.kernel === "2.6.24").length * emmu,
  );
  for (const s of ["pass", "fail"] as const) {
    assert.ok(html.includes(`>${STATUS_SYMBOLS[s]} `), `symbol of ${s}`);
  }
  // The cells read without colour: a symbol, then the verdict in words.
  assert.match(html, />✗ no-progress,<wbr>unbalanced-range( ▲)?<\/button>/);
  assert.match(html, />✓ pass( ▼)?<\/button>/);
});

function displayed(revisions: Revision[], lineage: string): number {
  return revisions.filter((r) => r.lineage === lineage).length;
}

Deno.test("buildHtmlData() diffs each cell against its neighbour along the lineage", () => {
  const scenarios = loadScenarioDir(`${ROOT}scenarios`).filter((s) =>
    ["mremap-move", "wp-reuse-after-fork"].includes(s.id)
  );
  const m = runMatrix(scenarios, SHIPPED.filter((r) => r.lineage === "emmu"));
  const data = buildHtmlData(analyse(m, { lineages: ["emmu"] }));
  const cell = (s: string, r: string) =>
    data.cells.find((c) => c.scenario === s && c.revision === r)!;
  const v5 = cell("mremap-move", "emmu-v5");
  assert.equal(v5.neighbour?.revision, "emmu-v4");
  assert.equal(v5.neighbour?.relation, "previous");
  assert.deepEqual(v5.neighbour?.classes, ["fix"]);
  assert.deepEqual(v5.neighbour?.removed, ["lost-write"]);
  assert.equal(data.cells[v5.neighbour!.cell].revision, "emmu-v4");
  // V5's move_page_tables callouts are new: they show as added lines.
  const added = v5.diff.filter(([op]) => op === "added").map(([, i]) => v5.trace[i].path);
  assert.ok(added.includes("move_page_tables"), JSON.stringify(v5.diff));
  assert.equal(cell("wp-reuse-after-fork", "emmu-v5-holt-guard").neighbour?.relation, "parent");
  const root = cell("mremap-move", "emmu-v1").neighbour!;
  assert.equal(root.relation, "next");
  assert.equal(root.from, "emmu-v1");
  assert.equal(root.to, "emmu-v2");
  for (const c of data.cells) {
    assert.match(c.hashes.scenario, /^[0-9a-f]{16}$/);
    assert.match(c.hashes.revision, /^[0-9a-f]{16}$/);
  }
});

/** The "caused by" keys of each change a report lists, by `scenario to from`. */
function causesOf(entries: Iterable<[string, string, string, string[]]>): Map<string, string[]> {
  return new Map([...entries].map(([s, to, from, keys]) => [`${s} ${to} ${from}`, keys]));
}

Deno.test("renderHtml() names the keys that cause each verdict change, as the Markdown report does", () => {
  const scenarios = loadScenarioDir(`${ROOT}scenarios`);
  const m = runMatrix(scenarios, SHIPPED.filter((r) => r.lineage === "emmu"));
  const model = analyse(m, { lineages: ["emmu"] });
  const html = renderHtml(model).replaceAll("<wbr>", "");
  const md = renderMarkdown(model);
  const unescape = (t: string) =>
    t.replace(
      /&(lt|gt|amp|quot|#39);/g,
      (_, x) => ({ lt: "<", gt: ">", amp: "&", quot: '"' })[x as "lt"] ?? "'",
    );
  const inHtml = causesOf(
    [...html.matchAll(
      /<button type="button" class="link"[^>]*>[\u25b2\u25bc] ([^:]+): [a-z ]+ in (\S+) \(after (\S+)\):[^<]*<\/button><ul class="causes"><li>caused by \([^)]*\):<ul class="keys">(.*?)<\/ul>/g,
    )].map((
      x,
    ) => [x[1], x[2], x[3], [...x[4].matchAll(/<code>(.*?)<\/code>/g)].map((k) => unescape(k[1]))]),
  );
  const inMd = causesOf(
    [...md.matchAll(
      /^#### ([^:\n]+): [a-z ]+ in (\S+) \(after (\S+)\)\n(?:(?!#### )[^\n]*\n)*?- caused by \([^)]*\):\n((?: {2}- `.*`\n)+)/gm,
    )]
      .map((x) => [x[1], x[2], x[3], [...x[4].matchAll(/^ {2}- `(.*)`$/gm)].map((k) => k[1])]),
  );
  assert.ok(inMd.size >= 10, `${inMd.size} changes with causes in the Markdown report`);
  for (const [change, keys] of inMd) assert.deepEqual(inHtml.get(change), keys, change);
  // 000_485f2de10ae1e46b.txt, V5 patch 2/4, memory.c @@ -601: the begin callout V5 adds to
  // copy_page_range; its end (@@ -611) comes after the loop, which ENOMEM leaves by a return.
  assert.deepEqual(inHtml.get("fork-enomem emmu-v5 emmu-v4"), [
    "paths.copy_page_range.callouts[entry:invalidate_range_begin]: (absent) -> range=vma atomic=0 if is_cow_mapping",
  ]);
  // The cell's details panel reads the same keys from the data block, for every verdict change.
  const data = buildHtmlData(model);
  let panels = 0;
  for (const c of data.cells) {
    const n = c.neighbour;
    if (!n?.causes || n.relation === "next") continue;
    const shown = n.causes.map((k) => `${k.key}: ${k.from ?? "(absent)"} -> ${k.to ?? "(absent)"}`);
    assert.deepEqual(shown, inMd.get(`${c.scenario} ${n.to} ${n.from}`), c.scenario);
    panels++;
  }
  assert.equal(panels, inMd.size, "every change with causes has them in its cell's data");
});

/** Runs cli.ts in a child process. */
async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", V8_FLAGS, CLI, ...args],
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Clicks an element the way a user does: mouse down and up at its centre. */
async function click(b: Browser, selector: string): Promise<void> {
  const box = await b.evaluate<{ x: number; y: number } | null>(`(() => {
    const e = document.querySelector(${JSON.stringify(selector)});
    if (!e) return null;
    e.scrollIntoView({ block: "center", inline: "center" });
    const r = e.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  })()`);
  assert.ok(box, `no element matches ${selector}`);
  for (const type of ["mousePressed", "mouseReleased"]) {
    await b.send("Input.dispatchMouseEvent", { type, ...box, button: "left", clickCount: 1 });
  }
}

/** The selector of the matrix button of one cell. */
function cellButton(b: Browser, scenario: string, revision: string): Promise<string> {
  return b.evaluate<string>(`(() => {
    const data = JSON.parse(document.getElementById("mmbisect-data").textContent);
    const i = data.cells.findIndex((c) => c.scenario === ${JSON.stringify(scenario)} &&
      c.revision === ${JSON.stringify(revision)});
    return 'button.cell[data-cell="' + i + '"]';
  })()`);
}

/** The width and height of a PNG image, from its IHDR chunk, after checking its signature. */
function pngSize(png: Uint8Array): [number, number] {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [v.getUint32(16), v.getUint32(20)];
}

/** What {@link GLYPH_CHECK} finds. */
interface GlyphCheck {
  /** Each character beyond ASCII on the page, with the font it is set in. */
  chars: { ch: string; font: string; missing: boolean }[];
  /** The check on known characters: an unassigned code point, and a letter. */
  probe: { unassigned: boolean; letter: boolean };
}

/**
 * Finds the characters beyond ASCII in the page's text (not in its script or
 * style) and draws each, in the font of the element holding it, on a canvas:
 * a character whose pixels equal those of an unassigned code point (U+0378)
 * is drawn as the missing glyph.
 */
const GLYPH_CHECK = `(() => {
  const canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 64;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (font, ch) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = font;
    ctx.textBaseline = "middle";
    ctx.fillText(ch, 8, 32);
    return ctx.getImageData(0, 0, 64, 64).data.join(",");
  };
  const missing = (font, ch) => draw(font, ch) === draw(font, "\\u0378");
  const fontOf = (el) => {
    const s = getComputedStyle(el);
    return s.fontStyle + " " + s.fontWeight + " 40px " + s.fontFamily;
  };
  const used = new Map();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (n.parentElement.closest("script, style")) continue;
    for (const ch of n.data) {
      if (ch.codePointAt(0) < 0x7f || /\\s/.test(ch)) continue;
      const font = fontOf(n.parentElement);
      used.set(ch + "\\n" + font, { ch, font });
    }
  }
  const body = fontOf(document.body);
  return {
    chars: [...used.values()].map((c) => ({ ...c, missing: missing(c.font, c.ch) })),
    probe: { unassigned: missing(body, "\\u0379"), letter: missing(body, "A") },
  };
})()`;

/** Where the revision columns of one lineage's matrix are. */
interface LineageLayout {
  lineage: string;
  left: number;
  right: number;
  scrollWidth: number;
  clientWidth: number;
  heads: { text: string; left: number; right: number; width: number }[];
  /** Cell buttons whose text is wider than the button. */
  clipped: number;
}

/** The layout of every lineage's matrix, each scrolled to its left edge. */
const LAYOUT = `[...document.querySelectorAll("section.lineage")].map((sec) => {
  const box = sec.querySelector(".scroll");
  box.scrollLeft = 0;
  const b = box.getBoundingClientRect();
  return {
    lineage: sec.id.replace(/^lineage-/, ""),
    left: b.left + box.clientLeft,
    right: b.left + box.clientLeft + box.clientWidth,
    scrollWidth: box.scrollWidth,
    clientWidth: box.clientWidth,
    heads: [...box.querySelectorAll("thead th[data-col]")].map((th) => {
      const r = th.getBoundingClientRect();
      return { text: th.textContent, left: r.left, right: r.right, width: r.width };
    }),
    clipped: [...box.querySelectorAll("button.cell")]
      .filter((x) => x.scrollWidth > x.clientWidth + 1).length,
  };
})`;

/** Where the header row and a scenario cell are after a matrix scrolls to its end. */
interface StickyCheck {
  scrolled: number;
  boxTop: number;
  boxLeft: number;
  boxRight: number;
  headTop: number;
  headBottom: number;
  firstRowTop: number;
  rowHeadLeft: number;
  lastHeadRight: number;
  headOnTop: boolean;
  rowHeadOnTop: boolean;
}

/**
 * Brings a lineage's matrix to the top of the window, scrolls it to its
 * bottom or right end, and reports where its header row and the scenario
 * cell of a row in the middle of the box are, and whether each is what the
 * window shows at its centre (not covered by the cells scrolled under it).
 */
function stickyCheck(section: string, way: "down" | "right"): string {
  return `(() => {
    const box = document.querySelector(${JSON.stringify(section)} + " .scroll");
    box.scrollTop = 0;
    box.scrollLeft = 0;
    box.scrollIntoView({ block: "start" });
    if (${JSON.stringify(way)} === "down") box.scrollTop = box.scrollHeight;
    else box.scrollLeft = box.scrollWidth;
    const b = box.getBoundingClientRect();
    const head = box.querySelector("thead th").getBoundingClientRect();
    const mid = b.top + b.height / 2;
    const row = [...box.querySelectorAll("tbody tr")].find((tr) => {
      const r = tr.getBoundingClientRect();
      return r.top <= mid && r.bottom >= mid;
    });
    const th = row.querySelector("th").getBoundingClientRect();
    const col = box.querySelector("thead th[data-col]");
    const c = col.getBoundingClientRect();
    const drawn = (el, r) => el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
    const heads = box.querySelectorAll("thead th");
    return {
      scrolled: box.scrollTop + box.scrollLeft,
      boxTop: b.top, boxLeft: b.left, boxRight: b.left + box.clientLeft + box.clientWidth,
      headTop: head.top, headBottom: head.bottom,
      firstRowTop: box.querySelector("tbody tr").getBoundingClientRect().top,
      rowHeadLeft: th.left,
      lastHeadRight: heads[heads.length - 1].getBoundingClientRect().right,
      headOnTop: drawn(heads[0], heads[0].getBoundingClientRect()) &&
        (${JSON.stringify(way)} === "right" || drawn(col, c)),
      rowHeadOnTop: drawn(row.querySelector("th"), th),
    };
  })()`;
}

Deno.test("renderHtml() in headless Chromium at 1400 px: sticky headers, every revision in view, filters, glyphs, drill-down, no network", async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "mmbisect-html-" });
  let browser: Browser | undefined;
  try {
    // The shipped scenarios plus one whose id and purpose are markup, and a
    // candidate revision whose title is markup.
    Deno.mkdirSync(`${dir}/scenarios`);
    for (const e of Deno.readDirSync(`${ROOT}scenarios`)) {
      if (e.name.endsWith(".json")) {
        Deno.copyFileSync(`${ROOT}scenarios/${e.name}`, `${dir}/scenarios/${e.name}`);
      }
    }
    Deno.writeTextFileSync(
      `${dir}/scenarios/${EVIL_ID}.json`,
      JSON.stringify({ ...REUSE, purpose: EVIL_PURPOSE }),
    );
    Deno.writeTextFileSync(
      `${dir}/evil.json`,
      JSON.stringify({
        id: "evil-title",
        extends: "emmu-v5",
        title: EVIL_TITLE,
        follows: "emmu-v5",
        candidate: true,
      }),
    );
    const page = `${dir}/report.html`;
    const r = await cli(
      "report",
      "--format",
      "html",
      "--no-races",
      "--quiet",
      "--scenarios",
      `${dir}/scenarios`,
      "--revision",
      `${dir}/evil.json`,
      "--out",
      page,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");

    browser = await launch({ width: 1400, height: 900 });
    const b = browser;
    await b.send("Network.enable");
    await b.send("Page.enable");
    await b.send("Runtime.enable");
    await b.send("Log.enable");
    await b.send("Emulation.setDeviceMetricsOverride", {
      width: 1400,
      height: 900,
      deviceScaleFactor: 1,
      mobile: false,
    });
    const loaded = b.next("Page.loadEventFired");
    await b.send("Page.navigate", { url: `file://${page}` });
    await loaded;

    await t.step("the matrix is rendered and the script ran", async () => {
      assert.equal(await b.evaluate("document.documentElement.dataset.ready"), "1");
      const scenarios = loadScenarioDir(`${dir}/scenarios`)
        .filter((s) => s.kernel === "2.6.24").length;
      const columns = SHIPPED.filter((x) => x.lineage === "emmu").length + 1;
      assert.equal(
        await b.evaluate("document.querySelectorAll('#lineage-emmu button.cell').length"),
        scenarios * columns,
      );
      const sel = await cellButton(b, "wp-reuse-after-fork", "emmu-v5");
      const text = await b.evaluate<string>(`document.querySelector('${sel}').textContent`);
      assert.match(text, /^✗ no-progress,unbalanced-range/);
      const visible = await b.evaluate<boolean>(
        `(() => { const r = document.querySelector('${sel}').getBoundingClientRect(); return r.width > 0 && r.height > 0; })()`,
      );
      assert.ok(visible);
    });

    await t.step("a click on a cell opens its drill-down", async () => {
      assert.equal(await b.evaluate("document.getElementById('detail').hidden"), true);
      await click(b, await cellButton(b, "wp-reuse-after-fork", "emmu-v5"));
      const detail = await b.evaluate<{
        hidden: boolean;
        text: string;
        arrows: number;
        trace: number;
        diff: number;
      }>(`(() => {
        const d = document.getElementById("detail");
        return { hidden: d.hidden, text: d.textContent,
          arrows: d.querySelectorAll("svg line.arrow").length,
          trace: d.querySelectorAll("table tbody tr").length,
          diff: d.querySelectorAll("pre.diff span").length };
      })()`);
      assert.equal(detail.hidden, false);
      assert.match(detail.text, /wp-reuse-after-fork on emmu-v5/);
      assert.match(detail.text, /Violations \(2\)/);
      assert.match(detail.text, /unbalanced-range at 0x100000-0x101000/);
      assert.match(detail.text, /Trace diff against emmu-v4 \(previous\)/);
      assert.match(detail.text, /scenario hash[0-9a-f]{16}/);
      // The page's scenarios are a copy outside scenarios/: the reproducer names the file.
      assert.match(
        detail.text,
        /deno task run \/\S+\/scenarios\/wp-reuse-after-fork\.json emmu-v5/,
      );
      assert.ok(detail.trace > 0);
      assert.equal(detail.arrows, detail.trace, "one arrow per callout in the sequence diagram");
      assert.ok(detail.diff >= detail.trace);
      // The open drill-down's text (its symbols too) is on the page for the glyph check.
      const glyphs = await b.evaluate<GlyphCheck>(GLYPH_CHECK);
      assert.equal(glyphs.probe.unassigned, true, "two unassigned code points draw the same box");
      assert.equal(glyphs.probe.letter, false, "a letter is not the missing glyph");
      const used = new Set(glyphs.chars.map((c) => c.ch));
      for (const s of ["pass", "fail", "unsupported", "timeout"] as const) {
        assert.ok(used.has(STATUS_SYMBOLS[s]), `the page shows the symbol of ${s}`);
      }
      assert.ok(used.has("\u25b2") && used.has("\u25bc") && used.has("\u00d7"));
      assert.deepEqual(glyphs.chars.filter((c) => c.missing), [], "no missing glyph");
      await b.send("Input.dispatchKeyEvent", { type: "keyDown", key: "Escape", code: "Escape" });
      assert.equal(await b.evaluate("document.getElementById('detail').hidden"), true);
    });

    await t.step(
      "a verdict change's details name the keys that cause it, as its lineage list does",
      async () => {
        const sel = await cellButton(b, "fork-enomem", "emmu-v5");
        await click(b, sel);
        const keys = await b.evaluate<{ panel: string[]; list: string[]; head: string }>(`(() => {
        const i = document.querySelector('${sel}').getAttribute("data-cell");
        const li = document.querySelector('ul.changes button[data-cell="' + i + '"]').parentElement;
        const d = document.getElementById("detail");
        const h = [...d.querySelectorAll("h3")].find((x) => x.textContent.startsWith("Caused by"));
        return { head: h ? h.textContent : "",
          panel: [...d.querySelectorAll("ul.caused-by li")].map((x) => x.textContent),
          list: [...li.querySelector("ul.keys").querySelectorAll("code")].map((x) => x.textContent) };
      })()`);
        assert.equal(keys.head, "Caused by (1)");
        assert.deepEqual(keys.panel, keys.list);
        assert.match(
          keys.panel[0],
          /^paths\.copy_page_range\.callouts\[entry:invalidate_range_begin\]/,
        );
        await b.send("Input.dispatchKeyEvent", { type: "keyDown", key: "Escape", code: "Escape" });
      },
    );

    await t.step("at 1400 px every revision column of each lineage is in view", async () => {
      const seen = await b.evaluate<LineageLayout[]>(LAYOUT);
      const expected = new Map<string, string[]>();
      for (const x of [...SHIPPED, evilRevisions()[0]]) {
        expected.set(x.lineage, [
          ...expected.get(x.lineage) ?? [],
          x.id + (x.candidate ? "*" : ""),
        ]);
      }
      assert.deepEqual(seen.map((l) => l.lineage).sort(), [...expected.keys()].sort());
      for (const l of seen) {
        assert.deepEqual(l.heads.map((h) => h.text).sort(), expected.get(l.lineage)!.sort());
        assert.equal(
          l.scrollWidth,
          l.clientWidth,
          `${l.lineage}: the matrix does not scroll sideways`,
        );
        for (const h of l.heads) {
          assert.ok(h.width >= 90, `${l.lineage} ${h.text}: ${h.width} px wide`);
          assert.ok(h.left >= l.left - 0.5 && h.right <= l.right + 0.5, `${l.lineage} ${h.text}`);
          assert.ok(h.right <= 1400, `${l.lineage} ${h.text} ends at ${h.right} px`);
        }
        assert.equal(l.clipped, 0, `${l.lineage}: every cell's text fits its column`);
      }
    });

    await t.step(
      "the header row and the scenario column stay in view as the matrix scrolls",
      async () => {
        const v = await b.evaluate<StickyCheck>(stickyCheck("#lineage-emmu", "down"));
        assert.ok(v.scrolled > 200, `the matrix scrolled down ${v.scrolled} px`);
        assert.ok(v.firstRowTop < v.boxTop, "the first row scrolled out of the box");
        assert.ok(v.headTop >= v.boxTop && v.headTop <= v.boxTop + 2, JSON.stringify(v));
        assert.ok(v.headTop >= 0 && v.headBottom <= 900, "the header row is in the window");
        assert.equal(v.headOnTop, true, "the header cell is the element drawn at its place");
        assert.equal(v.rowHeadOnTop, true, "the scenario cell is the element drawn at its place");

        const shot = await b.send("Page.captureScreenshot", { format: "png" });
        const file = `${dir}/report-1400.png`;
        Deno.writeFileSync(
          file,
          Uint8Array.from(atob(shot.data as string), (c) => c.charCodeAt(0)),
        );
        assert.deepEqual(pngSize(Deno.readFileSync(file)), [1400, 900]);

        // In a 900 px window the matrix is wider than its box: it scrolls sideways
        // and the scenario column stays at its left edge.
        await b.send("Emulation.setDeviceMetricsOverride", {
          width: 900,
          height: 900,
          deviceScaleFactor: 1,
          mobile: false,
        });
        const h = await b.evaluate<StickyCheck>(stickyCheck("#lineage-emmu", "right"));
        assert.ok(h.scrolled > 200, `the matrix scrolled right ${h.scrolled} px`);
        assert.ok(Math.abs(h.rowHeadLeft - h.boxLeft) <= 2, JSON.stringify(h));
        assert.equal(h.rowHeadOnTop, true, "the scenario cell is the element drawn at its place");
        assert.equal(h.headOnTop, true, "the header cell is the element drawn at its place");
        assert.ok(h.lastHeadRight <= h.boxRight + 0.5, "the last revision column is in view");
        await b.send("Emulation.setDeviceMetricsOverride", {
          width: 1400,
          height: 900,
          deviceScaleFactor: 1,
          mobile: false,
        });
      },
    );

    await t.step("the scenario filter, the verdict-change box and the column boxes", async () => {
      const rows = () =>
        b.evaluate<{ id: string; shown: boolean; marked: boolean }[]>(`[...document
          .querySelectorAll("#lineage-emmu tbody tr")].map((tr) => ({ id: tr.dataset.scenario,
            shown: tr.getBoundingClientRect().height > 0, marked: /[\u25b2\u25bc]/.test(tr.textContent) }))`);
      const all = await rows();
      await click(b, "#lineage-emmu .tools input.filter");
      await b.send("Input.insertText", { text: "hugetlb" });
      const filtered = await rows();
      assert.deepEqual(
        filtered.filter((r) => r.shown).map((r) => r.id),
        all.map((r) => r.id).filter((id) => id.includes("hugetlb")),
      );
      assert.ok(filtered.some((r) => r.shown) && filtered.some((r) => !r.shown));
      for (let i = 0; i < "hugetlb".length; i++) {
        await b.send("Input.dispatchKeyEvent", {
          type: "rawKeyDown",
          key: "Backspace",
          code: "Backspace",
          windowsVirtualKeyCode: 8,
        });
        await b.send("Input.dispatchKeyEvent", {
          type: "keyUp",
          key: "Backspace",
          code: "Backspace",
          windowsVirtualKeyCode: 8,
        });
      }
      assert.ok((await rows()).every((r) => r.shown), "an empty filter shows every row");

      await click(b, "#lineage-emmu .tools input.changed-only");
      const changed = await rows();
      assert.ok(changed.some((r) => r.shown), "some scenario changes verdict along emmu");
      for (const r of changed) assert.equal(r.shown, r.marked, r.id);
      await click(b, "#lineage-emmu .tools input.changed-only");

      const columns = () =>
        b.evaluate<{ text: string; width: number }[]>(`[...document
          .querySelectorAll("#lineage-emmu thead th[data-col]")].map((th) =>
            ({ text: th.textContent, width: th.getBoundingClientRect().width }))`);
      const before = await columns();
      await click(b, '#lineage-emmu .tools input.col[data-col="1"]');
      const after = await columns();
      assert.equal(after[0].width, 0, `${after[0].text} is collapsed`);
      for (const c of after.slice(1)) {
        const was = before.find((x) => x.text === c.text)!;
        assert.ok(c.width > was.width, `${c.text} takes the room: ${was.width} -> ${c.width}`);
      }
      await click(b, '#lineage-emmu .tools input.col[data-col="1"]');
      assert.deepEqual(await columns(), before);
    });

    await t.step("markup in names is shown as text and never runs", async () => {
      await click(b, await cellButton(b, EVIL_ID, "evil-title"));
      const r = await b.evaluate<{
        pwned: unknown;
        imgs: number;
        scripts: number;
        row: boolean;
        detail: string;
        header: string | null;
      }>(`(() => ({
        pwned: window.__pwned ?? null,
        imgs: document.querySelectorAll("img").length,
        scripts: document.querySelectorAll("script").length,
        row: [...document.querySelectorAll("tbody th")].some((th) => th.textContent === ${
        JSON.stringify(EVIL_ID)
      }),
        detail: document.getElementById("detail").textContent,
        header: [...document.querySelectorAll("thead th")].find((th) => th.textContent === "evil-title*")?.title ?? null,
      }))()`);
      assert.equal(r.pwned, null);
      assert.equal(r.imgs, 0);
      assert.equal(r.scripts, 2);
      assert.ok(r.row, "the scenario id is the row header's text");
      assert.ok(r.detail.includes(`${EVIL_ID} on evil-title`));
      assert.ok(r.detail.includes(EVIL_PURPOSE));
      assert.ok(r.detail.includes(EVIL_TITLE));
      assert.ok(r.header?.startsWith(EVIL_TITLE));
    });

    await t.step("the page made no network request and raised no error", () => {
      const urls = b.events.filter((e) => e.method === "Network.requestWillBeSent")
        .map((e) => (e.params.request as { url: string }).url);
      assert.ok(urls.some((u) => u.startsWith("file://")), "the page itself was loaded");
      assert.deepEqual(urls.filter((u) => !/^(file|data|about):/.test(u)), []);
      const errors = b.events.filter((e) =>
        e.method === "Runtime.exceptionThrown" ||
        (e.method === "Log.entryAdded" &&
          (e.params.entry as { level: string }).level === "error")
      );
      assert.deepEqual(errors.map((e) => JSON.stringify(e.params).slice(0, 300)), []);
    });
  } finally {
    await browser?.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("buildHtmlData() gives a 2.5.42 cell its returns and what a read finds at each address", () => {
  const revs = SHIPPED.filter((r) => r.lineage === "nonlinear");
  const s = loadScenarioDir(`${ROOT}scenarios`).filter((x) => x.id === "nl-evict-remapped-file");
  const data = buildHtmlData(analyse(runMatrix(s, revs), { lineages: ["nonlinear"] }));
  const g1 = data.cells.find((c) => c.revision === "nl-2.5.42-g1")!;
  // 001_457e2f9cac6e9ce2.txt: G1 forces PROT_NONE; after eviction the read faults for ever.
  assert.equal(g1.returns[4], "4 read: hang");
  assert.ok(g1.views!.some((v) => v.sees === "hang"));
  const f8 = data.cells.find((c) => c.revision === "nl-2.5.42-f8")!;
  assert.equal(f8.returns[4], "4 read: data:0");
});
