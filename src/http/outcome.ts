import type { Context } from "hono";
import { AppError } from "../errors/catalogue";
import type { Outcome } from "../objects/outcome";
import { BOOKMARK_HEADER } from "./d1-session";

// A slot object's Outcome (objects/outcome.ts) turned back into a response's value, or its error thrown.

/**
 * The value of a slot object's outcome, or its error thrown. Passes on to the client the
 * bookmark of the object's D1 writes and whether this is a replayed first answer.
 */
export function unwrap<T>(c: Context, outcome: Outcome<T>): T {
  if (outcome.bookmark) c.header(BOOKMARK_HEADER, outcome.bookmark);
  if (outcome.replayed) c.header("Idempotent-Replayed", "true");
  if (outcome.ok) return outcome.value;
  throw new AppError(outcome.status, outcome.code, outcome.detail, undefined, { cause: outcome.cause, headers: outcome.headers, facts: outcome.facts });
}
