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
 * A thread's stack of frames is shared the same way, as a deep value
 * ({@link cowValue}): a copy of the run freezes the stack and everything in
 * it but the run's immutable inputs, and the thread replaces the stack and
 * the frame it runs by copies before it writes them (`advance()` in
 * `kernel/steps.ts`), so only the frames a step changed are copied again.
 * An object a frame holds stays frozen: a step that would change one in
 * place throws.
 *
 * @module
 */

/** The mark of a copy-on-write container or deep value: a property no key listing shows. */
const MARK = Symbol("cow");
const CONTAINER = 1;
const VALUE = 2;

function mark<T extends object>(o: T, kind: number): T {
  Object.defineProperty(o, MARK, { value: kind });
  return o;
}

function markOf(o: object): unknown {
  return (o as { [MARK]?: number })[MARK];
}

/**
 * What `o` is to a copy of the run, in one read of its mark: {@link COW_CONTAINER}
 * ({@link shareOnCopy}), {@link COW_VALUE} (a deep value, {@link cowValue}), or 0.
 */
export function cowKind(o: object): number {
  return (markOf(o) as number | undefined) ?? 0;
}

/** {@link cowKind} of a copy-on-write container. */
export const COW_CONTAINER: number = CONTAINER;
/** {@link cowKind} of a deep copy-on-write value (a thread's stack). */
export const COW_VALUE: number = VALUE;

/** Marks `o`, a record of frozen values, as a copy-on-write container, and returns it. */
export function cow<T extends object>(o: T): T {
  return mark(o, CONTAINER);
}

/**
 * Whether a copy of a run may freeze `o` and share it: `o` is a
 * copy-on-write container ({@link cow}).
 */
export function shareOnCopy(o: object): boolean {
  return markOf(o) === CONTAINER;
}

/**
 * A recording view of an object (`explore/_footprint.ts`): the object it
 * shows, and a view of a copy of it at the same place.
 */
export interface View {
  /** The object the view shows. */
  target: object;
  /** A view, at the same place, of `copy`, a copy of the target about to replace it. */
  as(copy: object): object;
}

/** Recording views by view object (empty outside a recorded step). */
export const VIEWS: WeakMap<object, View> = new WeakMap();

/**
 * A container ready to be written: `o` itself, or a copy of it once it is
 * frozen. Through a recording view, the copy is made from the object the
 * view shows, recording no read (the copy holds what the container held;
 * what the step then reads of it is recorded key by key), and comes back
 * as a view at the same place.
 */
export function thaw<T extends object>(o: T): T {
  const view = VIEWS.get(o);
  if (view) return Object.isFrozen(view.target) ? view.as(cow({ ...view.target })) as T : o;
  return Object.isFrozen(o) ? cow({ ...o }) : o;
}

/**
 * Marks `o` as a deep copy-on-write value (a thread's stack), and returns
 * it: a copy of the run freezes it and everything in it but the run's
 * immutable inputs, and shares it.
 */
export function cowValue<T extends object>(o: T): T {
  return mark(o, VALUE);
}

/**
 * An array or record a frame holds, ready to be written: `o` itself, or a
 * shallow copy once a copy of the run has frozen it.
 */
export function writable<T extends object>(o: T): T {
  if (!Object.isFrozen(o)) return o;
  return (Array.isArray(o) ? [...o] : { ...o }) as T;
}
