/**
 * `list-corruption`: after an operation, a list still holds an entry whose
 * owner is gone (a stack object of a function that returned, a freed
 * notifier).
 *
 * @module
 */
import type { Checker } from "./checker.ts";

/**
 * The checker; a dead entry is reported once. Its memory: the entries
 * reported (`seen`, in the order of the reports).
 */
export const listCorruption: Checker<{ seen: Set<string> }> = {
  kind: "list-corruption",
  doc: "no list keeps an entry whose owner no longer exists once an operation has returned",
  init: () => ({ seen: new Set() }),
  observe(ctx, o) {
    if (o.type !== "list-walk") return;
    ctx.report({
      kind: "list-corruption",
      step: o.step,
      where: o.list,
      detail: `${o.thread} ${o.what}`,
    });
  },
  afterStep(ctx, step, { seen }) {
    for (const id of Object.keys(ctx.chain.secondaries).sort()) {
      for (const list of ctx.chain.secondaries[id].lists?.() ?? []) {
        for (const e of list.entries) {
          const key = `${list.name}/${e.id}`;
          if (e.alive || seen.has(key)) continue;
          seen.add(key);
          ctx.report({
            kind: "list-corruption",
            step,
            where: list.name,
            detail: `${list.name} still holds ${e.id}, whose owner has returned`,
            secondary: id,
          });
        }
      }
    }
  },
};
