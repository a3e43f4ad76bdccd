/**
 * The 2.5.42 nonlinear lineage: compare along F8 -> F9 -> G1 and each
 * candidate against G1 with the keys behind every changed verdict, the
 * bugs the thread reports and their absence where it says they were
 * fixed, the cost table's claims, the errno reference, and every input of
 * the syscall giving a defined outcome.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compareRevisions,
  costTable,
  explainOutcome,
  formatExplanation,
  loadRevisionDir,
  loadScenarioDir,
  parseScenario,
  Run,
  runMatrix,
  runScenario,
} from "../mod.ts";
import { outcomeCounters } from "../src/run/outcome.ts";
import { newFile, newMm, newState } from "../src/model/state.ts";
import { remapReference } from "../src/check/intent.ts";

const S = "001_457e2f9cac6e9ce2.txt";
const revisions = loadRevisionDir("patches").filter((r) => r.base === "2.5.42");
const scenarios = loadScenarioDir("scenarios").filter((s) => s.kernel === "2.5.42");
const matrix = runMatrix(scenarios, revisions);
const rev = (id: string) => revisions.find((r) => r.id === id)!;
const verdictChanges = (a: string, b: string) =>
  compareRevisions(matrix, a, b).scenarios.filter((s) =>
    s.classes.includes("regression") || s.classes.includes("fix")
  );

Deno.test("compare along F8 -> F9 -> G1 names the one key behind every changed verdict", () => {
  // F9: "true, this is a bug, i fixed it in the -F9 patch" (Ingo Molnar, 15:02).
  const f9 = verdictChanges("nl-2.5.42-f8", "nl-2.5.42-f9");
  assert.deepEqual(f9.map((s) => s.scenario), [
    "nl-nonblock-over-remapped",
    "nl-nonblock-uncached-file",
    "nl-nonblock-uncached-prot-zero",
  ]);
  for (const s of f9) {
    assert.deepEqual(s.relevant.map((k) => k.key), ["nonlinear.filemap_populate.no_page"]);
  }
  // G1: "i've added this to the -G1 patch" (PROT_NONE default protection, 16:02).
  const g1 = verdictChanges("nl-2.5.42-f9", "nl-2.5.42-g1");
  assert.ok(g1.length >= 4, g1.map((s) => s.scenario).join(" "));
  for (const s of g1) {
    assert.deepEqual(s.relevant.map((k) => k.key), ["nonlinear.default_prot.set"], s.scenario);
  }
});

Deno.test("every candidate against G1 lists its changed verdicts with its own key", () => {
  const expected: Record<string, string[]> = {
    "nl-g1-wli-zap": ["nonlinear.filemap_populate.no_page"],
    "nl-g1-wli-offset": ["nonlinear.default_prot.offset", "nonlinear.default_prot.set"],
    "nl-g1-wli-offset-fixed": ["nonlinear.default_prot.offset", "nonlinear.default_prot.set"],
    "nl-g1-release-page": [
      "nonlinear.filemap_populate.install_error",
      "nonlinear.shmem_populate.install_error",
    ],
    "nl-g1-args-2.6": [
      "nonlinear.remap_args.align",
      "nonlinear.remap_args.offset_limit",
      "nonlinear.remap_args.prot",
    ],
  };
  for (const [id, keys] of Object.entries(expected)) {
    assert.equal(rev(id).follows, "nl-2.5.42-g1");
    const changes = verdictChanges("nl-2.5.42-g1", id);
    assert.ok(changes.length > 0, `${id} changes no verdict`);
    for (const s of changes) {
      assert.ok(s.relevant.length > 0, `${id}/${s.scenario}: no key named`);
      for (const k of s.relevant) assert.ok(keys.includes(k.key), `${id}: ${k.key}`);
    }
  }
});

Deno.test("the nonblocking-populate bug shows on F8 and is gone from F9 on", () => {
  // William Lee Irwin III 13:52: "-ENOMEM is returned if filemap_getpage() returns NULL";
  // Ingo Molnar 15:02: "true, this is a bug, i fixed it in the -F9 patch".
  const on = (r: string) =>
    runScenario(scenarios.find((s) => s.id === "nl-nonblock-uncached-file")!, rev(r));
  const f8 = on("nl-2.5.42-f8");
  assert.ok(f8.kinds.includes("errno"));
  assert.equal(f8.returns[5].value, "-ENOMEM");
  // nl-g1-args-2.6 refuses the scenario's prot of 3 (v2.6.24 mm/fremap.c:130, "if (prot) return
  // err;"); its prot-0 twin shows the skip.
  const prot0 = (r: string) =>
    runScenario(scenarios.find((s) => s.id === "nl-nonblock-uncached-prot-zero")!, rev(r));
  for (const r of revisions.filter((r) => r.id !== "nl-2.5.42-f8")) {
    if (r.nonlinear!.remapArgs.prot === "einval-if-nonzero") {
      assert.equal(on(r.id).returns[5].value, "-EINVAL", r.id);
      assert.ok(!prot0(r.id).kinds.includes("errno"), r.id);
      assert.equal(prot0(r.id).returns[3].value, "0", r.id);
      continue;
    }
    assert.ok(!on(r.id).kinds.includes("errno"), r.id);
    assert.equal(on(r.id).returns[5].value, "0", r.id);
  }
  assert.equal(prot0("nl-2.5.42-f8").returns[3].value, "-ENOMEM");
});

Deno.test("the install_page error-path leak shows on F8 and is gone where the page is released", () => {
  // Andrew Morton 20:27: "Are you missing a page_cache_release() on the error path in install_page()?"
  for (const id of ["nl-install-enomem-file", "nl-install-enomem-shmem"]) {
    const s = scenarios.find((x) => x.id === id)!;
    const f8 = runScenario(s, rev("nl-2.5.42-f8"));
    const leak = f8.violations.find((v) => v.kind === "page-leak");
    assert.ok(leak, id);
    assert.match(leak.detail, /"populate:cpu0"/);
    assert.deepEqual(runScenario(s, rev("nl-g1-release-page")).kinds, [], id);
  }
});

Deno.test("after eviction a user reads the linear page on F8/F9 and hangs on G1 (the thread's safety problem)", () => {
  // F8 cover letter: "all the mapping information of nonlinear vmas lives in the pagetables";
  // G1 forces PROT_NONE (Ingo Molnar 16:02). docs/sources.md §6.3/§6.4 for the i386 fault path.
  const s = scenarios.find((x) => x.id === "nl-evict-remapped-file")!;
  const want: Record<string, string> = {
    "nl-2.5.42-f8": "data:0",
    "nl-2.5.42-f9": "data:0",
    "nl-2.5.42-g1": "hang",
  };
  for (const [id, sees] of Object.entries(want)) {
    const o = runScenario(s, rev(id));
    assert.equal(o.returns[4].value, sees, id);
    // The end view starts at the remapped address with what the read found (a run of
    // consecutive file pages is shown as first-last).
    const first = o.views!.find((v) => v.range.startsWith("0x40000000-"))!;
    assert.ok(first.sees === sees || first.sees.startsWith(`${sees}-`), `${id}: ${first.sees}`);
  }
});

Deno.test("the cost table reproduces the cover letter's directions and says where it disagrees", () => {
  const t = costTable(rev("nl-2.5.42-f8"));
  assert.ok(t.rows.every((r) => r.verdict === "pass"));
  const verdict = (start: string) => t.claims.find((c) => c.claim.startsWith(start))!.verdict;
  // F8 cover letter: "there's only one vma allocated for an eg. 1 GB window".
  assert.equal(verdict("there's only one vma"), "reproduced");
  // "remapping a eg. 16K cache element causes a kernel entry, an unmapping, a TLB flush and a
  // vma-install, plus 4 subsequent pagefaults. With remap_file_pages() it's a single kernel entry".
  assert.equal(verdict("remapping a eg. 16K"), "reproduced");
  const row = (way: string) =>
    t.rows.find((r) =>
      r.family === "database" && r.element === 4 && r.window === 64 && r.way === way
    )!;
  assert.equal(row("mmap-fixed").faults / row("mmap-fixed").remaps, 4);
  assert.equal(row("mmap-fixed").tlbFlushGather / row("mmap-fixed").remaps, 1);
  assert.equal((row("remap_file_pages").entries - 1) / row("remap_file_pages").remaps, 1);
  // "remap_file_pages() uses the one-page invalidation instruction".
  assert.equal(verdict("the MAP_FIXED overmapping"), "reproduced");
  // Ingo Molnar 13:30: the INVLPG/CR3 line is "roughly 8 pages"; 16-page elements cross it.
  assert.equal(verdict("David S. Miller"), "disagrees");
  // "as much as 1 more pagetable page allocated for every file page that is mapped in".
  assert.equal(verdict("in the worst-case"), "reproduced");
});

Deno.test("Run.complete leaves the violations and counters finish() reports, with no outcome", () => {
  // Every 2.5.42 scenario on F8 and G1: some fail (wrong-page, page-leak), some pass.
  let failing = 0;
  for (const r of [rev("nl-2.5.42-f8"), rev("nl-2.5.42-g1")]) {
    for (const s of scenarios) {
      const o = runScenario(s, r, { trace: false });
      const run = new Run(s, r, { trace: false });
      run.complete();
      assert.deepEqual(
        outcomeCounters(run.kernel.state, run.callouts),
        o.counters,
        `${s.id} on ${r.id}`,
      );
      assert.deepEqual(run.kinds(), o.kinds, `${s.id} on ${r.id}`);
      if (o.verdict === "fail") failing++;
    }
  }
  assert.ok(failing > 0);
});

Deno.test("remapReference() follows the seed's checks for each input class", () => {
  const state = newState();
  state.files.data = newFile("data", 8, "regular");
  const mm = state.mms.A = newMm("A");
  mm.vmas.push({
    start: 0x40000000,
    end: 0x40004000,
    read: true,
    write: true,
    shared: true,
    mayWrite: true,
    file: "data",
    pgoff: 0,
    kind: "file",
    nonlinear: false,
    locked: false,
    anonVma: false,
  });
  const ref = (start: number, size: number, pgoff: number, flags = 0) =>
    remapReference(state, "A", { start, size, pgoff, flags }, false).accept;
  assert.deepEqual(ref(0x40000000, 0x1000, 7), [0]); // inside, in the file
  assert.deepEqual(ref(0x40000000, 0, 1), [-22]); // "end > start"
  assert.deepEqual(ref(0x40003000, 0x2000, 1), [-22]); // "end <= vma->vm_end"
  assert.deepEqual(ref(0x40000000, 0x3000, 6), [-22, -14]); // past EOF: -EINVAL or -EFAULT
  assert.deepEqual(ref(0x40000000, 0x4000, 4, 0x10000), [0]); // MAP_NONBLOCK never fails
  assert.deepEqual(ref(0x40000800, 0x1000, 1), [0, -22, -14]); // unaligned: no stated rule
  mm.vmas[0].shared = false;
  assert.deepEqual(ref(0x40000000, 0x1000, 1), [-22]); // "Make sure the vma is shared"
});

/** An arbitrary 32-bit word biased towards the boundaries the syscall's checks compare. */
function word(points: number[]) {
  return fc.oneof(
    fc.constantFrom(...points),
    fc.constantFrom(...points).chain((p) =>
      fc.integer({ min: -2, max: 2 }).map((d) => (p + d) >>> 0)
    ),
    fc.nat({ max: 0xffffffff }),
  );
}

Deno.test("every input of sys_remap_file_pages gives a defined outcome on every revision", () => {
  const W = 0x40000000;
  const starts = [0, 0xfff, 0x1000, W - 0x1000, W, W + 0x1000, W + 0x3000, W + 0x4000, 0xfffff000];
  const sizes = [0, 1, 0xfff, 0x1000, 0x1001, 0x2000, 0x4000, 0x7fffffff, 0xfffff000, 0xffffffff];
  const pgoffs = [0, 1, 4, 7, 8, 0xfffff, 0xfffffffe, 0xffffffff];
  const input = fc.record({
    start: word(starts),
    size: word(sizes),
    prot: fc.oneof(fc.constantFrom(0, 1, 3, 7, 0xf, 0x10), fc.nat({ max: 0xffffffff })),
    pgoff: word(pgoffs),
    flags: fc.constantFrom(0, 0x10000, 0xffffffff),
    kind: fc.constantFrom("regular", "shmem"),
    share: fc.constantFrom("shared", "private"),
  });
  const allowed = new Set(["0", "-EINVAL", "-ENOMEM", "-EFAULT"]);
  fc.assert(
    fc.property(input, fc.constantFrom(...revisions), (i, r) => {
      const s = parseScenario(
        {
          purpose: "one remap_file_pages call with arbitrary arguments",
          exercises: ["sys_remap_file_pages"],
          cite: `${S}: F8 mm/fremap.c, sys_remap_file_pages()`,
          kernel: "2.5.42",
          files: [{ name: "f", pages: 8, kind: i.kind, cached: [0, 1, 2, 5] }],
          steps: [
            {
              op: "mmap",
              mm: "A",
              addr: "0x40000000",
              len: "0x4000",
              prot: "rw",
              share: i.share,
              file: "f",
            },
            {
              op: "sys_remap_file_pages",
              mm: "A",
              start: i.start,
              size: i.size,
              prot: i.prot,
              pgoff: i.pgoff,
              flags: i.flags,
            },
            { op: "read", mm: "A", addr: String(i.start), outside: true },
          ],
        },
        "<property>",
        "property",
      );
      const o = runScenario(s, r);
      assert.equal(o.aborted, undefined);
      assert.ok(allowed.has(String(o.returns[1].value)), String(o.returns[1].value));
      assert.match(String(o.returns[2].value), /^(f:\d+|SIGSEGV|SIGBUS|SIGKILL|hang)$/);
      assert.ok(o.views && o.views.length > 0);
    }),
    { numRuns: 300, seed: 2002 },
  );
});

Deno.test("explainOutcome() names the 2.5.42 keys of the functions a run went through, with their cites", () => {
  const s = scenarios.find((x) => x.id === "nl-evict-remapped-file")!;
  const g1 = rev("nl-2.5.42-g1");
  const e = explainOutcome(runScenario(s, g1), g1, s);
  const prot = e.nonlinear!.find((k) => k.key === "nonlinear.default_prot.set")!;
  assert.equal(prot.value, "force-none");
  assert.equal(prot.function, "sys_remap_file_pages");
  assert.match(prot.cite, /^001_457e2f9cac6e9ce2\.txt: William Lee Irwin III/);
  // The scenario never populates shmem, so shmem_populate's keys are not named.
  assert.ok(!e.nonlinear!.some((k) => k.function === "shmem_populate"));
  assert.match(formatExplanation(e), /config of the 2\.5\.42 functions the run went through/);
});
