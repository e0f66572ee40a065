import { exports } from "cloudflare:workers";
import { hc, type ClientResponse } from "hono/client";
import type { ErrorBody } from "../../src/errors/catalogue";
import type { AppType } from "../../src/index";

// The API as tests call it: a typed client (hc<AppType>) through the Worker's fetch handler, raw
// requests for what a typed client would not send, and the reading of their answers.

export type ApiResponse<T = unknown> = { status: number; body: T; headers: Headers };

const ORIGIN = "http://slotbook.test";

/**
 * The API as a typed client (Hono's `hc`, typed from the routes), calling the Worker through its
 * fetch handler: a route whose schema changes breaks the tests that depend on it at compile time.
 */
export const client = hc<AppType>(ORIGIN, { fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)) });

/** Request options for `client` calls made as `user` (and with more headers, e.g. an Idempotency-Key). */
export function as(user: { token: string } | undefined, headers: Record<string, string> = {}) {
  return { headers: user ? { ...headers, Authorization: `Bearer ${user.token}` } : headers };
}

/**
 * A `client` response read once: its status, headers and JSON body. The body is typed as the
 * route's success shape, with the error body's fields optional, so a test can check either.
 */
export async function settle<Success>(pending: Promise<ClientResponse<Success | ErrorBody>>): Promise<ApiResponse<Success & Partial<ErrorBody>>> {
  const response = await pending;
  return { status: response.status, headers: response.headers, body: (await response.json()) as Success & Partial<ErrorBody> };
}

/** Calls the Worker with any method, path, headers and raw body: for requests a typed client would not send. */
export async function api<T = unknown>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers.set("Content-Type", "application/json");
  }
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body }));
  const text = await response.text();
  const contentType = response.headers.get("Content-Type") ?? "";
  return { status: response.status, body: contentType.includes("json") ? JSON.parse(text) : text, headers: response.headers };
}

/** A refusal's status and code, to compare in one assertion. */
export function errorOf(response: { status: number; body: unknown }) {
  return { status: response.status, code: (response.body as Partial<ErrorBody> | undefined)?.code };
}

/** A 422's status and the fields it names, to compare as one value. */
export function refusedFields(response: { status: number; body: unknown }) {
  return { status: response.status, fields: (response.body as Partial<ErrorBody> | undefined)?.errors?.map((error) => error.field) };
}

/** Asks D1 itself, past the edge micro-cache: what a client that has just written sees. */
export const FRESH = { "Cache-Control": "no-cache" };

/** Counts how many times each status occurs, e.g. { 201: 10, 409: 90 }. */
export function statusCounts(responses: { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
