// A small typed client for the slotbook HTTP API, shared by scripts/restart-check.ts and scripts/bench.ts.
// It talks to a running server (see scripts/dev-server.ts) the way any client would: JSON over HTTP.

export type Token = string;

export type Slot = {
  id: number;
  category_id: number;
  start_time: string;
  end_time: string;
  max_capacity: number;
  available_spots: number;
};

export type Booking = { id: number; user_id: number; time_slot_id: number; status: "BOOKED" | "CANCELLED" };

/** An entry of GET /bookings: a booking with its slot's category and times. */
export type CalendarBooking = Booking & { category_id: number; start_time: string; end_time: string };

export type Category = { id: number; name: string };

/** The API's one error shape. */
export type ErrorBody = { detail: string; code: string };

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

type RequestOptions = { token?: Token; json?: unknown; clientAddress?: string };

/** A distinct client address for the n-th simulated client, from the IPv6 documentation range. */
export const clientAddress = (n: number) => `2001:db8:${n.toString(16)}::1`;

export class ApiClient {
  constructor(readonly baseUrl: string) {}

  /**
   * Sends one request; a JSON body is sent as application/json. Never throws on an HTTP status.
   * `clientAddress` poses as that client (CF-Connecting-IP), so seeding many users is not
   * mistaken for one address registering in bulk.
   */
  async send(method: string, path: string, { token, json, clientAddress }: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (clientAddress !== undefined) headers["cf-connecting-ip"] = clientAddress;
    if (json !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch {
      // Not JSON: keep the text, so that an error message can show it.
    }
    return { status: response.status, body };
  }

  /** Sends one request and returns its body, or throws UnexpectedResponse if the status is not `expected`. */
  async expect<T>(expected: number, method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.status !== expected) throw new UnexpectedResponse(`${method} ${path}`, expected, response);
    return response.body as T;
  }

  async register(email: string, password: string, clientAddress?: string): Promise<Token> {
    return (await this.expect<{ access_token: Token }>(201, "POST", "/register", { json: { email, password }, clientAddress })).access_token;
  }

  async login(email: string, password: string): Promise<Token> {
    return (await this.expect<{ access_token: Token }>(200, "POST", "/login", { json: { email, password } })).access_token;
  }

  async createCategory(admin: Token, name: string): Promise<Category> {
    return this.expect<Category>(201, "POST", "/admin/categories", { token: admin, json: { name } });
  }

  async categories(): Promise<Category[]> {
    return this.expect<Category[]>(200, "GET", "/categories");
  }

  async createSlot(
    admin: Token,
    slot: { category_id: number; start_time: string; end_time: string; max_capacity: number },
  ): Promise<Slot> {
    return this.expect<Slot>(201, "POST", "/admin/slots", { token: admin, json: slot });
  }

  /** GET /slots, by start time. Without a token and without `query`, every slot. */
  async slots(query = ""): Promise<Slot[]> {
    return this.expect<Slot[]>(200, "GET", `/slots${query}`);
  }

  async book(token: Token, slotId: number): Promise<Booking> {
    return this.expect<Booking>(201, "POST", "/bookings", { token, json: { time_slot_id: slotId } });
  }

  async cancel(token: Token, bookingId: number): Promise<void> {
    await this.expect(200, "DELETE", `/bookings/${bookingId}`, { token });
  }

  async bookings(token: Token): Promise<CalendarBooking[]> {
    return this.expect<CalendarBooking[]>(200, "GET", "/bookings", { token });
  }
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
