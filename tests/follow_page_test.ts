/**
 * `follow_page()` on a huge pmd, as the GRU and XPmem fills call it.
 * v2.6.24 mm/memory.c:930-933: `if (pmd_huge(*pmd)) { BUG_ON(flags &
 * FOLL_GET); page = follow_huge_pmd(...); goto out; }`. The GRU keeps "no
 * page reference" (V5 cover letter, 000_485f2de10ae1e46b.txt), so its
 * lookup passes no FOLL_GET and finds the huge page; XPmem keeps the
 * lookup's reference, and its lookup on a huge page is the BUG.
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadRevisionDir, runScenario } from "../mod.ts";
import { hugeScenario } from "./_fixtures.ts";

const revision = loadRevisionDir("patches").find((r) => r.id === "mainline-2.6.27")!;

/** A hugetlbfs mapping, written by the CPU, then accessed through secondary `driver`. */
function hugeAccess(driver: "gru" | "xpmem") {
  return hugeScenario([
    { op: "register", secondary: "sec0" },
    { op: "touch", mm: "A", addr: "0x40000000", access: "write" },
    { op: "guest", secondary: "sec0", addr: "0x40001000", access: "read" },
    { op: "munmap", mm: "A", addr: "0x40000000", len: "0x400000" },
  ], { share: "shared", driver, sec: "sec0" });
}

Deno.test("the GRU's follow_page() without FOLL_GET finds a huge page: no BUG", () => {
  const o = runScenario(hugeAccess("gru"), revision);
  assert.equal(o.aborted, undefined, o.aborted);
  assert.equal(o.returns[3].value, "filled");
  assert.deepEqual(o.violations, []);
});

Deno.test("XPmem's follow_page() with FOLL_GET on a huge pmd is the kernel's BUG", () => {
  const o = runScenario(hugeAccess("xpmem"), revision);
  assert.match(
    o.aborted ?? "",
    /^step 3: BUG at follow_page: BUG_ON\(flags & FOLL_GET\) on a huge pmd/,
  );
});
