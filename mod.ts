/**
 * mmbisect: a regression harness for Linux memory-management patch
 * revisions. One shared model of the Linux MM; each revision of the mmu
 * notifier patch lineages is a behaviour config (data) on it; scenarios run
 * on every revision and outcomes are diffed across revisions: regressions
 * and fixes are pinned to the revision that introduced them, and reported
 * in Markdown or JSON. A run spreads over Web Workers (`runWork`) and over
 * machines (shards, joined by `mergeResults`).
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenarioDir, runMatrix } from "./mod.ts";
 * const matrix = runMatrix(loadScenarioDir("scenarios"), loadRevisionDir("patches"));
 * console.log(matrix.cells.length);
 * ```
 *
 * @module
 */
export * from "./src/model/types.ts";
export * from "./src/kernel/hooks.ts";
export * from "./src/kernel/steps.ts";
export * from "./src/kernel/context.ts";
export * from "./src/notifier/chain.ts";
export { HMM_STRATEGIES, type HmmStrategy } from "./src/secondary/hmm.ts";
export { KVM_RELEASES, type KvmRelease } from "./src/secondary/kvm.ts";
export type { OpResult, World } from "./src/run/ops.ts";
export * from "./src/run/errors.ts";
export * from "./src/run/limits.ts";
export * from "./src/kernel/v2.5.42/types.ts";
export * from "./src/kernel/v2.5.42/nonlinear.ts";
export type { View } from "./src/run/v2.5.42/views.ts";
export * from "./src/run/kernel_tree.ts";
export * from "./src/run/scenario.ts";
export * from "./src/run/revision.ts";
export * from "./src/run/runner.ts";
export * from "./src/run/outcome.ts";
export * from "./src/check/checker.ts";
export * from "./src/run/matrix.ts";
export * from "./src/run/deadline.ts";
export * from "./src/report/diff.ts";
export * from "./src/report/bisect.ts";
export * from "./src/report/blame.ts";
export * from "./src/report/markdown.ts";
export * from "./src/report/json.ts";
export * from "./src/report/races.ts";
export * from "./src/explore/explorer.ts";
export * from "./src/report/drivers.ts";
export * from "./src/report/html.ts";
export * from "./src/report/explain.ts";
export * from "./src/report/trace_diff.ts";
export * from "./src/report/progress.ts";
export * from "./src/report/costs.ts";
export * from "./src/jobs/pool.ts";
export * from "./src/jobs/shard.ts";
export * from "./src/report/results.ts";
export * from "./src/analysis/model.ts";
export * from "./src/analysis/analyse.ts";
export * from "./src/analysis/expect.ts";
export * from "./src/report/mail.ts";
export * from "./src/report/tap.ts";
export * from "./src/report/junit.ts";
export * from "./src/analysis/summary.ts";
export * from "./src/analysis/comparison.ts";
export * from "./src/analysis/plan.ts";
