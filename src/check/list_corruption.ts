/**
 * `list-corruption`: after an operation, a list still holds an entry whose
 * owner is gone (a stack object of a function that returned, a freed
 * notifier).
 *
 * @module
 */
import type { Checker } from "./checker.ts";

/** Creates the checker; a dead entry is reported once. */
export function listCorruption(): Checker {
  const seen = new Set<string>();
  return {
    kind: "list-corruption",
    doc: "no list keeps an entry whose owner no longer exists once an operation has returned",
    observe(ctx, o) {
      if (o.type !== "list-walk") return;
      ctx.report({
        kind: "list-corruption",
        step: o.step,
        where: o.list,
        detail: `${o.thread} ${o.what}`,
      });
    },
    snapshot() {
      return [...seen].sort();
    },
    afterStep(ctx, step) {
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
            });
          }
        }
      }
    },
  };
}
