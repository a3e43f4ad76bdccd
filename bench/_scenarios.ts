/**
 * Scenarios the explorer benchmarks build in code, as raw scenario objects
 * handed to a `parseScenario` (this checkout's, or an older commit's loaded
 * beside it, so the same scenario runs on both).
 *
 * @module
 */

/** A `parseScenario(raw, file, id)` of some commit; `S` is its scenario type. */
export type Parse<S> = (raw: unknown, file: string, id: string) => S;

/** `n` as the hexadecimal string scenarios use. */
function hex(n: number): string {
  return "0x" + n.toString(16);
}

const PAGE = 0x1000;

/** Where the scaled scenario maps its extra pages: clear of the race's 0x100000 mapping. */
const EXTRA = 0x200000;

/** Options of {@link unregisterDispatch}. */
export interface UnregisterDispatchOptions {
  /** The checkout whose `scenarios/race-unregister-dispatch.json` is read (trailing slash). */
  root: string;
  /** Pages of anonymous memory mapped and touched before the race (default 0). */
  pages?: number;
  /** Truncating CPUs in the race (default 1, as in the scenario): `cpu0`, `cpu1`, ... */
  cpus?: number;
}

/**
 * `race-unregister-dispatch` with `pages` more pages of anonymous memory in
 * the same mm, each touched before the race (the world grows, the race stays
 * the same), and optionally more CPUs truncating the file at once (the model
 * of `bench/spin/` has the same parameter).
 *
 * @param parse The `parseScenario` to build it with.
 * @param opts Where to read the scenario, how many pages, how many CPUs.
 * @returns The parsed scenario, id `race-unregister-dispatch+<pages>p<cpus>c`.
 */
export function unregisterDispatch<S>(parse: Parse<S>, opts: UnregisterDispatchOptions): S {
  const { root, pages = 0, cpus = 1 } = opts;
  const raw = JSON.parse(
    Deno.readTextFileSync(`${root}scenarios/race-unregister-dispatch.json`),
  ) as { steps: Record<string, unknown>[] };
  const race = raw.steps.findIndex((s) => s.op === "race");
  const threads = raw.steps[race].threads as Record<string, unknown[]>;
  for (let c = 1; c < cpus; c++) threads[`cpu${c}`] = threads.cpu0;
  if (pages > 0) {
    raw.steps.splice(
      race,
      0,
      {
        op: "mmap",
        mm: "A",
        addr: hex(EXTRA),
        len: hex(pages * PAGE),
        prot: "rw",
        share: "private",
      },
      ...Array.from({ length: pages }, (_, i) => ({
        op: "touch",
        mm: "A",
        addr: hex(EXTRA + i * PAGE),
        access: "write",
      })),
    );
  }
  return parse(raw, "bench", `race-unregister-dispatch+${pages}p${cpus}c`);
}

/**
 * The growth scenario: a device snapshot racing `threads - 1` CPUs, each
 * invalidating the page `n` times.
 *
 * @param parse The `parseScenario` to build it with.
 * @param threads Threads in the race (one snapshot, the rest invalidate).
 * @param n Invalidations per CPU.
 * @returns The parsed scenario, id `storm-<threads>x<n>`.
 */
export function storm<S>(parse: Parse<S>, threads: number, n: number): S {
  const cpus: Record<string, unknown[]> = {};
  for (let t = 0; t < threads - 1; t++) {
    cpus[`cpu${t}`] = Array.from({ length: n }, () => ({
      op: "madvise_dontneed",
      mm: "A",
      addr: "0x100000",
      len: "0x1000",
    }));
  }
  return parse(
    {
      purpose: `snapshot against ${threads - 1} invalidating CPUs, ${n} invalidations each`,
      exercises: [],
      cite: "bench",
      secondaries: [{ id: "hmm0", driver: "hmm", mm: "A" }],
      steps: [
        { op: "mmap", mm: "A", addr: "0x100000", len: "0x2000", prot: "rw", share: "private" },
        { op: "register", secondary: "hmm0" },
        { op: "touch", mm: "A", addr: "0x100000", access: "write" },
        {
          op: "race",
          threads: {
            dev0: [{ op: "snapshot", secondary: "hmm0", addr: "0x100000", len: "0x2000" }],
            ...cpus,
          },
        },
      ],
    },
    "bench",
    `storm-${threads}x${n}`,
  );
}

/**
 * CPUs racing on one mm that a KVM guest mirrors. Each CPU runs the first
 * `ops` of: write its own page, read the common page, unmap its own page,
 * write the common page, read its own page again (SIGSEGV by then, or a
 * fault if another CPU's order lets it), unmap the common page. Every unmap
 * calls out to KVM, which takes its mmu_lock.
 *
 * @param parse The `parseScenario` to build it with.
 * @param threads How many CPUs.
 * @param ops Operations per CPU (1 to 6).
 * @returns The parsed scenario, id `cpus-<threads>x<ops>`.
 */
export function cpus<S>(parse: Parse<S>, threads: number, ops: number): S {
  const common = hex(0x100000 + threads * PAGE);
  const race: Record<string, unknown[]> = {};
  for (let t = 0; t < threads; t++) {
    const own = hex(0x100000 + t * PAGE);
    race[`cpu${t}`] = [
      { op: "touch", mm: "A", addr: own, access: "write" },
      { op: "touch", mm: "A", addr: common, access: "read" },
      { op: "munmap", mm: "A", addr: own, len: hex(PAGE) },
      { op: "touch", mm: "A", addr: common, access: "write" },
      { op: "touch", mm: "A", addr: own, access: "read" },
      { op: "munmap", mm: "A", addr: common, len: hex(PAGE) },
    ].slice(0, ops);
  }
  return parse(
    {
      purpose: `${threads} CPUs, ${ops} touches or munmaps each, on one mm mirrored by KVM`,
      exercises: [],
      cite: "bench",
      secondaries: [{ id: "kvm0", driver: "kvm", mm: "A" }],
      steps: [
        {
          op: "mmap",
          mm: "A",
          addr: "0x100000",
          len: hex((threads + 1) * PAGE),
          prot: "rw",
          share: "private",
        },
        { op: "register", secondary: "kvm0" },
        { op: "race", threads: race },
        { op: "exit", mm: "A" },
      ],
    },
    "bench",
    `cpus-${threads}x${ops}`,
  );
}
