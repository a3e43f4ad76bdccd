/**
 * `errno`: a `remap_file_pages` call returns a value the reference
 * semantics do not allow for its input ({@link remapReference}). The
 * reference is computed from the state when the call is made.
 *
 * @module
 */
import { errnoName as name, hex } from "../model/state.ts";
import type { Checker } from "./checker.ts";
import { type Reference, remapReference } from "./intent.ts";

/**
 * The checker. Its memory: the reference for the call in progress (`pending`,
 * computed when the call is made, dropped when it returns).
 */
export const errnoCheck: Checker<{ pending: Reference | undefined }> = {
  kind: "errno",
  doc:
    "remap_file_pages returns what the reference semantics allow for its input (0, -EINVAL, -EFAULT past the end of the file, -ENOMEM only when an allocation fails)",
  init: () => ({ pending: undefined }),
  observe(ctx, o, mem) {
    if (o.type !== "syscall" || o.call !== "remap_file_pages") return;
    const k = ctx.kernel;
    if (o.phase === "enter") {
      const fails = Object.values(k.failPlan).some((l) => l && l.length > 0);
      mem.pending = remapReference(k.state, o.mm, o.args, fails);
      return;
    }
    const ref = mem.pending;
    mem.pending = undefined;
    if (!ref || ref.accept.includes(o.ret!)) return;
    const a = o.args;
    ctx.report({
      kind: "errno",
      step: o.step,
      where: hex(Number(a.start)),
      detail: `remap_file_pages(start=${hex(Number(a.start))}, size=${hex(Number(a.size))}, pgoff=${
        Number(a.pgoff)
      }, flags=${hex(Number(a.flags ?? 0))}) returned ${name(o.ret!)}; the reference returns ${
        ref.accept.map(name).join(" or ")
      } (${ref.why})`,
    });
  },
};
