import assert from "node:assert/strict";
import {
  explore,
  loadRevisionDir,
  loadScenario,
  parseRevision,
  parseScenario,
  type Revision,
  runScenario,
} from "../mod.ts";
import { mmapStep, touchStep } from "./_fixtures.ts";
import { findVma, newMm, newState, setPte } from "../src/model/state.ts";
import type { Vma } from "../src/model/types.ts";
import type { Violation } from "../src/check/checker.ts";
import { pteOutsideVma } from "../src/check/pte_outside_vma.ts";

const revisions = loadRevisionDir("patches");
const lookup = (id: string) => revisions.find((r) => r.id === id);

/** emmu-v5 with some paths replaced. */
function v5With(paths: Record<string, unknown>, chain: Record<string, unknown> = {}): Revision {
  return parseRevision(
    { id: "test-rev", extends: "emmu-v5", chain, paths },
    "test-rev.json",
    lookup,
  );
}

const mapAndGuestWrite = [
  mmapStep("0x100000", "0x4000"),
  { op: "register", secondary: "kvm0" },
  { op: "guest", secondary: "kvm0", addr: "0x100000", access: "write" },
];

function scenario(steps: unknown[]) {
  return parseScenario(
    {
      purpose: "checker test",
      exercises: [],
      cite: "tests/checkers_test.ts",
      secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
      steps,
    },
    "inline.json",
    "inline",
  );
}

const munmap = scenario([...mapAndGuestWrite, {
  op: "munmap",
  mm: "A",
  addr: "0x100000",
  len: "0x4000",
}]);

Deno.test("unbalancedRange reports an end without a begin, with its step and range", () => {
  const rev = v5With({
    unmap_region: {
      callouts: [{
        at: "after_tlb_finish",
        call: "invalidate_range_end",
        range: "region",
        atomic: 0,
        cite: "test",
      }],
    },
  });
  const v = runScenario(munmap, rev).violations.filter((x) => x.kind === "unbalanced-range");
  assert.equal(v.length, 1);
  assert.equal(v[0].step, 3);
  assert.equal(v[0].where, "0x100000-0x104000");
  assert.match(v[0].detail, /no open invalidate_range_begin/);
});

Deno.test("unbalancedRange reports a begin left open when the operation returns", () => {
  const rev = v5With({
    unmap_region: {
      callouts: [{
        at: "before_unmap_vmas",
        call: "invalidate_range_begin",
        range: "region",
        atomic: 0,
        cite: "test",
      }],
    },
  });
  const v = runScenario(munmap, rev).violations.filter((x) => x.kind === "unbalanced-range");
  assert.equal(v.length, 1);
  assert.match(v[0].detail, /returned without an end/);
});

Deno.test("staleSecondary reports a translation the primary dropped, once", () => {
  const rev = v5With({ unmap_region: { callouts: [] } });
  const out = runScenario(
    scenario([...mapAndGuestWrite, { op: "munmap", mm: "A", addr: "0x100000", len: "0x4000" }, {
      op: "munmap",
      mm: "A",
      addr: "0x100000",
      len: "0x4000",
      outside: true,
    }]),
    rev,
  );
  const v = out.violations.filter((x) => x.kind === "stale-secondary");
  assert.equal(v.length, 1);
  assert.equal(v[0].step, 3);
  assert.match(v[0].detail, /kvm0 maps 0x100000 to pfn \d+ rw but the primary pte is none/);
});

Deno.test("lostWrite reports a guest write through a translation the primary no longer has", () => {
  const rev = v5With({ unmap_region: { callouts: [] } });
  const out = runScenario(
    scenario([...mapAndGuestWrite, { op: "munmap", mm: "A", addr: "0x100000", len: "0x4000" }, {
      op: "guest",
      secondary: "kvm0",
      addr: "0x100000",
      access: "write",
      outside: true,
    }]),
    rev,
  );
  assert.deepEqual(out.kinds, ["lost-write", "stale-secondary"]);
  assert.equal(out.violations.find((x) => x.kind === "lost-write")!.step, 4);
});

Deno.test("lostWrite is quiet for a write through a stale spte to the page the primary maps read-only", () => {
  // mprotect-readonly on emmu-v5: no mprotect callout, so KVM's spte stays writable; the guest's
  // write lands on the page A maps there, read-only. A stale permission, no data lost.
  const out = runScenario(loadScenario("scenarios/mprotect-readonly.json"), lookup("emmu-v5")!);
  assert.deepEqual(out.kinds, ["stale-secondary"]);
});

Deno.test("lostWrite reports a write to a page writeback cleaned that leaves the page cache clean", () => {
  // A GRU TLB keeps no page state: nothing marks the page dirty after its write.
  const rev = v5With({ page_mkclean_one: { callouts: [] } });
  const s = parseScenario(
    {
      purpose: "checker test",
      exercises: [],
      cite: "tests/checkers_test.ts",
      files: [{ name: "data", pages: 2, kind: "regular" }],
      secondaries: [{ id: "gru0", driver: "gru", mm: "A" }],
      steps: [
        mmapStep("0x200000", "0x2000", { file: "data" }),
        { op: "register", secondary: "gru0" },
        touchStep("0x200000", "write"),
        { op: "guest", secondary: "gru0", addr: "0x200000", access: "write" },
        { op: "writeback", file: "data", index: 0 },
        { op: "guest", secondary: "gru0", addr: "0x200000", access: "write" },
        { op: "reclaim", mm: "A", addr: "0x200000" },
        { op: "reclaim", mm: "A", addr: "0x200000", outside: true },
      ],
    },
    "inline.json",
    "inline",
  );
  const out = runScenario(s, rev);
  assert.deepEqual(out.kinds, ["lost-write", "stale-secondary"]);
  const v = out.violations.find((x) => x.kind === "lost-write")!;
  assert.equal(v.step, 7);
  assert.match(
    v.detail,
    /gru0 wrote pfn \d+ \(data page 0\) at 0x200000 in step 5 while the page was clean/,
  );
});

Deno.test("sleepInAtomic reports atomic=0 passed under a spinlock and is quiet for atomic=1", () => {
  const huge = (atomic: number) =>
    v5With({
      __unmap_hugepage_range: {
        callouts: [
          {
            at: "before_lock",
            call: "invalidate_range_begin",
            range: "requested",
            atomic,
            cite: "test",
          },
          {
            at: "after_flush",
            call: "invalidate_range_end",
            range: "requested",
            atomic,
            cite: "test",
          },
        ],
      },
    });
  const s = parseScenario(
    JSON.parse(Deno.readTextFileSync("scenarios/hugetlb-truncate.json")),
    "scenarios/hugetlb-truncate.json",
    "hugetlb-truncate",
  );
  const v = runScenario(s, huge(0)).violations.filter((x) =>
    x.kind === "sleep-in-atomic" && x.step === 4
  );
  assert.equal(v.length, 2);
  assert.match(v[0].detail, /passes atomic=0 while holding i_mmap_lock:huge/);
  assert.deepEqual(runScenario(s, huge(1)).kinds, []);
});

Deno.test("releaseCount reports an exit whose notifier never gets ->release", () => {
  const rev = v5With({ exit_mmap: { callouts: [] } });
  const out = runScenario(scenario([...mapAndGuestWrite, { op: "exit", mm: "A" }]), rev);
  // KVM's sptes outlive exit_mmap until the VM is destroyed: page-leak accepts their references.
  assert.deepEqual(out.kinds, ["release-count"]);
  assert.match(
    out.violations.find((x) => x.kind === "release-count")!.detail,
    /kvm0 got ->release 0 times/,
  );
});

Deno.test("pageLeak reports the references an XPmem export keeps when its mm exits without ->release", () => {
  const rev = v5With({ exit_mmap: { callouts: [] } });
  const s = parseScenario(
    {
      purpose: "checker test",
      exercises: [],
      cite: "tests/checkers_test.ts",
      secondaries: [{ id: "xpm0", driver: "xpmem", mm: "A" }],
      steps: [
        mapAndGuestWrite[0],
        { op: "register", secondary: "xpm0" },
        { op: "guest", secondary: "xpm0", addr: "0x100000", access: "write" },
        { op: "exit", mm: "A" },
      ],
    },
    "inline.json",
    "inline",
  );
  const out = runScenario(s, rev);
  assert.ok(out.kinds.includes("page-leak"), out.kinds.join(","));
  assert.match(
    out.violations.find((x) => x.kind === "page-leak")!.detail,
    /"xpmem:xpm0:0x100000" is never dropped/,
  );
});

Deno.test("noProgress reports a KVM fault that retries while an invalidation stays open", () => {
  const rev = v5With({
    unmap_region: {
      callouts: [{
        at: "before_unmap_vmas",
        call: "invalidate_range_begin",
        range: "region",
        atomic: 0,
        cite: "test",
      }],
    },
  });
  const out = runScenario(
    scenario([
      ...mapAndGuestWrite,
      { op: "munmap", mm: "A", addr: "0x100000", len: "0x1000" },
      { op: "guest", secondary: "kvm0", addr: "0x101000", access: "read" },
    ]),
    rev,
  );
  const v = out.violations.find((x) => x.kind === "no-progress")!;
  assert.equal(v.step, 4);
  assert.match(v.detail, /mmu_notifier_count=1/);
});

Deno.test("useAfterFree is quiet for KVM, whose shadow ptes hold page references", () => {
  const rev = v5With({ unmap_region: { callouts: [] } });
  const out = runScenario(munmap, rev);
  assert.ok(!out.kinds.includes("use-after-free"));
  assert.ok(out.kinds.includes("stale-secondary"));
});

Deno.test("pteOutsideVma reports exactly the ptes no vma covers, vmas unsorted and overlapping", () => {
  const state = newState();
  const mm = newMm("A");
  state.mms.A = mm;
  const vma = (start: number, end: number) =>
    ({ start, end, read: true, write: false, shared: false, mayWrite: false }) as Vma;
  // Out of order, one inside another, one overlapping the next: [0x10, 0x30) and [0x40, 0x48).
  mm.vmas.push(vma(0x40000, 0x48000), vma(0x10000, 0x30000), vma(0x12000, 0x14000));
  mm.vmas.push(vma(0x2f000, 0x30000));
  const vpns = [0x0f, 0x10, 0x13, 0x20, 0x2f, 0x30, 0x3f, 0x40, 0x47, 0x48, 0x100];
  for (const n of vpns) setPte(mm, n, { t: "swap", slot: n });
  const reports: Violation[] = [];
  const ctx = { kernel: { state }, report: (v: Violation) => reports.push(v) };
  const memory = pteOutsideVma.init!();
  pteOutsideVma.afterStep!(ctx as never, 0, memory);
  const outside = vpns.filter((n) => !findVma(mm, n * 0x1000)).map((n) => `0x${n.toString(16)}000`);
  assert.deepEqual(outside, ["0xf000", "0x30000", "0x3f000", "0x48000", "0x100000"]);
  assert.deepEqual(reports.map((v) => v.where), outside);
  // Reported once: a second look adds nothing.
  pteOutsideVma.afterStep!(ctx as never, 1, memory);
  assert.equal(reports.length, outside.length);
});

Deno.test("release-count expects ->release for the notifiers mmu_notifier_release() finds, not those an unregister took off first", () => {
  // An exit races the unregister of kvm0 (gru0 stays). Where the unregister takes kvm0 off
  // before mmu_notifier_release() reads the list (under its lock), release has nothing to call
  // for it, as if it had unregistered before the exit: no release-count. Counting from the
  // list as it was when the exit began reported kvm0 "got ->release 0 times" on mmun-v3.
  const s = parseScenario(
    {
      purpose: "an exit racing an unregister",
      exercises: ["exit_mmap"],
      cite: "tests/checkers_test.ts",
      secondaries: [
        { id: "gru0", driver: "gru", mm: "A" },
        { id: "kvm0", driver: "kvm", mm: "A" },
      ],
      steps: [
        mmapStep("0x100000", "0x2000"),
        { op: "register", secondary: "gru0" },
        { op: "register", secondary: "kvm0" },
        touchStep("0x100000", "write"),
        {
          op: "race",
          threads: {
            cpu0: [{ op: "exit", mm: "A" }],
            drv: [{ op: "unregister", secondary: "kvm0" }],
          },
        },
      ],
    },
    "checkers_test",
    "exit-unregister",
  );
  for (const id of ["mmun-v3", "emmu-v5", "mainline-2.6.27"]) {
    const r = loadRevisionDir("patches").find((x) => x.id === id)!;
    const x = explore(s, r, { reuse: false });
    assert.equal(x.status, "complete", id);
    assert.deepEqual(x.verdicts, {}, id);
  }
});
