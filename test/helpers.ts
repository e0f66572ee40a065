import { createScheduledController, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { hc, type ClientResponse } from "hono/client";
import { sign } from "hono/jwt";
import { expect, inject } from "vitest";
import { AUDIENCE, ISSUER, issueToken, keyIdOf, TOKEN_LIFETIME_SECONDS } from "../src/auth/jwt";
import type { Role } from "../src/db/schema";
import { toUtcIso } from "../src/db/time";
import type { ErrorBody } from "../src/errors/catalogue";
import type { WebhookEventType } from "../src/db/schema";
import worker, { type AppType } from "../src/index";
import { slotObject } from "../src/objects/stubs";
import { base64url } from "../src/values/encoding";
import type { SlotAvailability, SlotView } from "../src/views/slot";
import type { ReceivedWebhook } from "./webhook-receiver";

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

let uniqueCounter = 0;
const unique = () => `${Date.now()}-${++uniqueCounter}`;

/** An email no other test uses. */
export const uniqueEmail = (prefix = "user") => `${prefix}-${unique()}@example.com`;

/** A name (of a category, say) no other test uses. */
export const uniqueName = (base: string) => `${base} ${unique()}`;

/** The password of users registered through the API by tests. */
export const PASSWORD = "correct horse battery";

/** `CF-Connecting-IP`, as Cloudflare's edge sets it, when `address` is given. */
const fromAddress = (address?: string): Record<string, string> => (address ? { "CF-Connecting-IP": address } : {});

export function register(email: string, password = PASSWORD, address?: string) {
  return settle(client.register.$post({ json: { email, password } }, { headers: fromAddress(address) }));
}

export function login(email: string, password = PASSWORD, address?: string) {
  return settle(client.login.$post({ json: { email, password } }, { headers: fromAddress(address) }));
}

/** A refusal's status and code, to compare in one assertion. */
export function errorOf(response: { status: number; body: unknown }) {
  return { status: response.status, code: (response.body as Partial<ErrorBody> | undefined)?.code };
}

/** A 422's status and the fields it names, to compare as one value. */
export function refusedFields(response: { status: number; body: unknown }) {
  return { status: response.status, fields: (response.body as Partial<ErrorBody> | undefined)?.errors?.map((error) => error.field) };
}

export type TestUser = { id: number; email: string; token: string };

/**
 * Users made straight in D1 with a token signed by the app's own code: fast enough for hundreds
 * of users. Their password hash is not a real one; tests of login register through the API.
 */
export async function createUsers(count: number, role: Role = "USER"): Promise<TestUser[]> {
  const batchId = unique();
  const emails = Array.from({ length: count }, (_, i) => `user-${batchId}-${i}@test.example`);
  const statements = emails.map((email) =>
    env.DB.prepare("INSERT INTO users (email, password_hash, role, created_at) VALUES (?, 'not-a-hash', ?, ?) RETURNING id").bind(
      email,
      role,
      toUtcIso(new Date()),
    ),
  );
  const results = await env.DB.batch<{ id: number }>(statements);
  return Promise.all(
    results.map(async (result, i) => {
      const id = result.results[0].id;
      return { id, email: emails[i], token: await issueToken(env, { id, role }) };
    }),
  );
}

export async function createUser(role: Role = "USER"): Promise<TestUser> {
  const [user] = await createUsers(1, role);
  return user;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A text's UTF-8 bytes in unpadded base64url, as in a JWT. */
export const base64UrlOfText = (text: string) => base64url(new TextEncoder().encode(text).buffer);

export type Claims = { sub?: string; role?: string; iss?: string; aud?: string; iat?: number; exp?: number; nbf?: number };

/** The claims the server itself would issue for this user, now. */
export function validClaims(user: TestUser): Claims {
  const now = nowSeconds();
  return { sub: String(user.id), role: "USER", iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + TOKEN_LIFETIME_SECONDS };
}

export type Signing = { secret?: string; alg?: "HS256" | "HS512"; kid?: string };

/**
 * A token signed by hono/jwt: with the server's secret (JWT_SECRET, a single key in tests), HS256
 * and that secret's kid unless told. With validClaims, valid in every respect but those changed.
 */
export async function signed(claims: Claims, { secret = env.JWT_SECRET!, alg = "HS256", kid }: Signing = {}): Promise<string> {
  return sign(claims, { kty: "oct", k: base64UrlOfText(secret), alg, kid: kid ?? (await keyIdOf(secret)) });
}

export function hoursFromNow(hours: number): string {
  return toUtcIso(new Date(Date.now() + hours * 3_600_000));
}

/**
 * A slot written straight to D1 (category 1 unless given): starting `startsInHours` from now, or at
 * `start`; an hour long unless `end` is given.
 */
export async function createSlot(
  options: { capacity?: number; startsInHours?: number; categoryId?: number; start?: string; end?: string } = {},
): Promise<number> {
  const { capacity = 10, startsInHours = 24, categoryId = 1 } = options;
  const start = options.start ?? hoursFromNow(startsInHours);
  const end = options.end ?? toUtcIso(new Date(Date.parse(start) + 3_600_000));
  const row = await env.DB.prepare(
    "INSERT INTO time_slots (category_id, start_time, end_time, max_capacity) VALUES (?, ?, ?, ?) RETURNING id",
  )
    .bind(categoryId, start, end, capacity)
    .first<{ id: number }>();
  return row!.id;
}

/**
 * Moves a slot straight in D1 (behind its object's back) to start `startsInHours` from now, an
 * hour long: with a negative number, a slot that has started.
 */
export async function moveSlotInD1(slotId: number, startsInHours: number): Promise<void> {
  await env.DB.prepare("UPDATE time_slots SET start_time = ?, end_time = ? WHERE id = ?")
    .bind(hoursFromNow(startsInHours), hoursFromNow(startsInHours + 1), slotId)
    .run();
}

/** What D1 holds for a slot: the maintained count and the actual number of BOOKED rows. */
export async function slotCounts(slotId: number) {
  return (await env.DB.prepare(
    `SELECT max_capacity, booked_count,
            (SELECT COUNT(*) FROM bookings WHERE time_slot_id = s.id AND status = 'BOOKED') AS booked_rows
       FROM time_slots s WHERE id = ?`,
  )
    .bind(slotId)
    .first<{ max_capacity: number; booked_count: number; booked_rows: number }>())!;
}

/** Asks D1 itself, past the edge micro-cache: what a client that has just written sees. */
export const FRESH = { "Cache-Control": "no-cache" };

/** Every slot that GET /slots lists for `query` (anonymous, read from D1 past the micro-cache), following its Link pages. */
export async function listAllSlots(query: Record<string, string> = {}): Promise<SlotView[]> {
  const slots: SlotView[] = [];
  let path: string | undefined = `/slots?${new URLSearchParams({ limit: "500", ...query })}`;
  while (path) {
    const response: ApiResponse<SlotView[]> = await api<SlotView[]>("GET", path, { headers: FRESH });
    expect(response.status).toBe(200);
    slots.push(...response.body);
    const next = /<([^>]+)>; rel="next"/.exec(response.headers.get("Link") ?? "")?.[1];
    path = next === undefined ? undefined : new URL(next).pathname + new URL(next).search;
  }
  return slots;
}

/** The slot's available_spots through GET /slots/{slot_id}; undefined if the slot is gone. */
export async function availableSpotsOf(slotId: number): Promise<number | undefined> {
  const response = await client.slots[":slot_id"].$get({ param: { slot_id: String(slotId) } }, { headers: FRESH });
  const slot = await response.json();
  return "available_spots" in slot ? slot.available_spots : undefined;
}

/** Counts how many times each status occurs, e.g. { 201: 10, 409: 90 }. */
export function statusCounts(responses: { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

export function book(user: TestUser, slotId: number, headers: Record<string, string> = {}) {
  return settle(client.bookings.$post({ json: { time_slot_id: slotId }, header: {} }, as(user, headers)));
}

export function cancel(user: TestUser, bookingId: number, headers: Record<string, string> = {}) {
  return settle(client.bookings[":booking_id"].$delete({ param: { booking_id: String(bookingId) }, header: {} }, as(user, headers)));
}

/**
 * Makes the writes of one kind to `table` fail inside D1 while `run` runs (those to rows matching
 * `when`, a condition on OLD or NEW, if given): a real D1 error from a trigger, no mock.
 */
export async function whileWritesFail<T>(table: string, operation: "INSERT" | "UPDATE", run: () => Promise<T>, when?: string): Promise<T> {
  const condition = when === undefined ? "" : ` WHEN ${when}`;
  await env.DB.prepare(
    `CREATE TRIGGER injected_failure BEFORE ${operation} ON ${table}${condition} BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END`,
  ).run();
  try {
    return await run();
  } finally {
    await env.DB.prepare("DROP TRIGGER injected_failure").run();
  }
}

/** Makes every write of one kind to `bookings` fail inside D1 while `run` runs. */
export function whileBookingWritesFail<T>(operation: "INSERT" | "UPDATE", run: () => Promise<T>): Promise<T> {
  return whileWritesFail("bookings", operation, run);
}

/** POST /bookings with `waitlist: true`: 202 WAITLISTED on a full slot, 201 BOOKED on one with room. */
export function joinWaitlist(user: TestUser, slotId: number, headers: Record<string, string> = {}) {
  return settle(client.bookings.$post({ json: { time_slot_id: slotId, waitlist: true }, header: {} }, as(user, headers)));
}

/** POST /bookings with `hold: true`: 201 HELD with expires_at. */
export function hold(user: TestUser, slotId: number) {
  return settle(client.bookings.$post({ json: { time_slot_id: slotId, hold: true }, header: {} }, as(user)));
}

export function confirm(user: TestUser, bookingId: number) {
  return settle(client.bookings[":booking_id"].confirm.$post({ param: { booking_id: String(bookingId) } }, as(user)));
}

/**
 * Makes holds' 5 minutes pass, in D1, where the slot object reads every hold's end: their
 * expires_at moves to the past (all live holds of the slot, or the given ones). Their slot's alarm
 * is still due at the old time; `runAlarm` runs it now.
 */
export async function expireHolds(slotId: number, bookingIds?: number[]) {
  const only = bookingIds ? ` AND id IN (${bookingIds.map(Number).join(", ")})` : "";
  await env.DB.prepare(`UPDATE bookings SET expires_at = '2000-01-01T00:00:00Z' WHERE time_slot_id = ? AND status = 'HELD'${only}`)
    .bind(slotId)
    .run();
}

/** Runs the slot object's alarm now, as the runtime would when it is due; false if none was set. */
export function runAlarm(slotId: number): Promise<boolean> {
  return runDurableObjectAlarm(slotObject(env, slotId));
}

/** When the slot object's alarm is due (ms since the epoch), or null. */
export function alarmOf(slotId: number): Promise<number | null> {
  return runInDurableObject(slotObject(env, slotId), (_, state) => state.storage.getAlarm());
}

/** Every count D1 keeps for a slot next to the rows it counts, and whether the slot is deleted. */
export async function slotEntries(slotId: number) {
  return (await env.DB.prepare(
    `SELECT max_capacity, booked_count, held_count, waitlist_length, deleted_at IS NOT NULL AS deleted,
            (SELECT COUNT(*) FROM bookings WHERE time_slot_id = s.id AND status = 'BOOKED') AS booked_rows,
            (SELECT COUNT(*) FROM bookings WHERE time_slot_id = s.id AND status = 'HELD') AS held_rows,
            (SELECT COUNT(*) FROM bookings WHERE time_slot_id = s.id AND status = 'WAITLISTED') AS waiting_rows
       FROM time_slots s WHERE id = ?`,
  )
    .bind(slotId)
    .first<{
      max_capacity: number;
      booked_count: number;
      held_count: number;
      waitlist_length: number;
      deleted: number;
      booked_rows: number;
      held_rows: number;
      waiting_rows: number;
    }>())!;
}

/** The ids of a slot's waiters, in line order. */
export async function waitlistOf(slotId: number): Promise<number[]> {
  const { results } = await env.DB.prepare("SELECT id FROM bookings WHERE time_slot_id = ? AND status = 'WAITLISTED' ORDER BY id")
    .bind(slotId)
    .all<{ id: number }>();
  return results.map((row) => row.id);
}

/**
 * Invariants 1, 3 and 5, read from D1 and from the API: the counts equal their rows, booked + held
 * places never exceed max_capacity, no place is free while someone waits, and GET /slots shows
 * available_spots = max_capacity - booked - held and the waitlist's length. Returns D1's counts.
 */
export async function expectConsistent(slotId: number) {
  const counts = await slotCounts(slotId);
  const entries = await slotEntries(slotId);
  expect(counts.booked_count).toBe(counts.booked_rows);
  expect(entries.held_count).toBe(entries.held_rows);
  expect(entries.waitlist_length).toBe(entries.waiting_rows);
  const taken = entries.booked_rows + entries.held_rows;
  expect(taken).toBeLessThanOrEqual(entries.max_capacity);
  if (entries.waiting_rows > 0) expect(taken, "no place is free while someone waits").toBe(entries.max_capacity);
  const listed = await (await client.slots[":slot_id"].$get({ param: { slot_id: String(slotId) } }, { headers: FRESH })).json();
  expect("available_spots" in listed && { available_spots: listed.available_spots, waitlist_length: listed.waitlist_length }).toEqual({
    available_spots: entries.max_capacity - taken,
    waitlist_length: entries.waiting_rows,
  });
  return counts;
}

/** A WebSocket watching GET /slots/{slot_id}/live, with the messages it received in order. */
export type Watcher = {
  socket: WebSocket;
  /** The next message not yet taken; fails after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<SlotAvailability>;
  /**
   * Takes messages until one equals `expected`: for a state reached by changes made while
   * watching, whose messages may come one per change or together.
   */
  until(expected: SlotAvailability): Promise<void>;
  /** Resolves when the server closes the socket, with the close code. */
  closed: Promise<number>;
};

/** Connects to a slot's live availability inside workerd, as a browser would (Upgrade: websocket). */
export async function watch(slotId: number): Promise<Watcher> {
  const response = await exports.default.fetch(new Request(`http://slotbook.test/slots/${slotId}/live`, { headers: { Upgrade: "websocket" } }));
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) throw new Error(`expected 101 with a WebSocket, got ${response.status}: ${await response.text()}`);
  const unread: SlotAvailability[] = [];
  const readers: ((message: SlotAvailability) => void)[] = [];
  socket.addEventListener("message", (event) => {
    if (event.data === "pong") return; // the answer to a keep-alive "ping", not an availability
    const message = JSON.parse(event.data as string) as SlotAvailability;
    const reader = readers.shift();
    if (reader) reader(message);
    else unread.push(message);
  });
  const closed = new Promise<number>((resolve) => socket.addEventListener("close", (event) => resolve(event.code)));
  socket.accept();
  const next = (timeoutMs = 5_000) => {
    const message = unread.shift();
    if (message) return Promise.resolve(message);
    return new Promise<SlotAvailability>((resolve, reject) => {
      const timer = setTimeout(() => {
        readers.splice(readers.indexOf(reader), 1);
        reject(new Error(`no message on slot ${slotId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const reader = (received: SlotAvailability) => {
        clearTimeout(timer);
        resolve(received);
      };
      readers.push(reader);
    });
  };
  const until = async (expected: SlotAvailability) => {
    while (JSON.stringify(await next()) !== JSON.stringify(expected));
  };
  return { socket, next, until, closed };
}

/**
 * fast-check settings for the property tests (model.test.ts, fuzz.test.ts): `numRuns` runs from a
 * fresh random seed, printed so that any run can be repeated. fast-check prints the seed and path
 * of a failure; replay it with, for example,
 *   VITE_FC_SEED=1234 VITE_FC_PATH="17:3:0" npx vitest run test/model.test.ts
 * VITE_FC_RUNS overrides `numRuns` (for a longer soak). Only VITE_-prefixed variables reach the
 * tests inside workerd (through import.meta.env); the vitest config passes no other environment.
 */
export function propertyRunSettings(numRuns: number): { seed: number; path?: string; numRuns: number } {
  const variables = (import.meta as ImportMeta & { env?: Record<string, string | undefined> }).env ?? {};
  const seed = variables.VITE_FC_SEED ? Number(variables.VITE_FC_SEED) : (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0;
  const path = variables.VITE_FC_PATH || undefined;
  return { seed, path, numRuns: variables.VITE_FC_RUNS ? Number(variables.VITE_FC_RUNS) : numRuns };
}

/** Polls `read` every 100 ms until `done` accepts its value (or `timeoutMs` passes, then fails); answers that value. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      expect.fail(`still not there after ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The webhook receiver started by test/global-setup.ts: a real HTTP server on 127.0.0.1. */
const RECEIVER = inject("webhookReceiver");

/**
 * A webhook made through the API, pointing to a fresh path of the test receiver: /ok/... answers
 * 204, /fail-first/... 503 to the first attempt of each event, /fail/... always 500.
 */
export async function createWebhook(admin: TestUser, events: WebhookEventType[], behaviour: "ok" | "fail-first" | "fail" = "ok") {
  const path = `/${behaviour}/${unique()}`;
  const response = await settle(client.admin.webhooks.$post({ json: { url: `${RECEIVER}${path}`, events } }, as(admin)));
  expect(response.status).toBe(201);
  return { ...response.body, path };
}

/** What the receiver has got on `path` so far, oldest first. */
export async function receivedOn(path: string): Promise<ReceivedWebhook[]> {
  return (await fetch(`${RECEIVER}/received?path=${encodeURIComponent(path)}`)).json();
}

/** Runs the Worker's cron (src/index.ts, `scheduled`) as if it fired at `at`, and waits for it. */
export async function runCron(at = Date.now()): Promise<void> {
  await worker.scheduled(createScheduledController({ scheduledTime: at }), env);
}
