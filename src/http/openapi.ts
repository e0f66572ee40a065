import type { OpenAPIHono } from "@hono/zod-openapi";
import { ErrorSchema, type ErrorBody } from "../errors/catalogue";
import { DOCS_PAGE } from "./docs";
import type { AppEnv } from "./types";

const ERROR_DESCRIPTIONS = {
  400: "Malformed request: the body is not valid JSON (`malformed_request`)",
  401: "Missing, invalid or expired bearer token",
  403: "The caller is not an admin",
  404: "Not found",
  409: "Conflicts with the current state",
  413: "Request body too large",
  415: "The body is not `application/json` (`unsupported_media_type`)",
  422: "Invalid input; `errors` names each failing field",
  426: "Not a WebSocket upgrade request (`websocket_required`)",
  429: "Too many attempts (`too_many_attempts`); retry after the number of seconds in Retry-After",
  500: "A bug on the server, logged with the request id (`internal_error`)",
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
/** An error response that may carry `Retry-After` (e.g. a 409 whose refusal ends by itself). */
export const withRetryAfter = (response: ErrorResponse): ErrorResponse => ({ ...response, headers: retryAfter });

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

/** What any operation can answer (a bug), and what any with a body can, before its handler runs: the JSON validator and the body limit. */
const EVERY_OPERATION: ErrorStatus[] = [500];
const WITH_A_BODY: ErrorStatus[] = [400, 413, 415];
const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

type Operation = { requestBody?: unknown; responses?: Record<string, unknown> };

/** An error entry as it stands in the generated document: the error body by reference. */
const documentedError = (status: ErrorStatus) => ({
  description: ERROR_DESCRIPTIONS[status],
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/** Adds the errors every operation can answer to each one that does not declare them itself. */
function withCommonErrors<D extends { paths?: object }>(document: D): D {
  for (const methods of Object.values((document.paths ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const [method, value] of Object.entries(methods)) {
      if (!METHODS.has(method)) continue;
      const operation = value as Operation;
      const responses = (operation.responses ??= {});
      for (const status of [...(operation.requestBody ? WITH_A_BODY : []), ...EVERY_OPERATION]) responses[status] ??= documentedError(status);
    }
  }
  return document;
}

export function configureOpenApi(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  const config = {
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
  };
  // Built on first request, once every route is registered; the same for every request after.
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get("/openapi.json", (c) => c.json((document ??= withCommonErrors(app.getOpenAPI31Document(config)))));
  // Swagger UI itself is static assets (http/docs.ts), so none of it is bundled into the Worker.
  app.get("/docs", (c) => c.html(DOCS_PAGE));
}
