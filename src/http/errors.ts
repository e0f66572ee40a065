import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { toAppError } from "../db/failures";
import type { ErrorBody } from "../errors/catalogue";
import type { AppEnv } from "./types";

// The rendering of every error as the one JSON body (errors/catalogue.ts), with its log line.

const HTTP_EXCEPTION_CODES: Partial<Record<number, string>> = { 400: "malformed_request", 415: "unsupported_media_type" };

/**
 * Renders every error as the one JSON body. A 5xx is logged with the request id; its body says
 * only what failed in general terms, never a stack trace, a query or a message from a library.
 * D1 failing anywhere is the same 503 as through a slot object.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof HTTPException) {
    // Raised by Hono itself, e.g. its JSON validator on a body that is not JSON.
    const status = error.status as ContentfulStatusCode;
    const code = HTTP_EXCEPTION_CODES[status] ?? "http_error";
    return c.json({ detail: error.message || "Bad request", code } satisfies ErrorBody, status);
  }
  const known = toAppError(error);
  if (known.status >= 500) {
    const line = `request ${c.get("requestId")}: ${known.status} ${known.code}: ${known.detail}`;
    console.error(line, ...(known.cause === undefined ? [] : [known.cause]));
  }
  if (known.status === 401) c.header("WWW-Authenticate", "Bearer");
  for (const [name, value] of Object.entries(known.headers)) c.header(name, value);
  return c.json(known.body, known.status);
}

export function handleNotFound(c: Context): Response {
  return c.json({ detail: `No route for ${c.req.method} ${c.req.path}`, code: "not_found" } satisfies ErrorBody, 404);
}
