/**
 * The model's rw semaphores keep their waiters in order, as v2.6.24's
 * lib/rwsem.c does: a reader that comes while a writer waits queues behind
 * it, even when only readers hold the semaphore, and a release lets the
 * front of the queue in; on the revisions of 4.x's rwsem (`kernel.rwsem_wake`
 * "wake") a writer may take it ahead of a writer the release woke.
 *
 * @module
 */
import assert from "node:assert/strict";
import { explore, loadRevisionDir, loadScenarioDir, parseScenario, Run } from "../mod.ts";
import { mmapStep, touchStep } from "./_fixtures.ts";

const revision = loadRevisionDir("patches").find((r) => r.id === "mainline-2.6.27")!;
const SEM = "mmap_sem:A";

/**
 * Three CPUs on one mm: cpu0 faults a page in (`down_read()` of mmap_sem in
 * the fault path), cpu1 unmaps a third (`down_write()`), and cpu2 runs `op`
 * on the second (by default it faults it in).
 */
function threeCpus(op: unknown = touchStep("0x101000", "write")) {
  return parseScenario(
    {
      purpose: "three CPUs fault and unmap pages of one mm",
      exercises: [],
      cite: "v2.6.24 lib/rwsem.c",
      steps: [
        mmapStep("0x100000", "0x3000"),
        {
          op: "race",
          threads: {
            cpu0: [touchStep("0x100000", "write")],
            cpu1: [{ op: "munmap", mm: "A", addr: "0x102000", len: "0x1000" }],
            cpu2: [op],
          },
        },
      ],
    },
    "locks_test",
    "rwsem-order",
  );
}

Deno.test("a reader queues behind a waiting writer, and the release lets the writer in first", () => {
  const run = new Run(threeCpus(), revision, { preemptive: true, trace: false });
  const k = run.kernel;
  const queue = () => (k.queued[SEM] ?? []).map((w) => `${w.thread} ${w.kind}`);
  /** Who took the semaphore in the race, in order (forced steps too, which `next()` runs). */
  const took: string[] = [];
  const acquire = k.acquire.bind(k);
  k.acquire = (thread, name, kind) => {
    if (name === SEM && run.stepIndex === 1) took.push(`${thread} ${kind}`);
    acquire(thread, name, kind);
  };
  let seenQueue: string[] = [];
  for (let names = run.next(); names; names = run.next()) {
    // cpu0 first until it holds the semaphore; then cpu1 until it waits; then cpu2; then in order.
    const wants = !took.includes("cpu0 rwsem-read")
      ? "cpu0"
      : queue().length === 0 && !took.includes("cpu1 rwsem-write")
      ? "cpu1"
      : queue().length === 1 && !took.includes("cpu2 rwsem-read")
      ? "cpu2"
      : names[0];
    run.pick(names.includes(wants) ? wants : names[0]);
    if (queue().length > seenQueue.length) seenQueue = queue();
  }
  // cpu2 came while cpu0 held the semaphore for read and cpu1 waited to write: it queued.
  assert.deepEqual(seenQueue, ["cpu1 rwsem-write", "cpu2 rwsem-read"]);
  assert.deepEqual(took, ["cpu0 rwsem-read", "cpu1 rwsem-write", "cpu2 rwsem-read"]);
  assert.equal(k.queued[SEM], undefined);
  assert.deepEqual(run.outcome().violations, []);
});

Deno.test("Kernel.canTake() follows the wait queue of an rw semaphore", () => {
  const k = new Run(threeCpus(), revision, {}).kernel;
  k.acquire("r0", SEM, "rwsem-read");
  assert.ok(k.canTake(SEM, "rwsem-read", "r1"), "readers share it while no one waits");
  assert.ok(!k.canTake(SEM, "rwsem-write", "w1"));
  k.queued[SEM] = [
    { thread: "w1", kind: "rwsem-write" },
    { thread: "r2", kind: "rwsem-read" },
  ];
  assert.ok(!k.canTake(SEM, "rwsem-read", "r1"), "a newcomer reader waits behind the writer");
  assert.ok(!k.canTake(SEM, "rwsem-read", "r2"), "a queued reader behind a writer waits");
  assert.ok(!k.canTake(SEM, "rwsem-write", "w1"), "the writer waits for the reader");
  // The reader that holds it cannot take it again: the lock path stops it as a deadlock.
  assert.ok(!k.canTake(SEM, "rwsem-read", "r0") && k.holds("r0", SEM));
  k.unlock("r0", SEM);
  assert.ok(k.canTake(SEM, "rwsem-write", "w1"), "the writer at the front goes first");
  assert.ok(!k.canTake(SEM, "rwsem-write", "w9"), "a newcomer writer does not jump the queue");
  k.acquire("w1", SEM, "rwsem-write");
  assert.deepEqual(k.queued[SEM], [{ thread: "r2", kind: "rwsem-read" }]);
  assert.ok(!k.canTake(SEM, "rwsem-read", "r2"));
  k.unlock("w1", SEM);
  assert.ok(k.canTake(SEM, "rwsem-read", "r2"));
  k.acquire("r2", SEM, "rwsem-read");
  assert.equal(k.queued[SEM], undefined, "an empty queue is gone");
  // Readers at the front go in together, up to the first writer.
  k.queued[SEM] = [
    { thread: "r3", kind: "rwsem-read" },
    { thread: "r4", kind: "rwsem-read" },
    { thread: "w5", kind: "rwsem-write" },
    { thread: "r6", kind: "rwsem-read" },
  ];
  assert.ok(k.canTake(SEM, "rwsem-read", "r3") && k.canTake(SEM, "rwsem-read", "r4"));
  assert.ok(!k.canTake(SEM, "rwsem-read", "r6"));
});

Deno.test("mmu_notifier_register() takes and drops every file's i_mmap_lock in a state the explorer copied", () => {
  // v2.6.27 do_mmu_notifier_register() takes mm_take_all_locks() and drops them after the list
  // update (mm/mmu_notifier.c:160-184): on
  // mainline-2.6.27 the model takes mmap_sem, then each file's i_mmap_lock, a scheduling point
  // each, and drops them in reverse order. The list of files is the frame's, which a copy of the
  // run freezes: dropping them reversed the list in place and threw once two files were mapped.
  const files = ["f0", "f1"];
  assert.equal(revision.chain.register, "takes-mmap-sem-all-locks");
  const s = parseScenario(
    {
      purpose: "a notifier registered while a CPU faults, two files mapped",
      exercises: [],
      cite: "v2.6.27 mm/mmu_notifier.c mmu_notifier_register()",
      files: files.map((name) => ({ name, pages: 2, kind: "shmem" })),
      secondaries: [{ id: "gru0", driver: "gru", mm: "A" }],
      steps: [
        ...files.map((file, i) => ({
          op: "mmap",
          mm: "A",
          addr: `0x${(0x100000 + i * 0x100000).toString(16)}`,
          len: "0x2000",
          prot: "rw",
          share: "shared",
          file,
        })),
        {
          op: "race",
          threads: {
            drv: [{ op: "register", secondary: "gru0" }],
            cpu0: [touchStep("0x100000", "read")],
          },
        },
      ],
    },
    "locks_test",
    "register-all-locks",
  );
  const x = explore(s, revision, { reuse: false });
  assert.equal(x.status, "complete");
  assert.deepEqual(x.endings, [[]]);
  assert.ok(x.states > 1, `${x.states} states`);
});

Deno.test("mmu_notifier_register() from a caller that holds mmap_sem does not take it again (2.6.27)", () => {
  // __mmu_notifier_register(): do_mmu_notifier_register(mn, mm, 0), and 'if (take_mmap_sem)
  // down_write(&mm->mmap_sem);' (v2.6.27 mm/mmu_notifier.c:158-159, 218-221). Taking it again
  // deadlocked the thread on itself (no-progress).
  const s = parseScenario(
    {
      purpose: "a driver registers with mmap_sem held",
      exercises: [],
      cite: "v2.6.27 mm/mmu_notifier.c __mmu_notifier_register()",
      secondaries: [{ id: "gru0", driver: "gru", mm: "A" }],
      steps: [
        mmapStep("0x100000", "0x2000"),
        { op: "register", secondary: "gru0", holding_mmap_sem: true },
        { op: "guest", secondary: "gru0", addr: "0x100000", access: "write" },
      ],
    },
    "locks_test",
    "register-holding",
  );
  const run = new Run(s, revision);
  run.complete();
  assert.deepEqual(run.outcome().kinds, []);
  assert.equal(run.outcome().returns[2].value, "filled");
});

Deno.test("exit's mmu_notifier_release() waits in synchronize_rcu() for the ->release an unregister runs (2.6.27)", () => {
  // mmu_notifier_unregister() takes the notifier off and enters an RCU read section before it
  // drops the spinlock, then calls ->release (v2.6.27 mm/mmu_notifier.c:246-258);
  // __mmu_notifier_release() finds the list empty and synchronize_rcu() (line 77) "prevents
  // mmu_notifier_release to return to exit_mmap (which would proceed freeing all pages in the
  // mm) until the ->release method returns". The unregister is held inside GRU's ->release
  // (at its TLB lock) while the exit runs as far as it can: it waits in synchronize_rcu with
  // every page still there. It returned at once, and the exit freed the page under the flush.
  const s = parseScenario(
    {
      purpose: "exit racing the GRU's unregister",
      exercises: ["exit_mmap"],
      cite: "v2.6.27 mm/mmu_notifier.c:32-78, 242-275",
      secondaries: [{ id: "gru0", driver: "gru", mm: "A" }],
      steps: [
        mmapStep("0x100000", "0x2000"),
        { op: "register", secondary: "gru0" },
        touchStep("0x100000", "write"),
        { op: "guest", secondary: "gru0", addr: "0x100000", access: "write" },
        {
          op: "race",
          threads: {
            cpu0: [{ op: "exit", mm: "A" }],
            drv: [{ op: "unregister", secondary: "gru0" }],
          },
        },
      ],
    },
    "locks_test",
    "exit-unregister",
  );
  const exitPoints: string[] = [];
  let parked = false;
  /** The pages freed when the unregister goes on with its ->release. */
  let freedWhenResumed = -1;
  const run: Run = new Run(s, revision, {
    preemptive: true,
    trace: false,
    onPoint: (step, thread, p) => {
      if (step === 4 && thread === "cpu0") exitPoints.push(p.label);
      // The unregister's first point after it was held: how far has the exit got?
      if (step === 4 && thread === "drv" && parked && freedWhenResumed < 0) {
        freedWhenResumed = Object.values(run.kernel.state.pages).filter((x) => x.freed).length;
      }
    },
  });
  run.complete((enabled) => {
    const drv = enabled.find((t) => t.name === "drv");
    if (drv && !parked) {
      if (drv.last?.label === "lock gru_tlb_lock:gru0") parked = true;
      else return drv;
    }
    return enabled.find((t) => t.name === "cpu0") ?? enabled[0];
  });
  assert.ok(parked, "the unregister reached GRU's ->release");
  assert.ok(exitPoints.includes("synchronize_rcu"), exitPoints.join(", "));
  assert.equal(freedWhenResumed, 0);
  assert.deepEqual(run.outcome().kinds, []);
});

Deno.test("kernel.rmap_lock rwsem: truncation holds i_mmap_rwsem for write, under which XPmem may sleep; 2.6.27's i_mmap_lock is a spinlock", async (t) => {
  // v4.9 mm/memory.c:2505 unmap_mapping_range(): 'i_mmap_lock_write(mapping);' is
  // 'down_write(&mapping->i_mmap_rwsem)' (include/linux/fs.h:503-506), and the zap under it calls
  // invalidate_range_start, where XPmem waits for its remote acks. 2.6.27 takes
  // 'spin_lock(&mapping->i_mmap_lock)' there (mm/memory.c unmap_mapping_range()).
  const s = parseScenario(
    {
      purpose: "truncation of a file XPmem mirrors",
      exercises: ["zap_page_range"],
      cite: "v4.9 mm/memory.c:2505; v2.6.27 mm/memory.c unmap_mapping_range()",
      files: [{ name: "data", pages: 2, kind: "shmem" }],
      secondaries: [{ id: "xpm0", driver: "xpmem", mm: "A" }],
      steps: [
        mmapStep("0x200000", "0x2000", { file: "data" }),
        { op: "register", secondary: "xpm0" },
        touchStep("0x200000", "write"),
        { op: "truncate", file: "data", pages: 0 },
      ],
    },
    "locks_test",
    "truncate-xpmem",
  );
  const starts = (id: string) => {
    const run = new Run(s, loadRevisionDir("patches").find((r) => r.id === id)!, {});
    run.complete();
    const calls = run.outcome().trace.filter((c) =>
      c.call === "invalidate_range_start" && c.locks.includes("i_mmap_lock:data")
    );
    return { calls, kinds: run.kinds() };
  };
  await t.step(
    "hmm-sequence-retry: the callout is not in atomic context, and nothing is reported",
    () => {
      const { calls, kinds } = starts("hmm-sequence-retry");
      assert.ok(calls.length > 0);
      for (const c of calls) assert.equal(c.inAtomic, false);
      assert.deepEqual(kinds, []);
    },
  );
  await t.step(
    "mainline-2.6.27: the callout is in atomic context, and XPmem's sleep is reported",
    () => {
      const { calls, kinds } = starts("mainline-2.6.27");
      assert.ok(calls.length > 0);
      for (const c of calls) assert.equal(c.inAtomic, true);
      assert.ok(kinds.includes("sleep-in-atomic"));
    },
  );
});

Deno.test("kernel.rwsem_wake: a writer coming after a release takes the semaphore ahead of the writer it woke on 4.x; 2.6 grants it to that writer", () => {
  // cpu0 faults (mmap_sem for read), cpu1 and cpu2 each unmap a page (for write). cpu1 queues
  // behind cpu0's read hold; cpu0's fault ends and its up_read() releases the semaphore; then
  // cpu2 comes, before cpu1 has run. 2.6.24's __rwsem_do_wake() gave the semaphore to cpu1 before
  // waking it (lib/rwsem.c:71-86), so cpu2 queues behind it. 4.x's __rwsem_mark_wake() only
  // woke cpu1 ('other writers are able to steal it', v4.9 kernel/locking/rwsem-xadd.c:138-148),
  // and cpu2 takes the free semaphore first (rwsem_try_write_lock_unqueued(), 302-318).
  const s = threeCpus({ op: "munmap", mm: "A", addr: "0x101000", len: "0x1000" });
  const hmm = loadRevisionDir("patches").find((r) => r.id === "hmm-sequence-retry")!;
  assert.equal(revision.kernel.rwsem_wake, "grant");
  assert.equal(hmm.kernel.rwsem_wake, "wake");
  for (const [rev, writers] of [[revision, "cpu1 cpu2"], [hmm, "cpu2 cpu1"]] as const) {
    const run = new Run(s, rev, { preemptive: true, trace: false });
    const k = run.kernel;
    const took: string[] = [];
    const acquire = k.acquire.bind(k);
    k.acquire = (thread, name, kind) => {
      if (name === SEM && run.stepIndex === 1) took.push(`${thread} ${kind}`);
      acquire(thread, name, kind);
    };
    const queued = (t: string) => (k.queued[SEM] ?? []).some((w) => w.thread === t);
    const reading = () => k.sharers[SEM]?.cpu0 !== undefined;
    for (let names = run.next(); names; names = run.next()) {
      // cpu0 until it holds the semaphore; cpu1 until it waits; cpu0 until it lets it go; cpu2.
      const wants = !took.includes("cpu0 rwsem-read")
        ? "cpu0"
        : !queued("cpu1") && took.length === 1
        ? "cpu1"
        : reading()
        ? "cpu0"
        : took.length === 1
        ? "cpu2"
        : names[0];
      run.pick(names.includes(wants) ? wants : names[0]);
    }
    assert.deepEqual(
      took,
      ["cpu0 rwsem-read", ...writers.split(" ").map((t) => `${t} rwsem-write`)],
      rev.id,
    );
    assert.equal(k.queued[SEM], undefined);
    assert.deepEqual(run.outcome().violations, [], rev.id);
  }
});

Deno.test("kernel.zap_break none: 4.x's truncation zaps under i_mmap_rwsem without a lock break or a restart; 2.6 breaks the contended lock after a ZAP_BLOCK_SIZE", () => {
  // scenarios/truncate-contended.json: nine written pages of a shared file, truncated with the
  // lock contended. 2.6.24's unmap_vmas() stops after ZAP_BLOCK_SIZE (mm/memory.c:853-860) and
  // unmap_mapping_range() drops the lock and restarts (1779-1790): two invalidate_range_start
  // callouts. v4.9's unmap_vmas() zaps the vma whole (mm/memory.c:1366-1376) and
  // unmap_mapping_range() holds i_mmap_rwsem over the walk (2484-2509): one, for the first walk.
  const s = loadScenarioDir("scenarios").find((x) => x.id === "truncate-contended")!;
  const truncation = s.steps.findIndex((x) => x.op === "truncate");
  const walk = (rev: (typeof revisions)[number]) => {
    const labels: string[] = [];
    const run = new Run(s, rev, {
      onPoint: (step, _thread, p) => void (step === truncation && labels.push(p.label)),
    });
    run.complete();
    const starts = run.outcome().trace.filter((c) =>
      c.step === truncation && c.call === "invalidate_range_start"
    );
    return { labels, starts, kinds: run.kinds() };
  };
  const revisions = loadRevisionDir("patches");
  const byId = (id: string) => revisions.find((r) => r.id === id)!;
  assert.equal(byId("mainline-2.6.27").kernel.zap_break, "zap-block");
  assert.equal(byId("hmm-sequence-retry").kernel.zap_break, "none");
  const old = walk(byId("mainline-2.6.27"));
  assert.ok(old.labels.includes("unmap_mapping_range:lock_break"));
  const now = walk(byId("hmm-sequence-retry"));
  assert.ok(!now.labels.includes("unmap_mapping_range:lock_break"));
  assert.equal(now.starts.length, old.starts.length - 1, "the restart's callout is gone");
  assert.deepEqual(now.kinds, []);
});

Deno.test("kernel.rmap_lock rwsem: __unmap_hugepage_range() takes i_mmap_rwsem for write, and its callouts are not in atomic context", () => {
  // v4.9 mm/memory.c:1339-1340: 'i_mmap_lock_write(vma->vm_file->f_mapping);
  // __unmap_hugepage_range_final(...)'; v2.6.27 mm/hugetlb.c:1739: 'spin_lock(&vma->vm_file->
  // f_mapping->i_mmap_lock);'.
  const s = loadScenarioDir("scenarios").find((x) => x.id === "hugetlb-munmap")!;
  const calls = (id: string) => {
    const run = new Run(s, loadRevisionDir("patches").find((r) => r.id === id)!, {});
    run.complete();
    return run.outcome().trace.filter((c) => c.path === "__unmap_hugepage_range");
  };
  const old = calls("mainline-2.6.27");
  assert.ok(old.length > 0 && old.every((c) => c.inAtomic));
  const now = calls("hmm-sequence-retry");
  assert.equal(now.length, old.length);
  assert.ok(now.every((c) => !c.inAtomic && c.locks.some((l) => l.startsWith("i_mmap_lock:"))));
});

Deno.test("kernel.rmap_lock rwsem: move_ptes() takes no i_mmap lock for the new vma of an mremap; 2.6 takes the file's i_mmap_lock", () => {
  // v2.6.24 mm/mremap.c:86 'spin_lock(&mapping->i_mmap_lock);' for a file vma; v4.9
  // mm/mremap.c:133-134 'if (need_rmap_locks) take_rmap_locks(vma);', false for a new vma
  // (mm/mmap.c:3063).
  const s = parseScenario(
    {
      purpose: "mremap of a shared file mapping",
      exercises: ["move_ptes"],
      cite: "v2.6.24 mm/mremap.c:86; v4.9 mm/mremap.c:133-134",
      files: [{ name: "data", pages: 2, kind: "shmem" }],
      steps: [
        mmapStep("0x200000", "0x1000", { file: "data" }),
        touchStep("0x200000", "write"),
        { op: "mremap", mm: "A", addr: "0x200000", len: "0x1000", new_addr: "0x800000" },
      ],
    },
    "locks_test",
    "mremap-file",
  );
  const locks = (id: string) => {
    const labels: string[] = [];
    const run = new Run(s, loadRevisionDir("patches").find((r) => r.id === id)!, {
      preemptive: true,
      onPoint: (step, _thread, p) => void (step === 2 && labels.push(p.label)),
    });
    run.complete();
    assert.deepEqual(run.kinds(), [], id);
    assert.equal(run.kernel.state.mms.A.ptes[0x800]?.t, "present", id);
    return labels.filter((l) => l.startsWith("lock i_mmap_lock:"));
  };
  // mremap takes the lock also to link the new vma and unlink the old one, on both.
  const old = locks("mainline-2.6.27");
  assert.ok(old.length > 0);
  assert.equal(locks("hmm-sequence-retry").length, old.length - 1, "move_ptes() took none");
});
