/**
 * The kernel trees a revision can apply to, as values: what differs between
 * the 2.6.24 tree and the 2.5.42 tree for the runner is which path runs a
 * scenario operation, how a scenario's files start, and what the outcome
 * records at the end. A run looks its tree up once by the revision's `base`;
 * the runner, the operations and the outcome never test which tree it is.
 *
 * The 2.6.24 tree's operations and kernel paths sit in `src/run/` and
 * `src/kernel/`; the 2.5.42 tree's in the `v2.5.42/` folder of each.
 *
 * @module
 */
import type { Kernel } from "../kernel/context.ts";
import type { PathRef } from "../kernel/steps.ts";
import type { FileObj, MmState } from "../model/types.ts";
import { runOp } from "./ops.ts";
import type { KernelBase } from "./revision.ts";
import type { Step } from "./scenario.ts";
import { runOp2542 } from "./v2.5.42/ops.ts";
import { setUpCache } from "./v2.5.42/page_cache.ts";
import { finalViews, type View } from "./v2.5.42/views.ts";

/** What the outcome of a run on a tree records beyond what every outcome has. */
export interface TreeRecord {
  /** The kernel functions the run went through, sorted. */
  paths: string[];
  /** What a user finds through each address at the end. */
  views: View[];
}

/** One kernel tree: the data and named functions the runner asks it for. */
export interface KernelTree {
  /** The tree, as a revision's `base` and a scenario's `kernel` name it. */
  readonly name: KernelBase;
  /** The path a thread runs for one scenario operation (`{ op }`); returns the operation's result. */
  readonly runOp: PathRef<{ op: Step }>;
  /**
   * Sets up a scenario file's starting state in the model, given the page
   * indexes the scenario says are cached.
   */
  readonly setUpFile: (state: MmState, file: FileObj, cached: number[]) => void;
  /** What the outcome records about the end of the run, when the tree records more. */
  readonly record?: (k: Kernel) => TreeRecord;
}

/** 2.6.24: a scenario's files start with nothing cached (a fault reads a page in). */
function noSetUp(): void {}

/** 2.5.42: the kernel functions the run went through and what each mapped address shows. */
function record2542(k: Kernel): TreeRecord {
  return { paths: [...k.ran].sort(), views: finalViews(k) };
}

const TREES: Readonly<Record<KernelBase, KernelTree>> = {
  "2.6.24": { name: "2.6.24", runOp, setUpFile: noSetUp },
  "2.5.42": { name: "2.5.42", runOp: runOp2542, setUpFile: setUpCache, record: record2542 },
};

/**
 * The kernel tree a revision applies to.
 *
 * @param base The revision's `base` (a scenario's `kernel`).
 * @returns The tree.
 *
 * @example
 * ```ts
 * import { kernelTree } from "./kernel_tree.ts";
 * console.log(kernelTree("2.5.42").runOp.name);
 * ```
 */
export function kernelTree(base: KernelBase): KernelTree {
  return TREES[base];
}
