/**
 * A one-line progress indicator for long runs (the matrix, the explorer),
 * for a terminal only: it redraws one line in place and erases it when the
 * run is over. Nothing is drawn during the first second, so a short run
 * prints nothing, and nothing at all when standard error is not a terminal
 * or `--quiet` is given (see {@link progressEnabled}).
 *
 * @module
 */

/** A progress indicator for {@link runMatrix}-style callbacks. */
export interface Progress {
  /** Called after each unit of work with the number done and the total. */
  onCell(done: number, total: number): void;
  /** Erases the line, if anything was drawn. */
  done(): void;
}

/** Options of {@link progress}. */
export interface ProgressOptions {
  /** What the line says is going on (default `running`). */
  label?: string;
  /** Milliseconds to wait before the first redraw (default 1000). */
  delayMs?: number;
  /** The clock, in milliseconds (default `Date.now`). */
  now?: () => number;
}

/**
 * Creates a progress indicator writing to `write`, which should be a
 * terminal: the line is redrawn with a carriage return, at most about a
 * hundred times, and only once `delayMs` have passed.
 *
 * @param write Where to write (standard error of a terminal).
 * @param opts The label, the delay and the clock.
 * @returns The indicator.
 *
 * @example
 * ```ts
 * import { progress } from "./progress.ts";
 * let text = "";
 * const p = progress((t) => text += t, { delayMs: 0 });
 * p.onCell(1, 2);
 * p.done();
 * console.log(JSON.stringify(text));
 * ```
 */
export function progress(write: (text: string) => void, opts: ProgressOptions = {}): Progress {
  const now = opts.now ?? Date.now;
  const label = opts.label ?? "running";
  const start = now();
  const delay = opts.delayMs ?? 1000;
  let shown = false;
  return {
    onCell(done, total) {
      if (done !== total && done % Math.max(1, Math.floor(total / 100)) !== 0) return;
      if (now() - start < delay) return;
      write(`\r${label} ${done}/${total}\x1b[K`);
      shown = true;
    },
    done() {
      if (shown) write("\r\x1b[K");
    },
  };
}

/**
 * Whether to show progress: only when standard error is a terminal and the
 * user did not ask for quiet output, so that captured or piped output stays
 * clean.
 *
 * @param where Whether standard error is a terminal, and whether `--quiet` was given.
 * @returns True when a progress line may be drawn.
 *
 * @example
 * ```ts
 * import { progressEnabled } from "./progress.ts";
 * console.log(progressEnabled({ terminal: true, quiet: true })); // false
 * ```
 */
export function progressEnabled(where: { terminal: boolean; quiet: boolean }): boolean {
  return where.terminal && !where.quiet;
}
