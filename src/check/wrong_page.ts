/**
 * `wrong-page`: a user read through an address returns a file page other
 * than the one the user's own calls put there ({@link UserIntent}): at each
 * `read` step, and at the end for every address the user mapped (resolved
 * as a read would, without changing the state). A signal or a hang is not
 * a wrong page (the `no-progress` checker reports a hang).
 *
 * @module
 */
import { hex } from "../model/state.ts";
import { PAGE_SIZE } from "../model/types.ts";
import type { Checker } from "./checker.ts";
import { dict } from "../model/_dict.ts";
import { type Expected, expectedAt, isWrongPage, recordCall, type UserIntent } from "./intent.ts";
import { addressResolver } from "../kernel/v2.5.42/nonlinear.ts";

/** What the user expects, as the reports say it. */
function describe(e: Expected): string {
  return e === "any" ? "any page" : e.join(" or ");
}

/** What {@link wrongPage} remembers. */
export interface WrongPageMemory {
  /** What the user's calls put at each address. */
  intent: UserIntent;
  /** Pages already reported at a read (`mm:page address`, in the order of the reports). */
  reported: Set<string>;
}

/** The checker; it follows the user's intent from the calls and compares reads with it. */
export const wrongPage: Checker<WrongPageMemory> = {
  kind: "wrong-page",
  doc:
    "a read returns the file page the user's mmap and remap_file_pages calls put at that address",
  init: () => ({ intent: dict(), reported: new Set() }),
  observe(ctx, o, { intent, reported }) {
    if (o.type === "syscall" && o.phase === "exit") {
      recordCall(intent, ctx.kernel.state, o.mm, o.call, o.args, o.ret!);
    } else if (o.type === "user-read" && "page" in o.result) {
      const state = ctx.kernel.state;
      const owner = state.pages[o.result.page].owner;
      const sees = owner.kind === "file" ? `${owner.file}:${owner.index}` : owner.kind;
      const e = expectedAt(intent, o.mm, o.addr);
      if (!isWrongPage(e, sees)) return;
      ctx.report({
        kind: "wrong-page",
        step: o.step,
        where: hex(o.addr),
        detail: `a read finds ${sees}; the user mapped ${describe(e!)} there`,
      });
      reported.add(`${o.mm}:${o.addr - (o.addr % PAGE_SIZE)}`);
    }
  },
  atEnd(ctx, lastStep, { intent, reported }) {
    const k = ctx.kernel;
    if (!k.nonlinear) return;
    const resolveAddress = addressResolver(k);
    for (const id of Object.keys(intent).sort()) {
      const mm = k.state.mms[id];
      if (!mm || mm.exited) continue;
      const vpns = Object.keys(intent[id]).map(Number).sort((a, b) => a - b);
      for (const n of vpns) {
        const addr = n * PAGE_SIZE;
        if (reported.has(`${id}:${addr}`)) continue;
        const e = intent[id][n];
        const sees = resolveAddress(mm, addr);
        if (!isWrongPage(e, sees)) continue;
        ctx.report({
          kind: "wrong-page",
          step: lastStep,
          where: hex(addr),
          detail: `at the end a read would find ${sees}; the user mapped ${describe(e)} there`,
        });
      }
    }
  },
};
