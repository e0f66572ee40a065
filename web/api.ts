// The page's client for the API on its own origin: Hono's `hc`, typed from the Worker's routes
// (AppType) as the tests and scripts are, so a changed route or schema breaks the page's build.
// Owns what every call shares: read-your-writes bookmarks, 304 revalidation, and errors in words.
import { hc, type ClientResponse, type InferResponseType } from "hono/client";
import type { SuccessStatusCode } from "hono/utils/http-status";
import type { AppType } from "../src/index";

/** A refused or failed request, with a message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What to show for a failed call: the API's reason, or a generic line for anything else. */
export const errorText = (error: unknown): string => (error instanceof ApiError ? error.message : "Something went wrong; try again");

/** "Too many attempts, try again in 12 minutes", from a 429's Retry-After (seconds). */
export function retryMessage(retryAfterSeconds: number): string {
  const wait =
    retryAfterSeconds < 60
      ? plural(Math.max(1, Math.ceil(retryAfterSeconds)), "second")
      : plural(Math.ceil(retryAfterSeconds / 60), "minute");
  return `Too many attempts, try again in ${wait}`;
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

const BOOKMARK_HEADER = "x-d1-bookmark";
/** How long reads carry the bookmark of the caller's last write (see `send`). */
const READ_YOUR_WRITES_MS = 5_000;
let lastWrite: { bookmark: string; at: number } | undefined;

/** Every request of the page: one error for an unreachable server, and the read-your-writes bookmark. */
async function send(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? "GET").toUpperCase();
  const headers = new Headers(init.headers);
  // Reads right after this page's own write see it, also from a read replica or a micro-cache;
  // later reads go without, so that they stay cheap.
  if (method === "GET" && lastWrite && Date.now() - lastWrite.at < READ_YOUR_WRITES_MS) headers.set(BOOKMARK_HEADER, lastWrite.bookmark);
  let response: Response;
  try {
    // no-store: the page handles If-None-Match itself, so a 304 reaches it as a 304.
    response = await fetch(input, { ...init, headers, cache: "no-store" });
  } catch {
    throw new ApiError(0, "network_error", "Cannot reach the server; check your connection and try again");
  }
  const bookmark = response.headers.get(BOOKMARK_HEADER);
  if (method !== "GET" && bookmark) lastWrite = { bookmark, at: Date.now() };
  return response;
}

export const api = hc<AppType>(location.origin, { fetch: send });

export type Category = InferResponseType<typeof api.categories.$get, 200>[number];
export type Slot = InferResponseType<typeof api.slots.$get, 200>[number];
/** One of the caller's entries (GET /bookings): booked, held, waitlisted or cancelled, with its slot's times. */
export type Booking = InferResponseType<typeof api.bookings.$get, 200>[number];
export type NewSlot = InferRequestJson<typeof api.admin.slots.$post>;
/** One entry of a slot's roster (GET /admin/slots/{slot_id}/bookings), with the person's email; its 200 is this list's JSON or CSV text. */
export type RosterEntry = Extract<InferResponseType<(typeof api.admin.slots)[":slot_id"]["bookings"]["$get"], 200>, unknown[]>[number];
/** What one slot's live WebSocket sends after every change (GET /slots/{slot_id}/live). */
export type LiveAvailability = InferResponseType<(typeof api.slots)[":slot_id"]["live"]["$get"], 101>;

type InferRequestJson<T> = T extends (args: { json: infer Json }, ...rest: never[]) => unknown ? Json : never;
type AnyResponse = ClientResponse<unknown, number, string>;
/** The body of the response's 2xx statuses, as the route declares them. */
type SuccessBody<R> = R extends ClientResponse<infer Body, infer Status, "json"> ? (Status extends SuccessStatusCode ? Body : never) : never;

/** Request options for a call as `token`'s user. */
export const asCaller = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!(response.headers.get("Content-Type") ?? "").includes("json") || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorFrom(response: Response, body: unknown): ApiError {
  const { detail, code } = (body ?? {}) as { detail?: unknown; code?: unknown };
  const reason = typeof code === "string" ? code : "http_error";
  if (response.status === 429) {
    const seconds = Number(response.headers.get("Retry-After"));
    return new ApiError(429, reason, retryMessage(Number.isFinite(seconds) && seconds > 0 ? seconds : 60));
  }
  const text = typeof detail === "string" && detail !== "" ? detail : `The server answered ${response.status}`;
  // Validation messages start with the field name ("password: ..."): say it as the form does.
  return new ApiError(response.status, reason, text.charAt(0).toUpperCase() + text.slice(1));
}

/** Waits for a call and answers its success body, or throws an ApiError with the API's reason. */
export async function ok<R extends AnyResponse>(call: Promise<R>): Promise<SuccessBody<R>> {
  const response = (await call) as unknown as Response;
  const body = await bodyOf(response);
  if (!response.ok) throw errorFrom(response, body);
  return body as SuccessBody<R>;
}

/** Like `ok`, for a file (a CSV, say): its body as a Blob, or an ApiError with the API's reason. */
export async function okFile(call: Promise<AnyResponse>): Promise<Blob> {
  const response = (await call) as unknown as Response;
  if (!response.ok) throw errorFrom(response, await bodyOf(response));
  return response.blob();
}

/**
 * Offers `file` to the person as a download named `filename`. The API wants a bearer token, which a
 * plain link cannot send: the page fetches the file itself and hands the browser an object URL.
 */
export function saveFile(file: Blob, filename: string): void {
  const url = URL.createObjectURL(file);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** A GET that may answer 304 when the ETag sent still matches: the caller keeps what it shows. */
export type Revalidated<T> = { notModified: true } | { notModified: false; body: T; etag: string | undefined };

/** Like `ok`, for a GET sent with If-None-Match (see `ifNoneMatch`). */
export async function revalidated<R extends AnyResponse>(call: Promise<R>): Promise<Revalidated<SuccessBody<R>>> {
  const response = (await call) as unknown as Response;
  if (response.status === 304) return { notModified: true };
  const body = await bodyOf(response);
  if (!response.ok) throw errorFrom(response, body);
  return { notModified: false, body: body as SuccessBody<R>, etag: response.headers.get("ETag") ?? undefined };
}

/** Request options for a GET as `token`'s user (if any), revalidating `etag` (if any). */
export function ifNoneMatch(etag: string | undefined, token?: string): { headers: Record<string, string> } {
  return { headers: { ...(token ? asCaller(token).headers : {}), ...(etag ? { "If-None-Match": etag } : {}) } };
}
