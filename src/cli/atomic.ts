/**
 * Atomic file output: an interrupted write leaves the previous file intact,
 * and only a regular file is ever written.
 *
 * @module
 */

/**
 * The file an output path writes: the path itself, or the file a symbolic
 * link at it points to. Only a regular file, or a path where nothing is
 * yet, may be written: a character device, a FIFO, a directory or a socket
 * is refused before anything is written, and so is a path below something
 * that is not a directory.
 *
 * @param path The output path.
 * @returns The path to write (the link's target for a symbolic link).
 * @throws {TypeError} When the path or its nearest existing parent is of the wrong kind.
 *
 * @example
 * ```ts
 * import { outputTarget } from "./atomic.ts";
 * const dir = Deno.makeTempDirSync();
 * console.log(outputTarget(`${dir}/new/report.md`) === `${dir}/new/report.md`);
 * try {
 *   outputTarget(dir);
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function outputTarget(path: string): string {
  let target = path;
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.lstatSync(path);
  } catch (e) {
    if (!absent(e)) throw e;
  }
  if (info?.isSymlink) {
    try {
      target = Deno.realPathSync(path);
    } catch {
      throw new TypeError(`Cannot write "${path}": it is a symbolic link to nothing`);
    }
    info = Deno.statSync(target);
  }
  if (info) {
    if (!info.isFile) {
      throw new TypeError(
        `Cannot write "${path}": it is ${kindName(info)} (expected a regular file or a new path)`,
      );
    }
    return target;
  }
  // Nothing there yet: the nearest existing parent must be a directory.
  for (let dir = dirOf(target);; dir = dirOf(dir)) {
    let parent: Deno.FileInfo | undefined;
    try {
      parent = Deno.statSync(dir);
    } catch (e) {
      if (!absent(e)) throw e;
    }
    if (parent) {
      if (!parent.isDirectory) {
        throw new TypeError(
          `Cannot write "${path}": "${dir}" is ${kindName(parent)} (expected a directory)`,
        );
      }
      return target;
    }
    if (dir === "/" || dir === ".") return target;
  }
}

/** Whether a stat error says there is nothing at the path (or a file where a directory was to be). */
function absent(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
}

function kindName(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  return info.isFile ? "a regular file" : "a special file";
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/**
 * Writes `text` to `path` atomically: the text goes to a new temporary file
 * in the same directory, is flushed to disk, and the file is then renamed
 * over `path`; a write that fails or is interrupted leaves the previous
 * file as it was. Creates the directory when it is missing; keeps the
 * previous file's permissions; writes through a symbolic link to the file
 * it points to. Refuses a target that is not a regular file (see
 * {@link outputTarget}).
 *
 * @param path The file to write.
 * @param text Its new content.
 * @throws {TypeError} When `path` exists and is not a regular file.
 * @throws {Deno.errors.PermissionDenied} And other `Deno.errors` when the directory is not
 * writable or the disk is full.
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
  const target = outputTarget(path);
  const dir = dirOf(target);
  const base = target.slice(target.lastIndexOf("/") + 1);
  Deno.mkdirSync(dir, { recursive: true });
  let mode: number | undefined;
  try {
    mode = Deno.statSync(target).mode ?? undefined;
  } catch {
    // A new file: the default permissions.
  }
  const bytes = new TextEncoder().encode(text);
  let tmp = "";
  let file: Deno.FsFile | undefined;
  // createNew: never reuse (or open a FIFO planted at) an existing name.
  for (let attempt = 0; !file; attempt++) {
    tmp = `${dir === "/" ? "" : dir}/.${base}.${Deno.pid}.${attempt}.tmp`;
    try {
      file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o666 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || attempt >= 99) throw e;
    }
  }
  try {
    try {
      let rest = bytes;
      while (rest.length > 0) rest = rest.subarray(file.writeSync(rest));
      file.syncSync();
    } finally {
      file.close();
    }
    if (mode !== undefined) Deno.chmodSync(tmp, mode & 0o7777);
    Deno.renameSync(tmp, target);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // The temporary file is already gone.
    }
    throw e;
  }
}
