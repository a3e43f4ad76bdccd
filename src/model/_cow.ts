/**
 * Copy-on-write containers: the records of a world that grow with it (an
 * mm's ptes, the struct pages) in a container of frozen values. A run
 * writes a container in place until the explorer copies the run: the copy
 * freezes it and shares it ({@link shareOnCopy}), and the first write on
 * either side after that replaces it with a copy of its own ({@link thaw}).
 * A writer that skips {@link thaw} throws on the frozen container (ES
 * modules are strict), so a missed one is loud, never a write into a
 * sibling state.
 *
 * @module
 */

const CONTAINERS = new WeakSet<object>();

/** Marks `o`, a record of frozen values, as a copy-on-write container, and returns it. */
export function cow<T extends object>(o: T): T {
  CONTAINERS.add(o);
  return o;
}

/**
 * Whether a copy of a run may freeze `o` and share it: `o` is a
 * copy-on-write container ({@link cow}).
 */
export function shareOnCopy(o: object): boolean {
  return CONTAINERS.has(o);
}

/** A container ready to be written: `o` itself, or a copy of it once it is frozen. */
export function thaw<T extends object>(o: T): T {
  return Object.isFrozen(o) ? cow({ ...o }) : o;
}
