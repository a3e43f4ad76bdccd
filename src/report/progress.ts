/**
 * A one-line progress indicator for long matrix runs, for a terminal only:
 * it redraws one line in place and erases it when the run is over.
 *
 * @module
 */

/** A progress indicator for {@link runMatrix}-style callbacks. */
export interface Progress {
  /** Called after each cell with the number done and the total. */
  onCell(done: number, total: number): void;
  /** Erases the line. */
  done(): void;
}

/**
 * Creates a progress indicator writing to `write`, which should be a
 * terminal: the line is redrawn with a carriage return.
 *
 * @param write Where to write (standard error of a terminal).
 * @returns The indicator.
 *
 * @example
 * ```ts
 * import { progress } from "./progress.ts";
 * let text = "";
 * const p = progress((t) => text += t);
 * p.onCell(1, 2);
 * p.done();
 * console.log(JSON.stringify(text));
 * ```
 */
export function progress(write: (text: string) => void): Progress {
  let shown = false;
  return {
    onCell(done, total) {
      // Redraw at most about a hundred times, whatever the matrix size.
      if (done !== total && done % Math.max(1, Math.floor(total / 100)) !== 0) return;
      write(`\rrunning ${done}/${total}\x1b[K`);
      shown = true;
    },
    done() {
      if (shown) write("\r\x1b[K");
    },
  };
}
