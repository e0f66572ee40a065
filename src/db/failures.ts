import { AppError, internalError, invalidToken, storageUnavailable } from "../errors/catalogue";

// What a failed call means, read from its error: a broken constraint of D1's (which a command maps
// to its own answer), D1 itself failing (a 503, safe to retry), or a bug (a 500).

/** The error and its causes, outermost first (drizzle wraps D1's error). */
function* chain(error: unknown): Generator<Error> {
  for (let e: unknown = error; e instanceof Error; e = e.cause) yield e;
}

export type BrokenConstraint = { kind: "unique" | "check" | "foreign_key"; on: string };

/**
 * Which D1 constraint a failed write broke, if any, read from the error chain (drizzle wraps D1's
 * error). `on` is SQLite's description, e.g. "bookings.time_slot_id, bookings.user_id".
 */
export function brokenConstraint(error: unknown): BrokenConstraint | undefined {
  for (const e of chain(error)) {
    const match = /(UNIQUE|CHECK|FOREIGN KEY) constraint failed:?\s*([^:]*)/.exec(e.message);
    if (match) {
      const kind = match[1] === "UNIQUE" ? "unique" : match[1] === "CHECK" ? "check" : "foreign_key";
      return { kind, on: match[2].trim() };
    }
  }
  return undefined;
}

/**
 * Whether D1 refused a write for one of its rules: a constraint, or a trigger that raised (such as
 * an erased account's, migration 0008). A batch of many requests refused so names none of them.
 */
export function refusedByRule(error: unknown): boolean {
  return brokenConstraint(error) !== undefined || [...chain(error)].some((e) => e.message.includes("SQLITE_CONSTRAINT"));
}

/**
 * Whether D1 itself failed (an error of D1's, or a query drizzle sent that D1 did not run), as
 * opposed to a broken constraint, which a route maps to its own answer, or a bug. Such a failure
 * is transient: the request may be retried.
 */
export function isStorageFailure(error: unknown): boolean {
  if (brokenConstraint(error)) return false;
  return [...chain(error)].some((e) => /^(D1_|Failed query:)/.test(e.message));
}

/** Whether a trigger of the migrations refused the write with RAISE(ABORT, `message`). */
export function raisedBy(error: unknown, message: string): boolean {
  return [...chain(error)].some((e) => e.message.includes(message));
}

/**
 * Whether D1 refused a new entry, feed or preference because its account was erased (migration
 * 0008): the caller's token outlived its account in another isolate's cache of its user.
 */
const accountErased = (error: unknown) => raisedBy(error, "account erased");

/**
 * The AppError that any error thrown while serving a request stands for: itself; 401 for a
 * caller whose account is gone; a 503 when D1 failed; else a 500 (a bug).
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (accountErased(error)) return invalidToken();
  return isStorageFailure(error) ? storageUnavailable(error) : internalError(error);
}
