import assert from "node:assert/strict";
import { progress, progressEnabled } from "../src/report/progress.ts";

Deno.test("progressEnabled() allows a progress line only on a terminal without --quiet", () => {
  assert.equal(progressEnabled({ terminal: true, quiet: false }), true);
  assert.equal(progressEnabled({ terminal: true, quiet: true }), false);
  assert.equal(progressEnabled({ terminal: false, quiet: false }), false);
  assert.equal(progressEnabled({ terminal: false, quiet: true }), false);
});

Deno.test("progress() stays silent during the first second, then redraws one line", async (t) => {
  let now = 0;
  let text = "";
  const p = progress((s) => text += s, { label: "exploring", now: () => now });
  await t.step("a run shorter than the delay prints nothing, not even the erase", () => {
    p.onCell(1, 4);
    now = 999;
    p.onCell(2, 4);
    assert.equal(text, "");
  });
  await t.step("after the delay it redraws in place and erases at the end", () => {
    now = 1000;
    p.onCell(3, 4);
    p.onCell(4, 4);
    p.done();
    assert.equal(text, "\rexploring 3/4\x1b[K\rexploring 4/4\x1b[K\r\x1b[K");
  });
  await t.step("a short run erases nothing", () => {
    let out = "";
    const q = progress((s) => out += s, { now: () => 0 });
    q.onCell(1, 1);
    q.done();
    assert.equal(out, "");
  });
  await t.step("a large run redraws about a hundred times", () => {
    let lines = 0;
    const q = progress(() => lines++, { delayMs: 0 });
    for (let i = 1; i <= 10_000; i++) q.onCell(i, 10_000);
    assert.equal(lines, 100);
  });
});
