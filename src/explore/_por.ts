/**
 * Partial-order reduction for the explorer: dynamic partial-order reduction
 * (Flanagan and Godefroid, "Dynamic partial-order reduction for model
 * checking software", POPL 2005) on recorded footprints
 * (`explore/_footprint.ts`), kept sound with state caching by summaries,
 * and sleep sets (Godefroid, "Partial-order methods for the verification
 * of concurrent systems", LNCS 1032, 1996) on top.
 *
 * A choice point explores one thread at first. Each step (an event: its
 * scenario step, its thread and its footprint) is compared with the events
 * on the search path; at every earlier step of another thread that is
 * dependent on it and does not happen before it, taken at a choice point,
 * a thread is added to what that choice point explores, so that the other
 * order is tried too. Two events are dependent when one writes a place the
 * other reads, writes or adds to, or adds to a place the other reads (two
 * additions commute: `model/_count.ts`). Events of different scenario steps
 * never race: a step starts when the one before has ended.
 *
 * A thread that retries (its last point only waits for another thread to
 * move) runs only when no other thread can: whether it can run depends on
 * every other thread, which no footprint records, so each of its steps is
 * dependent on every step of another thread ({@link Event.waits}). Such
 * threads make cycles (two threads waiting for each other go round until
 * the step bound stops them), which dynamic partial-order reduction does
 * not allow for: the explorer keys the step's point count, which only
 * grows, as soon as a thread retries. A run cut short (a bound, a
 * deadlock, a BUG) leaves steps that never ran; each thread of the step
 * counts as having one more, dependent on every other ({@link pending}).
 *
 * What it explores contains one schedule of every class of schedules
 * equivalent up to swapping adjacent independent steps, each of which ends
 * in the same state, so the endings are those of the search without it.
 *
 * State caching: where a state was explored before, its subtree is not
 * walked again, and the events it would have met are taken from its
 * summary instead, every event of the subtree by scenario step and thread,
 * their footprints joined (a superset of each). Which of them would race
 * with which step of the path is not known, so each is treated as racing
 * with every dependent pick that does not happen before its thread's
 * point (a superset of the last one for each).
 *
 * Sleep sets ({@link asleep}): where a choice point has tried thread u and
 * then tries t, and u's next step commutes with t's, the order t then u
 * reaches what u then t reached: u sleeps after t's step, and after every
 * later step it commutes with, and is not tried while it sleeps. A race
 * that would add a sleeping thread adds nothing new. With state caching a
 * state's subtree depends on the sleep set it was explored with; a state
 * reached again with a sleep set that holds every thread of the one it was
 * explored with would explore no more, and takes that summary; otherwise
 * it is explored again with its new sleep set (Godefroid's rule; each
 * exploration of a state is kept, and the state is counted once).
 *
 * @module
 */
import { type Footprint, independent } from "./_footprint.ts";

/** One step of one thread, or the join of several of one thread in one scenario step. */
export interface Event {
  /** The scenario step. */
  step: number;
  /** The thread. */
  thread: string;
  /** Places read. */
  reads: Set<number>;
  /** Places written. */
  writes: Set<number>;
  /** Places only added to (two additions commute). */
  adds: Set<number>;
  /**
   * Whether it is (or a joined event holds) a step of a thread that waits
   * for others to move, or one that a run cut short left to come: such a
   * step is dependent on every step of another thread.
   */
  waits: boolean;
}

/**
 * The event of a step of `thread` in scenario step `step` that left
 * footprint `fp`; `waits` when the thread was waiting for others to move.
 */
export function eventOf(step: number, thread: string, fp: Footprint, waits: boolean): Event {
  return { step, thread, reads: fp.reads, writes: fp.writes, adds: fp.adds, waits };
}

/** No places. */
const NONE: ReadonlySet<number> = new Set();

/**
 * The step a thread of scenario step `step` had still to take when a run
 * was cut short (a bound, a deadlock, a BUG): it never ran, so what it
 * touches is not known, and it is dependent on every step of another
 * thread.
 */
export function pending(step: number, thread: string): Event {
  const none = NONE as Set<number>;
  return { step, thread, reads: none, writes: none, adds: none, waits: true };
}

/** Whether `a` and `b`, events of different threads in one scenario step, may not commute. */
export function dependent(a: Event, b: Event): boolean {
  return a.step === b.step && a.thread !== b.thread && !commute(a, b);
}

/** Whether two events commute: neither waits, and their footprints are independent. */
function commute(a: Event, b: Event): boolean {
  return !a.waits && !b.waits && independent(a, b);
}

/** Events joined by scenario step and thread. */
export type Joined = Map<string, Event>;

/** Adds `e` to `into`, joining it with the event of its step and thread there. */
export function join(into: Joined, e: Event): void {
  const key = `${e.step}\n${e.thread}`;
  const had = into.get(key);
  if (!had) {
    into.set(key, {
      ...e,
      reads: new Set(e.reads),
      writes: new Set(e.writes),
      adds: new Set(e.adds),
    });
    return;
  }
  for (const x of e.reads) had.reads.add(x);
  for (const x of e.writes) had.writes.add(x);
  for (const x of e.adds) had.adds.add(x);
  had.waits ||= e.waits;
}

/** A choice point on the search path, as the reduction sees it. */
export interface Choice {
  /** The threads that can run there. */
  names: readonly string[];
  /** The threads to explore from there: grows as races are found. */
  todo: string[];
}

/** An event on the search path: its choice point when it is the pick of one, and its clock. */
export interface Placed {
  e: Event;
  /** The choice point whose pick this is; null for a step forced where one thread could run. */
  choice: Choice | null;
  /**
   * Vector clock: for each thread, the position of its last event that
   * happens before this one (itself included), where happens-before is the
   * order of the path restricted to dependent events and each thread's own.
   */
  clock: Map<string, number>;
}

/** Adds `t` to what `c` explores, if it is not there yet. */
function add(c: Choice, t: string): void {
  if (!c.todo.includes(t)) c.todo.push(t);
}

/** The clock of the last event of `thread` on `path` (empty if none). */
function clockOf(path: readonly Placed[], thread: string): Map<string, number> {
  for (let j = path.length - 1; j >= 0; j--) {
    if (path[j].e.thread === thread) return path[j].clock;
  }
  return new Map();
}

/** Whether the event at position `i` happens before a point whose clock is `c`. */
function before(path: readonly Placed[], i: number, c: ReadonlyMap<string, number>): boolean {
  return (c.get(path[i].e.thread) ?? -1) >= i;
}

/**
 * Appends `e`, an event that just ran, to `path` (`choice` when it is the
 * pick of a choice point), after adding what its races require: at the pick
 * of every event of another thread that is dependent on it and does not
 * happen before its thread's point, a thread that brings `e` before it
 * there (its own, or one whose later event happens before it, or every
 * thread that can run there). Flanagan and Godefroid look at the next step
 * of every thread at every state of the path, each time at the last such
 * event of the path so far; a step is known here only once it has run, and
 * the last such event alone then misses races (it missed an ending of the
 * growth row `hmm-range-lock` 2 x 2 even with every step dependent on every
 * other): every one of them is taken.
 */
export function append(path: Placed[], e: Event, choice: Choice | null): void {
  const mine = clockOf(path, e.thread);
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i];
    if (!dependent(p.e, e) || before(path, i, mine)) continue;
    if (p.choice) {
      const c = p.choice;
      if (c.names.includes(e.thread)) add(c, e.thread);
      else {
        const by = c.names.find((q) =>
          path.some((x, j) => j > i && x.e.thread === q && before(path, j, mine))
        );
        if (by !== undefined) add(c, by);
        else for (const q of c.names) add(c, q);
      }
    }
  }
  const clock = new Map(mine);
  for (let j = 0; j < path.length; j++) {
    if (!dependent(path[j].e, e)) continue;
    for (const [t, n] of path[j].clock) if ((clock.get(t) ?? -1) < n) clock.set(t, n);
  }
  clock.set(e.thread, path.length);
  path.push({ e, choice, clock });
}

/**
 * What the events of a state explored before require of `path`, which
 * reaches it again: `e` joins every event of one thread in one scenario
 * step of that state's subtree, and any of them may be the one racing, so
 * every pick that is dependent on `e` and does not happen before its
 * thread's point gets the thread of `e` (every thread that can run there,
 * when it cannot).
 */
export function revisit(path: readonly Placed[], e: Event): void {
  const mine = clockOf(path, e.thread);
  for (let i = 0; i < path.length; i++) {
    const p = path[i];
    if (!p.choice || !dependent(p.e, e) || before(path, i, mine)) continue;
    if (p.choice.names.includes(e.thread)) add(p.choice, e.thread);
    else for (const q of p.choice.names) add(p.choice, q);
  }
}

/**
 * Sleep sets (Godefroid): the threads a transition leaves asleep. `from`
 * holds the threads asleep at the choice point it starts from and those
 * explored from there before it, each with the event of its next step
 * there. One of them whose next step is independent of every step of the
 * transition (`events`, the pick and the steps forced after it), and which
 * did not run in it, would only bring the transition's steps after its own,
 * an order already explored: it is asleep after the transition too, and
 * not explored there. A step of another scenario step ends every sleep.
 */
export function asleep(
  from: readonly ReadonlyMap<string, Event>[],
  events: readonly Event[],
): Map<string, Event> {
  const out = new Map<string, Event>();
  for (const threads of from) {
    for (const [t, e] of threads) {
      if (events.every((x) => x.thread !== t && x.step === e.step && commute(e, x))) {
        out.set(t, e);
      }
    }
  }
  return out;
}
