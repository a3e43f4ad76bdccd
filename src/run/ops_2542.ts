/**
 * Scenario operations of the 2.5.42 kernel tree: `mmap` with MAP_POPULATE,
 * MAP_NONBLOCK and MAP_LOCKED, `munmap`, the raw `sys_remap_file_pages`
 * syscall, a user `read` through an address, and `evict` (memory pressure
 * on a page-cache page). System calls are announced to the checkers before
 * and after they run, so the `errno` and `wrong-page` checkers can compare
 * them with what the user asked for.
 *
 * @module
 */
import type { KGen } from "../kernel/context.ts";
import { errnoName, newMm } from "../model/state.ts";
import { exitMmap } from "../kernel/unmap.ts";
import {
  describeRead,
  doMmap25,
  doMunmap25,
  evictPage25,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_POPULATE,
  sysRemapFilePages25,
  userRead25,
} from "../kernel/nonlinear.ts";
import type { OpResult, World } from "./ops.ts";
import type { Step } from "./scenario.ts";

/** PROT_* bits of an `mmap` step's `prot`. */
export function protBits(prot: string | number | boolean | undefined): number {
  return prot === "rw" ? 3 : prot === "r" ? 1 : 0;
}

/** The generator of one 2.5.42 operation. */
export function* runOp2542(w: World, step: Step): KGen<OpResult> {
  const k = w.kernel;
  const th = step.thread;
  const a = step.args;
  const mmId = String(a.mm);
  const mm = mmId in k.state.mms ? k.state.mms[mmId] : (k.state.mms[mmId] = newMm(mmId));
  const syscall = function* (call: string, args: Step["args"], body: KGen<number>): KGen<number> {
    k.state.counters.syscalls++;
    const base = { type: "syscall" as const, step: k.step, thread: th, mm: mm.id, call, args };
    k.emit({ ...base, phase: "enter" });
    const ret = yield* body;
    k.emit({ ...base, phase: "exit", ret });
    return ret;
  };
  switch (step.op) {
    case "mmap": {
      const flags = (a.locked ? MAP_LOCKED : 0) | (a.populate ? MAP_POPULATE : 0) |
        (a.nonblock ? MAP_NONBLOCK : 0);
      const args = {
        addr: Number(a.addr),
        len: Number(a.len),
        prot: protBits(a.prot),
        shared: a.share === "shared",
        flags,
        file: a.file === undefined ? undefined : String(a.file),
        pgoff: Number(a.pgoff ?? 0),
      };
      const r = yield* syscall("mmap", a, doMmap25(k, th, mm, args));
      return "0x" + r.toString(16);
    }
    case "munmap":
      return errnoName(
        yield* syscall("munmap", a, doMunmap25(k, th, mm, Number(a.addr), Number(a.len))),
      );
    case "sys_remap_file_pages": {
      const body = sysRemapFilePages25(
        k,
        th,
        mm,
        Number(a.start),
        Number(a.size),
        Number(a.prot),
        Number(a.pgoff),
        Number(a.flags ?? 0),
      );
      return errnoName(yield* syscall("remap_file_pages", a, body));
    }
    case "read": {
      const addr = Number(a.addr);
      const result = yield* userRead25(k, th, mm, addr);
      k.emit({ type: "user-read", step: k.step, thread: th, mm: mm.id, addr, result });
      return describeRead(k.state, result);
    }
    case "evict": {
      const f = k.state.files[String(a.file)];
      if (a.index !== undefined) return evictPage25(k, f.name, Number(a.index));
      const counts: Record<string, number> = {};
      for (const i of Object.keys(f.cache).map(Number).sort((x, y) => x - y)) {
        const r = evictPage25(k, f.name, i);
        counts[r] = (counts[r] ?? 0) + 1;
      }
      return Object.keys(counts).sort().map((r) => `${counts[r]} ${r}`).join(", ") || "not-cached";
    }
    case "exit":
      yield* exitMmap(k, th, mm);
      return 0;
  }
  throw new Error(`operation ${step.op} is not a 2.5.42 operation`);
}
