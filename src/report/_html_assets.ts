/**
 * The inline style sheet and script of the HTML report. The script reads
 * the data block and builds every node with `textContent` and
 * `setAttribute`, never with markup, so no string from a scenario or a
 * revision is ever parsed as HTML.
 *
 * @module
 */
import type { CellStatus } from "./diff.ts";

/**
 * Symbol of each status, shown next to its name so the matrix reads without
 * colour. Each is in DejaVu Sans and DejaVu Sans Mono, the fonts a Debian
 * desktop has, so none renders as a missing glyph.
 */
export const STATUS_SYMBOLS: Readonly<Record<CellStatus, string>> = Object.freeze({
  pass: "\u2713",
  fail: "\u2717",
  unsupported: "\u2298",
  timeout: "\u25f7",
});

/** The style sheet: system fonts only, colours doubled by symbols and text. */
export const HTML_STYLE: string = String.raw`
:root { --pass-fg: #116329; --pass-bg: #dafbe1; --fail-fg: #a40e26; --fail-bg: #ffebe9;
  --uns-fg: #424a53; --uns-bg: #eaeef2; --tmo-fg: #7d4e00; --tmo-bg: #fff8c5;
  --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
header, main { padding: 0 20px; }
h1 { font-size: 22px; margin: 16px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
code, .mono, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.muted { color: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 8px 16px; margin: 8px 0; padding: 0; list-style: none; }
.legend li { white-space: nowrap; }
/* The matrix scrolls in its own box, no taller than the window, so that its header row and its
   scenario column stay in view (sticky) whichever way it scrolls. Cells wrap after a comma (and
   after a hyphen when a column is narrow), so a lineage of nine revisions fits 1400 px. */
.scroll { overflow: auto; max-height: calc(100vh - 48px); border: 1px solid var(--line); }
table { border-collapse: collapse; }
table.matrix { border-collapse: separate; border-spacing: 0; }
table.matrix th, table.matrix td { border: 0; border-right: 1px solid var(--line);
  border-bottom: 1px solid var(--line); padding: 0; }
table.matrix caption { text-align: left; padding: 2px 8px; }
table.matrix thead th { position: sticky; top: 0; z-index: 2; padding: 4px 6px; font-weight: 600;
  background: #f6f8fa; overflow-wrap: anywhere; }
table.matrix tbody th { position: sticky; left: 0; z-index: 1; padding: 2px 8px; text-align: left;
  font-weight: 500; background: #fff; }
table.matrix thead th:first-child { left: 0; z-index: 3; text-align: left; }
table.matrix .col-off { display: none; }
/* A lineage's matrix: the scenario column, then the revision columns sharing the rest equally;
   no narrower than 7rem a revision (--cols, set on the table), below which the box scrolls. */
table.revisions { table-layout: fixed; width: 100%; min-width: calc(16rem + var(--cols, 1) * 7rem); }
table.revisions thead th:first-child { width: 16rem; }
table.revisions tbody th { font-size: 13px; }
.cand { font-style: italic; }
.tools { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 18px; margin: 8px 0; }
.tools label { white-space: nowrap; }
.tools .columns label { margin-left: 8px; }
.tools input.filter { width: 16em; font: inherit; padding: 1px 4px; }
button.cell { display: block; width: 100%; border: 0; margin: 0; padding: 3px 6px;
  font: 11px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; text-align: left;
  cursor: pointer; white-space: normal; }
ul.causes { margin: 2px 0 6px; padding-left: 18px; font-size: 13px; }
ul.causes ul.keys { margin: 0; padding-left: 18px; }
button.cell:focus-visible, button.link:focus-visible { outline: 2px solid #0969da; outline-offset: -2px; }
button.cell.selected { outline: 3px solid #0969da; outline-offset: -3px; }
.st-pass { color: var(--pass-fg); background: var(--pass-bg); }
.st-fail { color: var(--fail-fg); background: var(--fail-bg); }
.st-unsupported { color: var(--uns-fg); background: var(--uns-bg); }
.st-timeout { color: var(--tmo-fg); background: var(--tmo-bg); }
.chg { font-weight: 700; }
button.link { border: 0; background: none; padding: 0; color: #0969da; cursor: pointer; font: inherit; text-align: left; }
button.link:hover { text-decoration: underline; }
ul.changes { padding-left: 18px; }
#detail { position: fixed; top: 0; right: 0; bottom: 0; width: min(760px, 60vw); overflow: auto;
  background: #fff; border-left: 2px solid var(--line); box-shadow: -4px 0 16px rgba(0,0,0,.12); padding: 12px 18px 40px; }
#detail[hidden] { display: none; }
#detail .close { float: right; font-size: 14px; }
#detail h2 { margin-top: 4px; }
#detail table { font-size: 12px; }
#detail table td, #detail table th { border-bottom: 1px solid var(--line); padding: 2px 6px; text-align: left; vertical-align: top; }
.diff { margin: 0; padding: 6px; background: #f6f8fa; overflow-x: auto; white-space: pre; }
.diff .removed { color: var(--fail-fg); background: var(--fail-bg); display: block; }
.diff .added { color: var(--pass-fg); background: var(--pass-bg); display: block; }
.diff .same { display: block; }
.seq { overflow-x: auto; border: 1px solid var(--line); }
.seq text { font: 11px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.seq .lane-name { font-weight: 700; }
.seq .lane { stroke: #8c959f; stroke-dasharray: 4 4; }
.seq .arrow { stroke: #0969da; stroke-width: 1.5; }
.seq .arrow.atomic { stroke: #bc4c00; stroke-dasharray: 6 3; }
.seq .stepline { stroke: #d0d7de; }
.seq .violation { fill: var(--fail-fg); font-weight: 700; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
`;

/**
 * The script: opens the drill-down of a cell (`[data-cell]` buttons, or a
 * `#cell-N` fragment), with its violations, callout trace, sequence diagram
 * and trace diff against the neighbouring revision; Escape closes it.
 */
export const HTML_SCRIPT: string = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mmbisect-data").textContent);
  var panel = document.getElementById("detail");
  var SVG = "http://www.w3.org/2000/svg";
  var SYMBOL = ${JSON.stringify(STATUS_SYMBOLS)};
  var current = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function verdict(c) {
    var kinds = c.kinds.join(",");
    if (c.status === "pass") return "pass";
    if (c.status === "fail") return kinds;
    return c.status + (kinds ? " (" + kinds + ")" : "");
  }
  function facts(pairs) {
    var dl = el("dl", "facts");
    pairs.forEach(function (p) { add(dl, el("dt", "", p[0]), el("dd", p[2] || "", p[1])); });
    return dl;
  }
  function traceTable(c) {
    var t = el("table");
    var head = add(el("tr"), el("th", "", "step"), el("th", "", "thread"), el("th", "", "path@hook"),
      el("th", "", "callout"), el("th", "", "atomic"), el("th", "", "locks"), el("th", "", "listeners"));
    add(t, add(el("thead"), head));
    var body = el("tbody");
    c.trace.forEach(function (e) {
      var where = e.range || e.address || "";
      add(body, add(el("tr"), el("td", "", String(e.step)), el("td", "", e.thread),
        el("td", "mono", e.path + "@" + e.at),
        el("td", "mono", e.call + "(" + e.mm + (where ? " " + where : "") + ")"),
        el("td", "", (e.atomic === null ? "-" : String(e.atomic)) + (e.inAtomic ? " in-atomic" : "")),
        el("td", "mono", e.locks.join(" ")), el("td", "mono", e.listeners.join(" "))));
    });
    return add(t, body);
  }
  function sequence(c) {
    var lanes = [];
    function lane(name) { if (lanes.indexOf(name) < 0) lanes.push(name); }
    c.trace.forEach(function (e) { lane(e.thread); });
    c.trace.forEach(function (e) {
      if (e.listeners.length) e.listeners.forEach(lane); else lane("(no listener)");
    });
    var steps = [];
    c.trace.forEach(function (e) { if (steps.indexOf(e.step) < 0) steps.push(e.step); });
    c.violations.forEach(function (v) { if (steps.indexOf(v.step) < 0) steps.push(v.step); });
    steps.sort(function (a, b) { return a - b; });
    var W = 180, X0 = 20, rows = [];
    steps.forEach(function (s) {
      rows.push({ kind: "step", step: s });
      c.trace.forEach(function (e) { if (e.step === s) rows.push({ kind: "call", e: e }); });
      c.violations.forEach(function (v) { if (v.step === s) rows.push({ kind: "violation", v: v }); });
    });
    var H = 40 + rows.length * 30 + 20;
    function x(name) { return X0 + lanes.indexOf(name) * W + W / 2; }
    function label(e) {
      var where = e.range || e.address || "";
      return e.path + "@" + e.at + "  " + e.call + "(" + e.mm + (where ? " " + where : "") + ")" +
        (e.atomic === null ? "" : " atomic=" + e.atomic) + (e.inAtomic ? " in-atomic" : "");
    }
    // Wide enough for the lanes and for the longest label (11px monospace: about 6.7px a character).
    var width = X0 * 2 + lanes.length * W;
    c.trace.forEach(function (e) { width = Math.max(width, x(e.thread) + 20 + label(e).length * 6.7); });
    c.violations.forEach(function (v) {
      width = Math.max(width, 20 + (v.kind + v.where + v.detail).length * 6.7 + 40);
    });
    width = Math.ceil(Math.max(560, width));
    var root = svg("svg", { width: width, height: H, viewBox: "0 0 " + width + " " + H,
      role: "img", "aria-label": "Sequence diagram of the callouts of " + c.scenario + " on " + c.revision });
    add(root, svg("title", {}, "Callouts of " + c.scenario + " on " + c.revision));
    var defs = add(svg("defs", {}), add(svg("marker", { id: "seq-head", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }), svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#0969da" })));
    add(root, defs);
    lanes.forEach(function (name) {
      add(root, svg("text", { x: x(name), y: 18, "text-anchor": "middle", "class": "lane-name" }, name));
      add(root, svg("line", { x1: x(name), y1: 26, x2: x(name), y2: H - 10, "class": "lane" }));
    });
    rows.forEach(function (r, i) {
      var y = 48 + i * 30;
      if (r.kind === "step") {
        var op = data.scenarios[c.scenario].steps[r.step] || "end";
        add(root, svg("line", { x1: 0, y1: y - 4, x2: width, y2: y - 4, "class": "stepline" }));
        add(root, svg("text", { x: 4, y: y + 10, "class": "muted" }, "step " + r.step + ": " + op));
      } else if (r.kind === "call") {
        var e = r.e;
        var targets = e.listeners.length ? e.listeners : ["(no listener)"];
        var from = x(e.thread);
        var far = targets.map(x).reduce(function (a, b) {
          return Math.abs(b - from) > Math.abs(a - from) ? b : a; }, from);
        add(root, svg("text", { x: Math.min(from, far) + 4, y: y + 6 }, label(e)));
        add(root, svg("line", { x1: from, y1: y + 14, x2: far === from ? from + 40 : far, y2: y + 14,
          "class": "arrow" + (e.inAtomic ? " atomic" : ""), "marker-end": "url(#seq-head)" }));
        targets.forEach(function (t) { add(root, svg("circle", { cx: x(t), cy: y + 14, r: 3, fill: "#0969da" })); });
      } else {
        var v = r.v;
        add(root, svg("text", { x: 4, y: y + 10, "class": "violation" },
          "\u2717 " + v.kind + " at " + v.where + ": " + v.detail));
      }
    });
    return root;
  }
  function traceLine(t) {
    var where = t.range || t.address || "";
    return "step " + t.step + " " + t.thread + ": " + t.path + "@" + t.at + " " + t.call + "(" + t.mm +
      (where ? " " + where : "") + ")" + (t.atomic === null ? "" : " atomic=" + t.atomic) +
      (t.inAtomic ? " in-atomic" : "") + " locks=[" + t.locks.join(" ") + "] listeners=[" +
      t.listeners.join(" ") + "]";
  }
  function diffBlock(c) {
    var pre = el("pre", "diff");
    var me = data.cells.indexOf(c), n = c.neighbour;
    var first = data.cells[n.relation === "next" ? me : n.cell];
    var second = data.cells[n.relation === "next" ? n.cell : me];
    c.diff.forEach(function (d) {
      var op = d[0], t = op === "removed" ? first.trace[d[1]] : second.trace[d[1]];
      var mark = op === "same" ? "  " : op === "removed" ? "- " : "+ ";
      add(pre, el("span", op, mark + traceLine(t)));
    });
    if (!c.diff.length) add(pre, el("span", "same", "(no callout on either revision)"));
    return pre;
  }
  function keyText(k) {
    return k.key + ": " + (k.from === undefined ? "(absent)" : k.from) + " -> " +
      (k.to === undefined ? "(absent)" : k.to);
  }
  function keyList(cls, keys) {
    var ul = el("ul", "mono " + cls);
    keys.forEach(function (k) { add(ul, el("li", "", keyText(k))); });
    return ul;
  }
  // The keys that alone flip the verdict from the earlier revision to the later one.
  function causes(n) {
    add(panel, el("h3", "", "Caused by (" + n.causes.length + ")"));
    if (!n.causes.length) {
      add(panel, el("p", "muted", "no set of the differing keys gives " + n.to +
        "'s verdict when taken into " + n.from));
    } else add(panel, keyList("caused-by", n.causes));
    if (n.alternatives.length) {
      add(panel, el("p", "", "Each flips the verdict alone as well (" + n.alternatives.length + "):"));
      add(panel, keyList("alternatives", n.alternatives));
    }
    if (n.alsoDiffer.length) {
      add(panel, el("p", "muted", "Also differ: " + n.alsoDiffer.length + " other key" +
        (n.alsoDiffer.length === 1 ? "" : "s") + " (listed below when relevant to the scenario)"));
    }
  }
  function open(i) {
    var c = data.cells[i];
    if (!c) return;
    if (current) current.classList.remove("selected");
    current = document.querySelector('[data-cell="' + i + '"].cell');
    if (current) current.classList.add("selected");
    var s = data.scenarios[c.scenario], r = data.revisions[c.revision];
    while (panel.firstChild) panel.removeChild(panel.firstChild);
    var close = el("button", "link close", "close \u00d7");
    close.type = "button";
    close.addEventListener("click", hide);
    add(panel, close, el("h2", "", c.scenario + " on " + c.revision));
    add(panel, el("p", "st-" + c.status, SYMBOL[c.status] + " " + c.status + ": " + verdict(c)));
    add(panel, facts([["scenario", s.purpose], ["revision", r.title],
      ["posted against", r.postedAgainst],
      ["scenario hash", c.hashes.scenario, "mono"], ["revision hash", c.hashes.revision, "mono"],
      ["reproduce", c.reproduce, "mono"]].concat(c.aborted ? [["aborted", c.aborted]] : [])));
    add(panel, el("h3", "", "Violations (" + c.violations.length + ")"));
    if (c.violations.length) {
      var ul = el("ul", "violations");
      c.violations.forEach(function (v) {
        add(ul, el("li", "", "step " + v.step + ", " + v.kind + " at " + v.where + ": " + v.detail));
      });
      add(panel, ul);
    } else add(panel, el("p", "muted", "none"));
    add(panel, el("h3", "", "Returns"));
    var rl = el("ul", "returns mono");
    c.returns.forEach(function (line) { add(rl, el("li", "", "step " + line)); });
    add(panel, rl);
    if (c.views) {
      add(panel, el("h3", "", "What a read finds at the end"));
      var vl = el("ul", "views mono");
      c.views.forEach(function (v) { add(vl, el("li", "", v.mm + " " + v.range + ": " + v.sees)); });
      add(panel, vl);
    }
    add(panel, el("h3", "", "Callout trace (" + c.trace.length + ")"));
    add(panel, c.trace.length ? traceTable(c) : el("p", "muted", "no callout"));
    add(panel, el("h3", "", "Sequence diagram"));
    add(panel, el("p", "muted", "One lane per calling thread and per notifier; one arrow per callout, " +
      "to every notifier on the list (dashed: the caller is in atomic context)."));
    add(panel, add(el("div", "seq"), sequence(c)));
    if (c.neighbour) {
      var n = c.neighbour;
      add(panel, el("h3", "", "Trace diff against " + n.revision + " (" + n.relation + ")"));
      var summary = n.classes.join(" and ") + (n.added.length || n.removed.length ? ": " +
        n.added.map(function (k) { return "+" + k; }).concat(n.removed.map(function (k) { return "-" + k; })).join(" ") : "");
      add(panel, el("p", "", "from " + n.from + " to " + n.to + ": " + summary));
      if (n.causes) causes(n);
      add(panel, diffBlock(c));
      if (n.relevant.length) {
        add(panel, el("p", "", "Config keys that differ, relevant to the scenario (" + n.relevant.length + "):"));
        add(panel, keyList("relevant", n.relevant));
      }
    } else {
      add(panel, el("h3", "", "Trace diff"));
      add(panel, el("p", "muted", "no neighbouring revision along the lineage"));
    }
    panel.hidden = false;
    panel.setAttribute("data-open", String(i));
    close.focus();
  }
  function hide() {
    panel.hidden = true;
    panel.removeAttribute("data-open");
    if (current) { current.classList.remove("selected"); current.focus(); }
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("[data-cell]") : null;
    if (b) open(Number(b.getAttribute("data-cell")));
  });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && !panel.hidden) hide(); });
  function fromHash() {
    var m = /^#cell-(\d+)$/.exec(location.hash);
    if (m) open(Number(m[1]));
  }
  // The tools above each matrix: a scenario filter, rows with a verdict change only, and one
  // check box per revision column.
  Array.prototype.forEach.call(document.querySelectorAll(".tools"), function (tools) {
    var table = tools.nextElementSibling.querySelector("table");
    var filter = tools.querySelector(".filter"), changed = tools.querySelector(".changed-only");
    var boxes = tools.querySelectorAll("input.col"), shown = tools.querySelector(".shown");
    var rows = table.tBodies[0].rows;
    function update() {
      var q = filter.value.trim().toLowerCase(), n = 0, k = 0;
      Array.prototype.forEach.call(rows, function (tr) {
        var keep = tr.getAttribute("data-scenario").toLowerCase().indexOf(q) >= 0 &&
          (!changed.checked || tr.classList.contains("changed"));
        tr.hidden = !keep;
        if (keep) n++;
      });
      Array.prototype.forEach.call(boxes, function (box) {
        var cells = table.querySelectorAll('[data-col="' + box.getAttribute("data-col") + '"]');
        Array.prototype.forEach.call(cells, function (c) { c.classList.toggle("col-off", !box.checked); });
        if (box.checked) k++;
      });
      shown.textContent = n + " of " + rows.length + " scenarios, " + k + " of " + boxes.length +
        " revisions shown";
    }
    tools.addEventListener("input", update);
    tools.addEventListener("change", update);
    update();
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
  document.documentElement.setAttribute("data-ready", "1");
})();
`;
