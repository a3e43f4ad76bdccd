/**
 * Every behaviour a 2.5.42 revision config selects is pinned: changing any
 * one `nonlinear` key of any nonlinear revision to any other value it can
 * take makes at least one pinned expectation of that revision fail.
 */
import assert from "node:assert/strict";
import {
  loadRevisionDir,
  loadScenarioDir,
  type NonlinearConfig,
  OFFSET_EXPRS,
  type Revision,
  runScenario,
} from "../mod.ts";
import { expectationFor, loadExpectations, mismatch } from "./_expected.ts";

const table = loadExpectations();
const scenarios = loadScenarioDir("scenarios").filter((s) => s.kernel === "2.5.42");
const revisions = loadRevisionDir("patches").filter((r) => r.base === "2.5.42");

/** Every single-key change of a nonlinear config, with a name for it. */
function mutants(n: NonlinearConfig): [string, NonlinearConfig][] {
  const out: [string, NonlinearConfig][] = [];
  const with_ = (name: string, m: NonlinearConfig) => out.push([name, m]);
  for (const align of ["page-align-up", "page-mask-down"] as const) {
    if (align !== n.remapArgs.align) {
      with_(`remap_args.align=${align}`, { ...n, remapArgs: { ...n.remapArgs, align } });
    }
  }
  for (const end of ["before-align", "after-align"] as const) {
    if (end !== n.remapArgs.end) {
      with_(`remap_args.end=${end}`, { ...n, remapArgs: { ...n.remapArgs, end } });
    }
  }
  for (const prot of ["mask-and-pass", "einval-if-nonzero"] as const) {
    if (prot !== n.remapArgs.prot) {
      with_(`remap_args.prot=${prot}`, { ...n, remapArgs: { ...n.remapArgs, prot } });
    }
  }
  for (const offsetLimit of ["none", "pte-file-max-bits"] as const) {
    if (offsetLimit !== n.remapArgs.offsetLimit) {
      with_(`remap_args.offset_limit=${offsetLimit}`, {
        ...n,
        remapArgs: { ...n.remapArgs, offsetLimit },
      });
    }
  }
  const offsets = Object.keys(OFFSET_EXPRS);
  const prots: NonlinearConfig["defaultProt"][] = [
    { set: "keep" },
    { set: "force-none" },
    ...offsets.map((offset) => ({ set: "force-none-unless-offset-matches" as const, offset })),
  ];
  for (const p of prots) {
    if (p.set === n.defaultProt.set && p.offset === n.defaultProt.offset) continue;
    with_(`default_prot=${p.set}${p.offset ? ` ${p.offset}` : ""}`, { ...n, defaultProt: p });
  }
  for (const noPage of ["return-enomem", "skip-if-nonblock", "zap-pte-if-nonblock"] as const) {
    if (noPage !== n.filemapPopulate.noPage) {
      with_(`filemap_populate.no_page=${noPage}`, {
        ...n,
        filemapPopulate: { ...n.filemapPopulate, noPage },
      });
    }
  }
  for (const part of ["filemapPopulate", "shmemPopulate"] as const) {
    const installError = n[part].installError === "return" ? "release-page" : "return";
    with_(`${part}.install_error=${installError}`, {
      ...n,
      [part]: { ...n[part], installError },
    });
  }
  return out;
}

for (const rev of revisions) {
  Deno.test(`runScenario() fails a pinned expectation when any nonlinear key of ${rev.id} changes`, async (t) => {
    for (const [name, config] of mutants(rev.nonlinear!)) {
      await t.step(name, () => {
        const mutant: Revision = { ...rev, nonlinear: config };
        // The first scenario whose pin notices is enough: the others need not run.
        const caught = scenarios.some((s) =>
          mismatch(runScenario(s, mutant), expectationFor(table, s.id, rev.id)) !== null
        );
        assert.ok(caught, `no pinned expectation notices ${rev.id} with ${name}`);
      });
    }
  });
}
