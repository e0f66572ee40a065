import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, type ErrorFacts } from "../errors/catalogue";

/**
 * What a Durable Object method returns: errors cross the RPC boundary as plain data, because
 * a thrown AppError would arrive as a bare Error without its status and code. `replayed` marks
 * the stored first answer to a request repeated with the same Idempotency-Key.
 */
export type Outcome<T> = (
  | { ok: true; value: T }
  /**
   * `cause`: what operators need to know of a 5xx; the Worker logs it with the request id, never sends it.
   * `headers`: the error's response headers (e.g. Retry-After), sent with it; `facts`, what its body says besides.
   */
  | { ok: false; status: ContentfulStatusCode; code: string; detail: string; cause?: string; headers?: Record<string, string>; facts?: ErrorFacts }
) & {
  replayed?: true;
  /** The D1 bookmark after the object's work, for the client's next read (see http/d1-session.ts). */
  bookmark?: string;
};

export function failure(error: AppError): Outcome<never> {
  const { status, code, detail, cause, headers, facts } = error;
  const sent = { ...(Object.keys(headers).length > 0 ? { headers } : {}), ...(Object.keys(facts).length > 0 ? { facts } : {}) };
  if (cause === undefined) return { ok: false, status, code, detail, ...sent };
  // An Error's stack says where it came from: what a bug's cause is for.
  return { ok: false, status, code, detail, ...sent, cause: cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause) };
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
