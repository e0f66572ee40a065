import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { sign } from "hono/jwt";
import { AUDIENCE, ISSUER, issueToken, keyIdOf, TOKEN_LIFETIME_SECONDS } from "../src/auth/jwt";
import type { Role } from "../src/db/schema";
import type { ErrorBody } from "../src/http/errors";
import type { BookingView } from "../src/bookings/schemas";
import { toUtcIso } from "../src/db/time";

export type ApiResponse<T = any> = { status: number; body: T; headers: Headers };

/** Calls the Worker as a client would, through its fetch handler. */
export async function api<T = any>(
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
  const response = await exports.default.fetch(new Request(`http://slotbook.test${path}`, { method, headers, body }));
  const text = await response.text();
  const contentType = response.headers.get("Content-Type") ?? "";
  return { status: response.status, body: contentType.includes("json") ? JSON.parse(text) : text, headers: response.headers };
}

let userCounter = 0;

export type TestUser = { id: number; email: string; token: string };

/**
 * Users made straight in D1 with a token signed by the app's own code: fast enough for hundreds
 * of users. Their password hash is not a real one; tests of login register through the API.
 */
export async function createUsers(count: number, role: Role = "USER"): Promise<TestUser[]> {
  const batchId = `${Date.now()}-${++userCounter}`;
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

export const base64Url = (text: string) => btoa(text).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

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
  return sign(claims, { kty: "oct", k: base64Url(secret), alg, kid: kid ?? (await keyIdOf(secret)) });
}

export function hoursFromNow(hours: number): string {
  return toUtcIso(new Date(Date.now() + hours * 3_600_000));
}

/** A slot written straight to D1 (category 1 unless given), starting `startsInHours` from now. */
export async function createSlot(options: { capacity?: number; startsInHours?: number; categoryId?: number } = {}): Promise<number> {
  const { capacity = 10, startsInHours = 24, categoryId = 1 } = options;
  const row = await env.DB.prepare(
    "INSERT INTO time_slots (category_id, start_time, end_time, max_capacity) VALUES (?, ?, ?, ?) RETURNING id",
  )
    .bind(categoryId, hoursFromNow(startsInHours), hoursFromNow(startsInHours + 1), capacity)
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

/** Makes every write of one kind to `table` fail inside D1 while `run` runs: a real D1 error, no mock. */
export async function whileWritesFail<T>(table: string, operation: "INSERT" | "UPDATE", run: () => Promise<T>): Promise<T> {
  await env.DB.prepare(`CREATE TRIGGER injected_failure BEFORE ${operation} ON ${table} BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END`).run();
  try {
    return await run();
  } finally {
    await env.DB.prepare("DROP TRIGGER injected_failure").run();
  }
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

export async function availableSpotsOf(slotId: number): Promise<number | undefined> {
  const { body } = await api<{ id: number; available_spots: number }[]>("GET", "/slots");
  return body.find((slot) => slot.id === slotId)?.available_spots;
}

/** Counts how many times each status occurs, e.g. { 201: 10, 409: 90 }. */
export function statusCounts(responses: { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

export type Booking = BookingView;

export function book(user: TestUser, slotId: number, headers: Record<string, string> = {}) {
  return api<Booking & Partial<ErrorBody>>("POST", "/bookings", { token: user.token, body: { time_slot_id: slotId }, headers });
}

export function cancel(user: TestUser, bookingId: number, headers: Record<string, string> = {}) {
  return api<{ message: string } & Partial<ErrorBody>>("DELETE", `/bookings/${bookingId}`, { token: user.token, headers });
}

/** Invariants 1 and 3, read from D1 and from the API; returns D1's counts. */
export async function expectConsistent(slotId: number) {
  const counts = await slotCounts(slotId);
  expect(counts.booked_count).toBe(counts.booked_rows);
  expect(counts.booked_count).toBeLessThanOrEqual(counts.max_capacity);
  expect(await availableSpotsOf(slotId)).toBe(counts.max_capacity - counts.booked_rows);
  return counts;
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
