import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { slotObject } from "../../src/objects/stubs";
import { as, client, settle } from "./client";
import type { TestUser } from "./users";

// Bookings, holds and waitlist places through the API, and the slot object's alarm run on demand.

export function book(user: TestUser, slotId: number, headers: Record<string, string> = {}) {
  return settle(client.bookings.$post({ json: { time_slot_id: slotId }, header: {} }, as(user, headers)));
}

export function cancel(user: TestUser, bookingId: number, headers: Record<string, string> = {}) {
  return settle(client.bookings[":booking_id"].$delete({ param: { booking_id: String(bookingId) }, header: {} }, as(user, headers)));
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
