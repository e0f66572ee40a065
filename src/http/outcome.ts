import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { BOOKMARK_HEADER } from "../db/session";
import { AppError } from "./errors";

/**
 * What a Durable Object method returns: errors cross the RPC boundary as plain data, because
 * a thrown AppError would arrive as a bare Error without its status and code. `replayed` marks
 * the stored first answer to a request repeated with the same Idempotency-Key.
 */
export type Outcome<T> = (
  | { ok: true; value: T }
  /** `cause`: what operators need to know of a 5xx; the Worker logs it with the request id, never sends it. */
  | { ok: false; status: ContentfulStatusCode; code: string; detail: string; cause?: string }
) & {
  replayed?: true;
  /** The D1 bookmark after the object's work, for the client's next read (see db/session.ts). */
  bookmark?: string;
};

export function failure(error: AppError): Outcome<never> {
  const cause = error.cause === undefined ? {} : { cause: String(error.cause) };
  return { ok: false, status: error.status, code: error.code, detail: error.detail, ...cause };
}

/** Runs `task`, turning an AppError it throws into a failed Outcome; other errors propagate. */
export async function attempt<T>(task: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await task() };
  } catch (error) {
    if (error instanceof AppError) return failure(error);
    throw error;
  }
}

/**
 * The value of a slot object's outcome, or its error thrown. Passes on to the client the
 * bookmark of the object's D1 writes and whether this is a replayed first answer.
 */
export function unwrap<T>(c: Context, outcome: Outcome<T>): T {
  if (outcome.bookmark) c.header(BOOKMARK_HEADER, outcome.bookmark);
  if (outcome.replayed) c.header("Idempotent-Replayed", "true");
  if (outcome.ok) return outcome.value;
  throw new AppError(outcome.status, outcome.code, outcome.detail, undefined, { cause: outcome.cause });
}
