import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./types";

/** The one error body of the API. FastAPI clients read `detail`; programs branch on `code`. */
export const ErrorSchema = z
  .object({
    detail: z.string().openapi({ example: "Slot is full" }),
    code: z.string().openapi({ example: "slot_full" }),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "Validation failures, one per field (422 only)" }),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorSchema>;

/**
 * What an AppError carries besides its body: response headers (e.g. Retry-After), and as `cause`
 * what operators need to know, which is logged for a 5xx and never sent.
 */
export type AppErrorOptions = ErrorOptions & { headers?: Record<string, string> };

/** The one error type. Thrown anywhere, rendered by `handleError`. */
export class AppError extends Error {
  readonly headers: Record<string, string>;

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly detail: string,
    readonly errors?: ErrorBody["errors"],
    options: AppErrorOptions = {},
  ) {
    super(detail, options);
    this.headers = options.headers ?? {};
  }

  get body(): ErrorBody {
    return { detail: this.detail, code: this.code, ...(this.errors ? { errors: this.errors } : {}) };
  }
}

/** A 422 about one field, shaped like a validation failure: `detail` names the field, `errors` lists it. */
export function invalidField(code: string, field: string, message: string): AppError {
  return new AppError(422, code, `${field}: ${message}`, [{ field, message }]);
}

export type BrokenConstraint = { kind: "unique" | "check" | "foreign_key"; on: string };

/**
 * Which D1 constraint a failed write broke, if any, read from the error chain (drizzle wraps D1's
 * error). `on` is SQLite's description, e.g. "bookings.time_slot_id, bookings.user_id".
 */
export function brokenConstraint(error: unknown): BrokenConstraint | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const match = /(UNIQUE|CHECK|FOREIGN KEY) constraint failed:?\s*([^:]*)/.exec(e.message);
    if (match) {
      const kind = match[1] === "UNIQUE" ? "unique" : match[1] === "CHECK" ? "check" : "foreign_key";
      return { kind, on: match[2].trim() };
    }
  }
  return undefined;
}

const HTTP_EXCEPTION_CODES: Partial<Record<number, string>> = { 400: "malformed_request", 415: "unsupported_media_type" };

/**
 * Renders every error as the one JSON body. A 5xx is logged with the request id; its body says
 * only what failed in general terms, never a stack trace, a query or a message from a library.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof AppError) {
    if (error.status >= 500) {
      const line = `request ${c.get("requestId")}: ${error.status} ${error.code}: ${error.detail}`;
      console.error(line, ...(error.cause === undefined ? [] : [error.cause]));
    }
    if (error.status === 401) c.header("WWW-Authenticate", "Bearer");
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    return c.json(error.body, error.status);
  }
  if (error instanceof HTTPException) {
    // Raised by Hono itself, e.g. its JSON validator on a body that is not JSON.
    const status = error.status as ContentfulStatusCode;
    const code = HTTP_EXCEPTION_CODES[status] ?? "http_error";
    return c.json({ detail: error.message || "Bad request", code } satisfies ErrorBody, status);
  }
  console.error(`request ${c.get("requestId")}: unhandled error`, error);
  return c.json({ detail: "Internal server error", code: "internal_error" } satisfies ErrorBody, 500);
}

export function handleNotFound(c: Context): Response {
  return c.json({ detail: `No route for ${c.req.method} ${c.req.path}`, code: "not_found" } satisfies ErrorBody, 404);
}
