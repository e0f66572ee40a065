import { database, type Database } from "../db/client";
import { toAppError } from "../db/failures";
import { attempt, failure, type Outcome } from "../objects/outcome";

/**
 * The slot object's queue: owns the order in which its tasks run and the D1 session each one runs in.
 *
 * The runtime runs one event at a time only until the object awaits I/O outside its own storage;
 * every D1 call is such I/O, so each read-check-write runs as a task here, started only when the
 * previous one has settled. Each task gets a new D1 session on the primary, so that its outcome
 * carries the bookmark of its own writes.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  /** The D1 session of the running task. Safe as a field because tasks run one at a time. */
  #session: D1DatabaseSession;
  #db: Database;

  /** `forget` drops the object's memory after a task failed in a way that leaves D1's state in doubt. */
  constructor(
    private readonly d1: D1Database,
    private readonly forget: () => void,
  ) {
    this.#session = d1.withSession("first-primary");
    this.#db = database(this.#session);
  }

  /** The running task's handle on D1 (its own session): for use inside a task only. */
  get db(): Database {
    return this.#db;
  }

  /**
   * Runs `task` after every earlier task has settled, in a D1 session of its own, and hands back
   * the session's bookmark with the outcome. A failure of D1 itself becomes a 503, any other error
   * (a bug) a 500; either way memory is dropped.
   */
  run<T>(task: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
    const inSession = async (): Promise<Outcome<T>> => {
      this.#session = this.d1.withSession("first-primary");
      this.#db = database(this.#session);
      const outcome = await task();
      return { ...outcome, bookmark: this.#session.getBookmark() ?? undefined };
    };
    const run = this.#tail.then(inSession).catch((error: unknown): Outcome<T> => {
      // D1 failed or timed out, or a bug interrupted the task: the write may or may not have
      // happened. Memory is left as it was before the task and then dropped, so the next task
      // starts from what D1 holds.
      this.forget();
      return failure(toAppError(error));
    });
    this.#tail = run;
    return run;
  }

  /** Runs `act` as a task (see `run`), an AppError it throws becoming its failed outcome. */
  attempt<T>(act: () => Promise<T>): Promise<Outcome<T>> {
    return this.run(() => attempt(act));
  }
}
