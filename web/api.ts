// The page's client for the API on its own origin. Shapes mirror the OpenAPI document
// (/openapi.json); fields that only some deployments have (waitlist, live counts) are optional.

export type Category = { id: number; name: string };

export type Slot = {
  id: number;
  category_id: number;
  start_time: string;
  end_time: string;
  max_capacity: number;
  available_spots: number;
  waitlist_length?: number;
};

export type BookingStatus = "BOOKED" | "CANCELLED" | "WAITLISTED" | "HELD";

export type Booking = {
  id: number;
  time_slot_id: number;
  status: BookingStatus;
  /** Place in the slot's waitlist, for WAITLISTED entries. */
  position?: number;
  start_time: string;
  end_time: string;
};

/** What one slot's live WebSocket sends after every change (GET /slots/{slot_id}/live). */
export type LiveAvailability = {
  slot_id: number;
  available_spots: number;
  max_capacity: number;
  waitlist_length: number;
  deleted: boolean;
};

export type Role = "ADMIN" | "USER";

export type Session = { token: string; email: string; role: Role; expiresAt: number };

/** What this deployment's API offers beyond the seed contract, read from its OpenAPI document. */
export type Features = { waitlist: boolean; live: boolean; feed: boolean };

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

type ErrorBody = { detail?: unknown; code?: unknown };

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

function errorFrom(response: Response, body: ErrorBody | undefined): ApiError {
  const code = typeof body?.code === "string" ? body.code : "http_error";
  if (response.status === 429) {
    const seconds = Number(response.headers.get("Retry-After"));
    return new ApiError(429, code, retryMessage(Number.isFinite(seconds) && seconds > 0 ? seconds : 60));
  }
  const detail = typeof body?.detail === "string" && body.detail !== "" ? body.detail : `The server answered ${response.status}`;
  // Validation messages start with the field name ("password: ..."): say it as the form does.
  return new ApiError(response.status, code, detail.charAt(0).toUpperCase() + detail.slice(1));
}

const BOOKMARK_HEADER = "x-d1-bookmark";
/** How long reads carry the bookmark of the caller's last write (see `request`). */
const READ_YOUR_WRITES_MS = 5_000;
let lastWrite: { bookmark: string; at: number } | undefined;

type RequestOptions = { token?: string; json?: unknown; etag?: string };

/** A GET that may answer 304 when `etag` still matches: `body` is then undefined. */
export type Revalidated<T> = { notModified: true } | { notModified: false; body: T; etag: string | undefined };

async function send(method: string, path: string, options: RequestOptions): Promise<Response> {
  const headers = new Headers();
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  if (options.json !== undefined) headers.set("Content-Type", "application/json");
  if (options.etag) headers.set("If-None-Match", options.etag);
  // Reads right after this page's own write see it, also from a read replica or a micro-cache;
  // later reads go without, so that they stay cheap.
  if (method === "GET" && lastWrite && Date.now() - lastWrite.at < READ_YOUR_WRITES_MS) headers.set(BOOKMARK_HEADER, lastWrite.bookmark);
  let response: Response;
  try {
    // no-store: this page handles If-None-Match itself, so a 304 reaches it as a 304.
    response = await fetch(path, {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network_error", "Cannot reach the server; check your connection and try again");
  }
  const bookmark = response.headers.get(BOOKMARK_HEADER);
  if (method !== "GET" && bookmark) lastWrite = { bookmark, at: Date.now() };
  return response;
}

async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!(response.headers.get("Content-Type") ?? "").includes("json") || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Sends a request and answers its JSON body, or throws an ApiError with the API's reason. */
export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(method, path, options);
  const body = await bodyOf(response);
  if (!response.ok) throw errorFrom(response, body as ErrorBody | undefined);
  return body as T;
}

/** A GET that revalidates with If-None-Match: a 304 answers `notModified`, keeping the caller's view. */
export async function revalidate<T>(path: string, options: RequestOptions = {}): Promise<Revalidated<T>> {
  const response = await send("GET", path, options);
  if (response.status === 304) return { notModified: true };
  const body = await bodyOf(response);
  if (!response.ok) throw errorFrom(response, body as ErrorBody | undefined);
  return { notModified: false, body: body as T, etag: response.headers.get("ETag") ?? undefined };
}

type OpenApiDocument = {
  paths?: Record<string, unknown>;
  components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> };
};

/** Reads which optional features this API has from its own OpenAPI document. */
export async function detectFeatures(): Promise<Features> {
  try {
    const document = await request<OpenApiDocument>("GET", "/openapi.json");
    const paths = document.paths ?? {};
    return {
      waitlist: "waitlist" in (document.components?.schemas?.NewBooking?.properties ?? {}),
      live: "/slots/{slot_id}/live" in paths,
      feed: "/user/calendar-feed" in paths,
    };
  } catch {
    return { waitlist: false, live: false, feed: false };
  }
}

// The session: the token lives in sessionStorage only (gone with the tab), never in a URL.
const SESSION_KEY = "slotbook.session";

function claimsOf(token: string): { role?: unknown; exp?: unknown } {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)) as { role?: unknown; exp?: unknown };
  } catch {
    return {};
  }
}

/** A session from a fresh token. The role only shapes the page; the API checks it on every call. */
export function sessionFrom(token: string, email: string): Session {
  const claims = claimsOf(token);
  return {
    token,
    email,
    role: claims.role === "ADMIN" ? "ADMIN" : "USER",
    expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : Date.now() + 3_600_000,
  };
}

export function saveSession(session: Session | undefined): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: session.token, email: session.email }));
  else sessionStorage.removeItem(SESSION_KEY);
}

export function restoreSession(): Session | undefined {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null") as { token?: unknown; email?: unknown } | null;
    if (typeof saved?.token !== "string" || typeof saved.email !== "string") return undefined;
    const session = sessionFrom(saved.token, saved.email);
    return session.expiresAt > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}
