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
import { type Expected, isWrongPage, UserIntent } from "./intent.ts";
import { addressResolver } from "../kernel/nonlinear.ts";

function describe(e: Expected): string {
  return e === "any" ? "any page" : e.join(" or ");
}

/** Creates the checker. */
export function wrongPage(): Checker {
  const intent = new UserIntent();
  const reported = new Set<string>();
  return {
    kind: "wrong-page",
    doc:
      "a read returns the file page the user's mmap and remap_file_pages calls put at that address",
    observe(ctx, o) {
      if (o.type === "syscall" && o.phase === "exit") {
        intent.record(ctx.kernel.state, o.mm, o.call, o.args, o.ret!);
      } else if (o.type === "user-read" && "page" in o.result) {
        const state = ctx.kernel.state;
        const owner = state.pages[o.result.page].owner;
        const sees = owner.kind === "file" ? `${owner.file}:${owner.index}` : owner.kind;
        const e = intent.expected(o.mm, o.addr);
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
    atEnd(ctx, lastStep) {
      const k = ctx.kernel;
      if (!k.nonlinear) return;
      const resolveAddress = addressResolver(k);
      for (const id of Object.keys(intent.pages).sort()) {
        const mm = k.state.mms[id];
        if (!mm || mm.exited) continue;
        const vpns = Object.keys(intent.pages[id]).map(Number).sort((a, b) => a - b);
        for (const n of vpns) {
          const addr = n * PAGE_SIZE;
          if (reported.has(`${id}:${addr}`)) continue;
          const e = intent.pages[id][n];
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
    snapshot: () => ({ intent: intent.pages, reported: [...reported].sort() }),
  };
}
