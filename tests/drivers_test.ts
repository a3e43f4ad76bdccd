import assert from "node:assert/strict";
import { loadRevisionDir, loadScenario, runMatrix } from "../mod.ts";
import { driverTable } from "../src/report/drivers.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("driverTable counts a violation against the driver of the secondary it is about", () => {
  // 000_485f2de10ae1e46b.txt, V5 cover letter: XPmem "Must sleep in order to wait for remote
  // acks of ptes that are being cleared"; V5 [patch 1/4] dispatches under rcu_read_lock. KVM and
  // the GRU are invalidated before the pages go (expectations/emmu.json, drivers-munmap).
  const scenario = loadScenario(`${ROOT}scenarios/drivers-munmap.json`);
  const v5 = loadRevisionDir(`${ROOT}patches`).filter((r) => r.id === "emmu-v5");
  const m = runMatrix([scenario], v5);
  const sleeps = m.cells[0].violations.filter((v) => v.kind === "sleep-in-atomic");
  assert.ok(sleeps.length > 0);
  assert.deepEqual([...new Set(sleeps.map((v) => v.secondary))], ["xpm0"]);
  const kinds = Object.fromEntries(driverTable(m).map((c) => [c.driver, c.kinds]));
  assert.deepEqual(kinds, { gru: [], kvm: [], xpmem: ["sleep-in-atomic"] });
});

Deno.test("driverTable counts a violation about no secondary against every driver of the scenario", () => {
  // docs/sources.md §5b.3, Robin Holt 2008-02-01 04:32: V4's do_wp_page makes the _end callout
  // on the "goto unlock" exits the _begin never came before (expectations/emmu.json,
  // wp-mkwrite-recheck-fails on emmu-v4): the kernel's unpaired end concerns every driver.
  const scenario = loadScenario(`${ROOT}scenarios/wp-mkwrite-recheck-fails.json`);
  const v4 = loadRevisionDir(`${ROOT}patches`).filter((r) => r.id === "emmu-v4");
  const m = runMatrix([scenario], v4);
  const unbalanced = m.cells[0].violations.filter((v) => v.kind === "unbalanced-range");
  assert.ok(unbalanced.length > 0);
  assert.ok(unbalanced.every((v) => v.secondary === undefined));
  const drivers: string[] = [...new Set(scenario.secondaries.map((s) => s.driver))];
  const cells = driverTable(m);
  assert.ok(cells.length > 0);
  for (const c of cells) {
    assert.ok(drivers.includes(c.driver));
    assert.ok(c.kinds.includes("unbalanced-range"), c.driver);
  }
});
