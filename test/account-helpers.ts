import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { api, type ApiResponse } from "./support/client";
import { PASSWORD, register, uniqueEmail, type TestUser } from "./support/users";

// Accounts registered through the API, with a real password: for the routes that ask for it again
// (PUT /user/password, DELETE /user).

export type Account = TestUser & { password: string };

/** A new USER registered through POST /register (from `address`, if given). */
export async function registered(prefix = "account", address?: string): Promise<Account> {
  const email = uniqueEmail(prefix);
  const response = await register(email, PASSWORD, address);
  expect(response.status).toBe(201);
  const row = await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(email).first<{ id: number }>();
  return { id: row!.id, email, token: response.body.access_token, password: PASSWORD };
}

/** PUT /user/password as `account` (from `address`, if given: the login throttle counts by it). */
export function changePassword(account: { token: string }, current_password: string, new_password: string, address?: string) {
  const headers: Record<string, string> = address ? { "CF-Connecting-IP": address } : {};
  return api<{ access_token: string; token_type: string; code?: string; errors?: { field: string }[] }>("PUT", "/user/password", {
    token: account.token,
    body: { current_password, new_password },
    headers,
  });
}

export function revokeSessions(account: { token: string }) {
  return api<{ message: string; code?: string }>("POST", "/user/sessions/revoke", { token: account.token });
}

export function deleteAccount(account: { token: string }, password: string): Promise<ApiResponse<{ message: string; cancelled_bookings: number; code?: string }>> {
  return api("DELETE", "/user", { token: account.token, body: { password } });
}

/** GET /user/preferences, the simplest route for a signed-in caller, through the isolate's cache of callers: the status and code. */
export async function preferencesAs(token: string) {
  const response = await api<{ code?: string }>("GET", "/user/preferences", { token });
  return { status: response.status, code: response.body.code };
}

export type Entry = { id: number; user_id: number; status: string };

/** A booking row as D1 holds it. */
export async function entryOf(bookingId: number): Promise<Entry> {
  return (await env.DB.prepare("SELECT id, user_id, status FROM bookings WHERE id = ?").bind(bookingId).first<Entry>())!;
}

/** The user's live entries on slots that have not started. */
export async function liveEntriesOf(userId: number): Promise<number[]> {
  const { results } = await env.DB.prepare(
    `SELECT b.id FROM bookings b JOIN time_slots s ON s.id = b.time_slot_id
      WHERE b.user_id = ? AND b.status <> 'CANCELLED' AND s.start_time > strftime('%Y-%m-%dT%H:%M:%SZ', 'now') ORDER BY b.id`,
  )
    .bind(userId)
    .all<{ id: number }>();
  return results.map((row) => row.id);
}
