/**
 * The runner: runs one scenario on one revision and returns its outcome.
 *
 * Each step runs on its thread to completion. A step with `during` starts a
 * second thread when the first reaches the named scheduling point; from then
 * on the second thread runs whenever it is not blocked (a fixed, replayable
 * schedule).
 *
 * @module
 */
import {
  type CalloutEvent,
  Kernel,
  KernelBug,
  KernelDeadlock,
  type KGen,
  type Observation,
} from "../kernel/context.ts";
import { newFile, newState } from "../model/state.ts";
import { NotifierChain } from "../notifier/chain.ts";
import { Kvm } from "../secondary/kvm.ts";
import type { Violation } from "../check/checker.ts";
import { createCheckers } from "../check/registry.ts";
import { type OpResult, runOp, type World } from "./ops.ts";
import type { Scenario, Step } from "./scenario.ts";
import type { Revision } from "./revision.ts";
import { buildOutcome, type Outcome } from "./outcome.ts";

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Keep the full callout trace (default true). */
  trace?: boolean;
}

interface Thread {
  name: string;
  gen: KGen<OpResult>;
  done: boolean;
  waiting?: boolean;
  result?: OpResult;
}

/**
 * Runs the threads of one step; returns the main thread's result. The
 * interfering thread, once started, runs first whenever it can; a thread
 * that only retries (`wait`) runs when no other thread can.
 */
function schedule(w: World, step: Step, main: Thread): OpResult {
  const k = w.kernel;
  const threads: Thread[] = [main];
  let started = false;
  let stalls = 0;
  while (threads.some((t) => !t.done)) {
    let progressed = false;
    for (const waiting of [false, true]) {
      for (const t of [...threads].reverse()) {
        if (t.done || !!t.waiting !== waiting) continue;
        const r = t.gen.next();
        if (r.done) {
          t.done = true;
          t.result = r.value;
          progressed = true;
          break;
        }
        if (r.value.blockedOn) continue;
        t.waiting = !!r.value.wait;
        progressed = true;
        if (!started && step.during && r.value.label === step.during.at) {
          started = true;
          threads.push({
            name: step.during.step.thread,
            gen: runOp(w, step.during.step),
            done: false,
          });
        }
        break;
      }
      if (progressed) break;
    }
    if (progressed) {
      stalls = 0;
      continue;
    }
    if (++stalls > 2) {
      const waiting = threads.filter((t) => !t.done).map((t) => t.name).join(", ");
      k.emit({
        type: "no-progress",
        step: k.step,
        thread: waiting,
        what: `deadlock: ${waiting} all wait`,
      });
      throw new StepAborted("deadlock");
    }
  }
  if (step.during && !started) {
    throw new StepAborted(`scheduling point "${step.during.at}" was never reached`);
  }
  return main.result!;
}

class StepAborted extends Error {}

/**
 * Runs `scenario` on `revision`: one fresh world, every step in order, every
 * checker observing. Deterministic: the same inputs give an equal outcome.
 *
 * @example
 * ```ts
 * import { loadRevisionDir, loadScenario, runScenario } from "../../mod.ts";
 * const revs = loadRevisionDir("patches");
 * const out = runScenario(loadScenario("scenarios/wp-reuse-after-fork.json"), revs.find((r) => r.id === "emmu-v5")!);
 * console.log(out.verdict);
 * ```
 */
export function runScenario(
  scenario: Scenario,
  revision: Revision,
  opts: RunOptions = {},
): Outcome {
  const state = newState();
  for (const f of scenario.files) {
    const file = newFile(f.name, f.pages, f.kind);
    file.pageMkwrite = f.pageMkwrite;
    state.files[f.name] = file;
  }
  const chain = new NotifierChain(revision.chain);
  const kernel = new Kernel(state, revision.paths, chain);
  for (const s of scenario.secondaries) chain.add(new Kvm(s.id, s.mm));
  const w: World = { kernel, chain };
  const violations: Violation[] = [];
  const trace: CalloutEvent[] = [];
  const calloutListeners: string[][] = [];
  const ctx = {
    kernel,
    chain,
    config: revision.chain,
    report: (v: Violation) => violations.push(v),
  };
  const checkers = createCheckers();
  kernel.observers.push((o: Observation) => {
    if (o.type === "callout") {
      trace.push(o.ev);
      calloutListeners.push(o.listeners);
    }
    for (const c of checkers) c.observe?.(ctx, o);
  });
  const returns: OpResult[] = [];
  let aborted: string | undefined;
  for (let i = 0; i < scenario.steps.length && !aborted; i++) {
    const step = scenario.steps[i];
    kernel.beginStep(i, step.fail);
    try {
      returns.push(schedule(w, step, { name: step.thread, gen: runOp(w, step), done: false }));
    } catch (e) {
      if (e instanceof KernelDeadlock) {
        kernel.emit({ type: "no-progress", step: i, thread: e.thread, what: e.message });
        aborted = `step ${i}: ${e.message}`;
      } else if (e instanceof KernelBug || e instanceof StepAborted) {
        aborted = `step ${i}: ${e.message}`;
      } else {
        throw e;
      }
      returns.push("aborted");
    }
    for (const c of checkers) c.afterStep?.(ctx, i);
  }
  for (const c of checkers) c.atEnd?.(ctx, scenario.steps.length - 1);
  return buildOutcome({
    scenario,
    revision,
    violations,
    trace: opts.trace === false ? [] : trace,
    listeners: calloutListeners,
    returns,
    aborted,
    world: w,
  });
}
