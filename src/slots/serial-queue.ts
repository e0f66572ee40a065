import { database, type Database } from "../db/client";
import { toAppError } from "../db/failures";
import type { AppError } from "../errors/catalogue";
import { attempt, failure, type Outcome } from "../objects/outcome";

/**
 * The slot object's queue: owns the order in which its tasks run and the D1 session each one runs in.
 *
 * The runtime runs one event at a time only until the object awaits I/O outside its own storage;
 * every D1 call is such I/O, so each read-check-write runs as a task here, started only when the
 * previous one has settled. Each task gets a new D1 session on the primary, so that its outcome
 * carries the bookmark of its own writes.
 *
 * Group commit (`gather`): changes that arrive while earlier tasks run wait in one group
 * (group-commit.ts), which becomes a single task when its turn comes, so that one D1 round trip
 * answers them all. A group stays open only while no other task is queued behind it: everything still runs in
 * arrival order.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  /** The D1 session of the running task. Safe as a field because tasks run one at a time. */
  #session: D1DatabaseSession;
  #db: Database;
  /** The last queued task, if it is a group that has not started: a request that `gather`s may join it. */
  #gathering: Group<unknown, unknown> | undefined;

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
    return this.#schedule<Outcome<T>>(async () => ({ ...(await task()), bookmark: this.#bookmark() }), failure);
  }

  /** Runs `act` as a task (see `run`), an AppError it throws becoming its failed outcome. */
  attempt<T>(act: () => Promise<T>): Promise<Outcome<T>> {
    return this.run(() => attempt(act));
  }

  /**
   * Answers `request` as one of a group: the last queued task's group if it has not started and
   * holds fewer than `limit`, else a new group queued behind every earlier task. When its turn
   * comes, `answer` gets the group's requests in arrival order and returns their outcomes in that
   * order, each handed back with the task's bookmark. If `answer` throws, every request of the
   * group fails with that error (a 503 when D1 failed) and memory is dropped, as for `run`.
   * Every call for one queue must pass the same `answer`.
   */
  gather<R, T>(request: R, answer: (requests: R[]) => Promise<Outcome<T>[]>, limit: number): Promise<Outcome<T>> {
    let group = this.#gathering as Group<R, T> | undefined;
    if (!group || group.requests.length >= limit) {
      const created: Group<R, T> = { requests: [], settle: [] };
      void this.#schedule(
        async () => {
          if (this.#gathering === created) this.#gathering = undefined;
          const outcomes = await answer(created.requests);
          const bookmark = this.#bookmark();
          outcomes.forEach((outcome, i) => created.settle[i]({ ...outcome, bookmark }));
        },
        (error) => created.settle.forEach((settle) => settle(failure(error))),
      );
      this.#gathering = created as Group<unknown, unknown>;
      group = created;
    }
    const joined = group;
    return new Promise((resolve) => {
      joined.requests.push(request);
      joined.settle.push(resolve);
    });
  }

  /** Queues `task` behind every earlier one in a new D1 session; `failed` makes its result from the error it threw. */
  #schedule<R>(task: () => Promise<R>, failed: (error: AppError) => R): Promise<R> {
    // A task queued behind a group closes it: a later request must not overtake this task.
    this.#gathering = undefined;
    const inSession = () => {
      this.#session = this.d1.withSession("first-primary");
      this.#db = database(this.#session);
      return task();
    };
    const run = this.#tail.then(inSession).catch((error: unknown): R => {
      // D1 failed or timed out, or a bug interrupted the task: the write may or may not have
      // happened. Memory is left as it was before the task and then dropped, so the next task
      // starts from what D1 holds.
      this.forget();
      return failed(toAppError(error));
    });
    this.#tail = run;
    return run;
  }

  #bookmark(): string | undefined {
    return this.#session.getBookmark() ?? undefined;
  }
}

/** Requests waiting to be answered together, and how to hand each its outcome, in arrival order. */
type Group<R, T> = { requests: R[]; settle: ((outcome: Outcome<T>) => void)[] };
