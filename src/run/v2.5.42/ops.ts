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
import type { Kernel, Observation } from "../../kernel/context.ts";
import { call, defPath, type Next, type PathRef, ret } from "../../kernel/steps.ts";
import { errnoName, newMm } from "../../model/state.ts";
import { exitMmap } from "../../kernel/unmap.ts";
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
} from "../../kernel/v2.5.42/nonlinear.ts";
import type { ReadResult } from "../../kernel/v2.5.42/types.ts";
import type { OpResult } from "../ops.ts";
import type { Step } from "../scenario.ts";
import { addTo } from "../../model/_count.ts";

/** PROT_* bits of an `mmap` step's `prot`. */
export function protBits(prot: string | number | boolean | undefined): number {
  return prot === "rw" ? 3 : prot === "r" ? 1 : 0;
}

/** A system call's observation, as announced before it runs (`phase` and `ret` apart). */
type SyscallNote = Omit<Extract<Observation, { type: "syscall" }>, "phase" | "ret">;

/**
 * One 2.5.42 operation (the scenario step `op`, immutable scenario data) on
 * the frame's thread. Returns the operation's result.
 */
export const runOp2542: PathRef<{ op: Step }> = defPath<
  { op: Step },
  // sys: the system call announced at its entry; r: what its kernel path returned
  { sys?: SyscallNote; r?: number; result?: ReadResult },
  Kernel
>("run_op@2.5.42", {
  entry(k, f) {
    const step = f.v.op;
    const th = f.th;
    const a = step.args;
    const mmId = String(a.mm);
    const mm = mmId in k.state.mms ? k.state.mms[mmId] : (k.state.mms[mmId] = newMm(mmId));
    /** Announces the system call `name`, then calls its kernel path; `syscall.exit` ends it. */
    const syscall = (name: string, body: Next): Next => {
      addTo(k.state.counters, "syscalls", 1);
      const base = {
        type: "syscall" as const,
        step: k.step,
        thread: th,
        mm: mm.id,
        call: name,
        args: a,
      };
      f.v.sys = base;
      k.emit({ ...base, phase: "enter" });
      return body;
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
        return syscall("mmap", call(doMmap25, { mm: mm.id, a: args }, "syscall.exit", "r"));
      }
      case "munmap": {
        const args = { mm: mm.id, addr: Number(a.addr), len: Number(a.len) };
        return syscall("munmap", call(doMunmap25, args, "syscall.exit", "r"));
      }
      case "sys_remap_file_pages": {
        const args = {
          mm: mm.id,
          startIn: Number(a.start),
          sizeIn: Number(a.size),
          protIn: Number(a.prot),
          pgoffIn: Number(a.pgoff),
          flags: Number(a.flags ?? 0),
        };
        return syscall("remap_file_pages", call(sysRemapFilePages25, args, "syscall.exit", "r"));
      }
      case "read": {
        const addr = Number(a.addr);
        return call(userRead25, { mm: mm.id, addrIn: addr }, "read.done", "result");
      }
      case "evict": {
        const file = k.state.files[String(a.file)];
        if (a.index !== undefined) return ret(evictPage25(k, file.name, Number(a.index)));
        const counts: Record<string, number> = {};
        for (const i of Object.keys(file.cache).map(Number).sort((x, y) => x - y)) {
          const r = evictPage25(k, file.name, i);
          counts[r] = (counts[r] ?? 0) + 1;
        }
        return ret(
          Object.keys(counts).sort().map((r) => `${counts[r]} ${r}`).join(", ") || "not-cached",
        );
      }
      case "exit":
        return call(exitMmap, { mm: mm.id }, "exit.done");
    }
    throw new Error(`operation ${step.op} is not a 2.5.42 operation`);
  },
  "syscall.exit"(k, f) {
    const r = f.v.r!;
    k.emit({ ...f.v.sys!, phase: "exit", ret: r });
    const result: OpResult = f.v.op.op === "mmap" ? "0x" + r.toString(16) : errnoName(r);
    return ret(result);
  },
  "read.done"(k, f) {
    const addr = Number(f.v.op.args.addr);
    const result = f.v.result!;
    k.emit({
      type: "user-read",
      step: k.step,
      thread: f.th,
      mm: String(f.v.op.args.mm),
      addr,
      result,
    });
    return ret(describeRead(k.state, result));
  },
  "exit.done"() {
    return ret(0);
  },
});
