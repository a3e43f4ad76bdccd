/**
 * CPU time of this process, for benchmarks on a machine other work shares:
 * wall time then says more about the neighbours than about the code.
 *
 * @module
 */
import process from "node:process";

/** CPU time (user + system) this process has used so far, in milliseconds. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The median of `xs` (the upper one of an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
}
