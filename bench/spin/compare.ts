/**
 * The explorer next to Spin on one race: `race-unregister-dispatch` on
 * `emmu-v2`, with 1 (the scenario) to 4 truncating CPUs. For each size it
 * verifies `unregister_dispatch.pml` with Spin (`spin -a`, `gcc -O2 -DSAFETY`,
 * with and without `-DNOREDUCE` for the partial-order reduction factor),
 * explores the same scenario with the explorer, and prints one Markdown table:
 * states, transitions, CPU time, states per CPU second, the ratio of the rates, and
 * whether the two agree that use-after-free is reachable.
 *
 * Run by `bench/spin/run.sh`, which installs Spin when it is absent; with
 * `--no-spin <why>` the Spin columns say why they are empty.
 *
 * @module
 */
import { explore, loadRevisionDir, parseScenario } from "../../mod.ts";
import { cpuMs, median } from "../_cpu.ts";
import { unregisterDispatch } from "../_scenarios.ts";

const here = new URL(".", import.meta.url).pathname;
const root = new URL("../..", import.meta.url).pathname;
const args = [...Deno.args];
const noSpin = args[0] === "--no-spin" ? args.slice(1).join(" ") || "spin is not available" : "";
const sizes = [1, 2, 3, 4];
/** Timed repetitions (the median is reported); one for the slow explorations. */
const REPEAT = 5;

/** What one pan run reports. */
interface Pan {
  states: number;
  transitions: number;
  errors: number;
  ms: number;
}

/** Runs `cmd` in `cwd`; its standard output and error, or throws with both. */
function sh(cmd: string, argv: string[], cwd: string): { out: string; err: string } {
  const r = new Deno.Command(cmd, { args: argv, cwd }).outputSync();
  const out = new TextDecoder().decode(r.stdout);
  const err = new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${cmd} ${argv.join(" ")}: ${err}${out}`);
  return { out, err };
}

function field(text: string, re: RegExp): number {
  const m = text.match(re);
  if (!m) throw new SyntaxError(`Cannot read pan's output: no match for ${re}`);
  return Number(m[1]);
}

/** Builds pan in `dir` (with or without partial-order reduction) and runs it `REPEAT` times. */
function spin(dir: string, reduce: boolean): Pan {
  const bin = reduce ? "pan" : "pan_noreduce";
  sh("gcc", ["-O2", "-DSAFETY", ...(reduce ? [] : ["-DNOREDUCE"]), "-o", bin, "pan.c"], dir);
  let text = "";
  const ms: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    // -c0: go on past assertion failures, so the whole state space is counted; -w20: a 2^20
    // hash table. bash's time gives pan's CPU time (user + system), process start included.
    const r = sh("bash", ["-c", `TIMEFORMAT='%3U %3S'; time ./${bin} -c0 -n -w20`], dir);
    text = r.out;
    const [user, sys] = r.err.trim().split("\n").at(-1)!.split(" ").map(Number);
    ms.push((user + sys) * 1000);
  }
  return {
    states: field(text, /(\d+) states, stored/),
    transitions: field(text, /(\d+) transitions/),
    errors: field(text, /errors: (\d+)/),
    ms: median(ms),
  };
}

const revision = loadRevisionDir(`${root}patches`).find((r) => r.id === "emmu-v2")!;
/** The explorer's run bound: high enough for every size here to complete. */
const EXPLORER_BOUND = 20_000_000;
const rows: string[] = [];
const tmp = noSpin ? "" : Deno.makeTempDirSync({ prefix: "mmbisect-spin-" });
try {
  for (const cpus of sizes) {
    const scenario = unregisterDispatch(parseScenario, { root, cpus });
    const times: number[] = [];
    // Afresh each time (an exploration of the same scenario object is otherwise reused), and
    // to the end: the default run bound stops the 4-CPU race.
    const opts = { reuse: false, maxRuns: EXPLORER_BOUND };
    let x = explore(scenario, revision, opts);
    for (let i = 0; i < (cpus < 4 ? REPEAT : 1); i++) {
      const c0 = cpuMs();
      x = explore(scenario, revision, opts);
      times.push(cpuMs() - c0);
    }
    if (x.status !== "complete") throw new Error(`${cpus} CPUs: the exploration is ${x.status}`);
    const ms = median(times);
    const uaf = x.verdicts["use-after-free"] !== undefined;
    const cells = [
      `${cpus}`,
      `${x.states}`,
      `${x.runs}`,
      ms.toFixed(1),
      `${Math.round(x.states / ms * 1000)}`,
    ];
    if (noSpin) {
      cells.push("", "", "", "", "", "", `explorer: ${uaf ? "reachable" : "not reachable"}`);
    } else {
      const dir = `${tmp}/${cpus}`;
      Deno.mkdirSync(dir);
      Deno.copyFileSync(`${here}unregister_dispatch.pml`, `${dir}/model.pml`);
      sh("spin", ["-a", `-DNTRUNC=${cpus}`, "model.pml"], dir);
      const por = spin(dir, true);
      const full = spin(dir, false);
      const rate = por.states / por.ms * 1000;
      const agree = uaf === (por.errors > 0) && uaf === (full.errors > 0);
      cells.push(
        `${por.states} / ${full.states}`,
        `${por.transitions} / ${full.transitions}`,
        `${(full.transitions / por.transitions).toFixed(2)}`,
        por.ms.toFixed(1),
        `${Math.round(rate)}`,
        `${Math.round(rate / (x.states / ms * 1000))}`,
        `${agree ? "agree" : "DISAGREE"}: ${uaf ? "reachable" : "not reachable"}`,
      );
    }
    rows.push(`| ${cells.join(" | ")} |`);
  }
} finally {
  if (tmp) Deno.removeSync(tmp, { recursive: true });
}
if (noSpin) console.log(`Spin columns empty: ${noSpin}`);
console.log(
  "| CPUs | explorer states | explorer transitions | explorer CPU ms | explorer states/s | Spin states (POR / none) | Spin transitions (POR / none) | POR factor (transitions) | Spin CPU ms (POR, whole pan run) | Spin states/s | Spin / explorer rate | use-after-free |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
