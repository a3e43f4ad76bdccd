/**
 * Atomic file output: an interrupted write leaves the previous file intact.
 *
 * @module
 */

/**
 * Writes `text` to `path` atomically: the text goes to a temporary file in
 * the same directory, which is then renamed over `path`. Creates the
 * directory when it is missing.
 *
 * @param path The file to write.
 * @param text Its new content.
 * @throws {Deno.errors.PermissionDenied} And other `Deno.errors` when the directory is not writable.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = Deno.makeTempDirSync();
 * writeFileAtomic(`${dir}/report.md`, "# report\n");
 * console.log(Deno.readTextFileSync(`${dir}/report.md`));
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function writeFileAtomic(path: string, text: string): void {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const base = path.slice(slash + 1);
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${dir === "/" ? "" : dir}/.${base}.${Deno.pid}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, text);
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // Nothing was written, or the temporary file is already gone.
    }
    throw e;
  }
}
