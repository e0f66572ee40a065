// A small client for the slotbook HTTP API, shared by scripts/restart-check.ts and scripts/bench.ts.
// It talks to a running server (see scripts/dev-server.ts) the way any client would: JSON over
// HTTP, through Hono's `hc` typed from the Worker's routes (AppType), so a change to a route's
// schema breaks these scripts at compile time rather than at run time.
import { hc, type ClientResponse } from "hono/client";
import type { AppType } from "../src/index";

export type Token = string;

type Client = ReturnType<typeof hc<AppType>>;

/** Shapes as the routes declare them. */
export type Slot = Awaited<ReturnType<ApiClient["slots"]>>[number];
export type CalendarBooking = Awaited<ReturnType<ApiClient["bookings"]>>[number];

export type ApiResponse = { status: number; body: unknown };

/** A response with another status than the caller expected. The message says what was sent and what came back. */
export class UnexpectedResponse extends Error {
  constructor(
    readonly request: string,
    readonly expected: number,
    readonly response: ApiResponse,
  ) {
    super(`${request}: expected HTTP ${expected}, got ${response.status} ${JSON.stringify(response.body)}`);
  }
}

/** The `code` of an error body, if the body is one. */
export function errorCode(body: unknown): string | undefined {
  return typeof body === "object" && body !== null && "code" in body && typeof body.code === "string" ? body.code : undefined;
}

/** A distinct client address for the n-th simulated client: a /64 of its own in the IPv6 documentation range. */
export const clientAddress = (n: number) => `2001:db8:${n.toString(16)}::1`;

/** Reads a response's JSON body (or its text, when it is not JSON, so that an error message can show it). */
async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text === "" ? null : JSON.parse(text);
  } catch {
    return text;
  }
}

export class ApiClient {
  readonly #client: Client;

  constructor(readonly baseUrl: string) {
    this.#client = hc<AppType>(baseUrl, { fetch: fetchWithTimeout });
  }

  /**
   * Sends one request with a JSON body; never throws on an HTTP status. For requests whose
   * answer the caller inspects itself, e.g. an expected refusal.
   */
  async send(method: string, path: string, { token, json }: { token?: Token; json?: unknown } = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...auth(token) };
    if (json !== undefined) headers["content-type"] = "application/json";
    const body = json === undefined ? undefined : JSON.stringify(json);
    const response = await fetchWithTimeout(new URL(path, this.baseUrl), { method, headers, body });
    return { status: response.status, body: await bodyOf(response) };
  }

  async register(email: string, password: string, address?: string): Promise<Token> {
    const headers: Record<string, string> = address === undefined ? {} : { "cf-connecting-ip": address };
    return (await expect("POST /register", 201, this.#client.register.$post({ json: { email, password } }, { headers }))).access_token;
  }

  async login(email: string, password: string): Promise<Token> {
    return (await expect("POST /login", 200, this.#client.login.$post({ json: { email, password } }))).access_token;
  }

  async createCategory(admin: Token, name: string) {
    return expect("POST /admin/categories", 201, this.#client.admin.categories.$post({ json: { name } }, { headers: auth(admin) }));
  }

  async categories() {
    return expect("GET /categories", 200, this.#client.categories.$get({ query: {} }));
  }

  async createSlot(admin: Token, slot: { category_id: number; start_time: string; end_time: string; max_capacity: number }) {
    return expect("POST /admin/slots", 201, this.#client.admin.slots.$post({ json: slot }, { headers: auth(admin) }));
  }

  async createWebhook(admin: Token, url: string, events: ("slot.created" | "booking.created" | "booking.cancelled")[]) {
    return expect("POST /admin/webhooks", 201, this.#client.admin.webhooks.$post({ json: { url, events } }, { headers: auth(admin) }));
  }

  /** GET /slots, by start time: every slot, as no token is sent (and as the script's own writes left them). */
  async slots() {
    return expect("GET /slots", 200, this.#client.slots.$get({ query: {} }));
  }

  async book(token: Token, slotId: number) {
    return expect("POST /bookings", 201, this.#client.bookings.$post({ json: { time_slot_id: slotId }, header: {} }, { headers: auth(token) }));
  }

  async cancel(token: Token, bookingId: number): Promise<void> {
    const param = { booking_id: String(bookingId) };
    await expect("DELETE /bookings/{booking_id}", 200, this.#client.bookings[":booking_id"].$delete({ param, header: {} }, { headers: auth(token) }));
  }

  async bookings(token: Token) {
    return expect("GET /bookings", 200, this.#client.bookings.$get({ query: { limit: "500" } }, { headers: auth(token) }));
  }
}

/** Every request gives up after a minute, so that a stuck server fails the script rather than hanging it. */
function fetchWithTimeout(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  return fetch(input, { ...init, signal: AbortSignal.timeout(60_000) });
}

function auth(token: Token | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/**
 * The body of a response with the `expected` status, typed as the route declares that status;
 * any other status throws UnexpectedResponse.
 */
async function expect<R extends ClientResponse<unknown, number, string>, S extends number>(
  request: string,
  expected: S,
  pending: Promise<R>,
): Promise<R extends ClientResponse<infer Body, S, "json"> ? Body : never> {
  const response = await pending;
  const body = await bodyOf(response as unknown as Response);
  if (response.status !== expected) throw new UnexpectedResponse(request, expected, { status: response.status, body });
  return body as R extends ClientResponse<infer Body, S, "json"> ? Body : never;
}

/** An instant `hours` from now, in the API's output format (UTC, whole seconds, `Z`). */
export function hoursFromNow(hours: number, now = Date.now()): string {
  return new Date(Math.floor(now / 1000) * 1000 + hours * 3_600_000).toISOString().replace(".000Z", "Z");
}

/**
 * Runs `task` over `items` with at most `limit` running at a time; results keep the items' order.
 * `onDone` is called after each item with the number finished so far. The first failure rejects.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
  onDone?: (finished: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let finished = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index], index);
      } catch (error) {
        failed = true;
        throw error;
      }
      onDone?.(++finished);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
