import type { OpenAPIHono } from "@hono/zod-openapi";
import { ErrorSchema, type ErrorBody } from "../errors/catalogue";
import { DOCS_PAGE } from "./docs";
import type { AppEnv } from "./types";

const ERROR_DESCRIPTIONS = {
  401: "Missing, invalid or expired bearer token",
  403: "The caller is not an admin",
  404: "Not found",
  409: "Conflicts with the current state",
  413: "Request body too large",
  422: "Invalid input; `errors` names each failing field",
  426: "Not a WebSocket upgrade request (`websocket_required`)",
  429: "Too many attempts (`too_many_attempts`); retry after the number of seconds in Retry-After",
  503: "Storage temporarily unavailable; safe to retry",
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;
const errorContent = { "application/json": { schema: ErrorSchema } };
const retryAfter = { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" as const } } };
type ErrorResponse = { description: string; content: typeof errorContent; headers?: typeof retryAfter };

/**
 * OpenAPI response entries for the error statuses a route can answer, all with the one error body.
 * Typed with exactly those statuses, so a typed client sees only what the route declares.
 */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]): { [K in S]: ErrorResponse } {
  const entry = (status: ErrorStatus): ErrorResponse => ({
    description: ERROR_DESCRIPTIONS[status],
    content: errorContent,
    ...(status === 429 ? { headers: retryAfter } : {}),
  });
  return Object.fromEntries(statuses.map((status) => [status, entry(status)])) as {
    [K in S]: ErrorResponse;
  };
}

/** The JSON body of a request, required so that a missing or non-JSON body is refused. */
export function jsonBody<T>(schema: T) {
  return { required: true, content: { "application/json": { schema } } } as const;
}

export function jsonResponse<T>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

export const bearerAuth = [{ bearerAuth: [] }];

export function configureOpenApi(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "slotbook",
      version: "1.0.0",
      description:
        "Time-slot booking API. Times are ISO 8601; responses are UTC ending in Z. " +
        "Every error is JSON: " +
        JSON.stringify({ detail: "Slot is full", code: "slot_full" } satisfies ErrorBody),
    },
    // Relative: the API is wherever this document is served from, locally or deployed.
    servers: [{ url: "/", description: "The origin serving this document" }],
  });
  // Swagger UI itself is static assets (http/docs.ts), so none of it is bundled into the Worker.
  app.get("/docs", (c) => c.html(DOCS_PAGE));
}
