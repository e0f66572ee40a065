import { and, eq, gt, isNull, ne, notExists, sql } from "drizzle-orm";
import type { Context } from "hono";
import { auditAccountErased } from "../audit/record-accounts";
import { forgetCaller } from "../auth/middleware";
import { database, type Database } from "../db/client";
import { bookingMoves, bookings, calendarFeeds, idempotencyKeys, timeSlots, userPreferences, users } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { type CallerEnv } from "../auth/caller";
import { accountBusy, lastAdmin } from "../errors/catalogue";
import { unwrap } from "../http/outcome";
import { type Outcome } from "../objects/outcome";
import { slotObject } from "../objects/stubs";
import { leavesAnAdmin } from "../users/routes";

// Deleting an account (DELETE /user), in steps that are each safe to repeat, so that a retry after
// any failure finishes the work, and a failure leaves the account usable with the steps done kept:
// 1. every move in progress of the user's bookings is undone by its target slot's object;
// 2. every live entry on a slot that has not started ends through its slot's object, as the user's
//    own cancellation: a booking or hold frees its place for the first waiter, a waiter leaves the
//    line, and the webhook events are those of any cancellation;
// 3. one D1 batch erases the account, only if nothing live is left and another admin remains.
// New entries made meanwhile (by a request already past its authentication) fail step 3's check,
// and the steps run again; once erased, D1 refuses any new entry (migration 0008). Entries on
// slots that have started are history, kept like past bookings: their user id names no one once
// the account is erased.

/** How often steps 1 to 3 run before giving up on an account that keeps getting new entries. */
const ROUNDS = 3;

/** The codes of a cancellation that found the entry ended or started meanwhile: nothing left to do for it. */
const SETTLED = new Set(["already_cancelled", "slot_started", "booking_not_found"]);

/** Whether the user may stop being an admin: a user, or an admin while another remains. */
const mayLoseAdmin = (userId: number) => and(eq(users.id, userId), leavesAnAdmin("USER"));

/** 409 last_admin if the user is the only admin; checked before anything changes, and again by the erasure itself. */
export async function refuseLastAdmin(db: Database, userId: number): Promise<void> {
  if (!(await db.select({ id: users.id }).from(users).where(mayLoseAdmin(userId)).get())) throw lastAdmin();
}

/** The user's live entries on slots that have not started, as of `now`. */
const liveEntries = (userId: number, now: string) =>
  and(eq(bookings.userId, userId), ne(bookings.status, "CANCELLED"), gt(timeSlots.startTime, now), isNull(timeSlots.deletedAt));

/** Steps 1 and 2; answers how many entries they ended. A failure is thrown once every step has been tried. */
async function endEntries(c: Context<CallerEnv>, db: Database, userId: number): Promise<number> {
  const moves = await db
    .select({ fromBookingId: bookingMoves.fromBookingId, slotId: bookings.timeSlotId })
    .from(bookingMoves)
    .innerJoin(bookings, eq(bookings.id, bookingMoves.toBookingId))
    .where(eq(bookings.userId, userId));
  for (const outcome of await Promise.all(moves.map(({ slotId, fromBookingId }) => slotObject(c.env, slotId).releaseMove(slotId, fromBookingId)))) {
    unwrap(c, outcome);
  }
  const entries = await db
    .select({ id: bookings.id, slotId: bookings.timeSlotId })
    .from(bookings)
    .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
    .where(liveEntries(userId, nowUtcIso()));
  const outcomes: Outcome<null>[] = await Promise.all(entries.map(({ id, slotId }) => slotObject(c.env, slotId).cancel(slotId, id, userId)));
  for (const outcome of outcomes) if (!outcome.ok && !SETTLED.has(outcome.code)) unwrap(c, outcome);
  return outcomes.filter((outcome) => outcome.ok).length;
}

/**
 * Step 3: erases the account if steps 1 and 2 left nothing live, no move is in progress and it may
 * lose its admin role: email and password hash replaced, tokens refused, the feed, preferences and
 * idempotency records deleted, recorded in the audit log. Answers whether the account is erased.
 */
async function eraseIfSettled(db: Database, userId: number): Promise<boolean> {
  const now = nowUtcIso();
  const live = db.select({ id: bookings.id }).from(bookings).innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId)).where(liveEntries(userId, now));
  const moving = db.select({ id: bookings.id }).from(bookingMoves).innerJoin(bookings, eq(bookings.id, bookingMoves.toBookingId)).where(eq(bookings.userId, userId));
  const erasable = and(mayLoseAdmin(userId), isNull(users.deletedAt), notExists(live), notExists(moving));
  const erased = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.deletedAt} IS NOT NULL)`;
  const [, , , , , [account]] = await db.batch([
    auditAccountErased(db, userId, erasable),
    db
      .update(users)
      .set({ email: sql`'erased:' || ${users.id}`, passwordHash: "", role: "USER", tokenGeneration: sql`${users.tokenGeneration} + 1`, deletedAt: now })
      .where(erasable),
    db.delete(calendarFeeds).where(and(eq(calendarFeeds.userId, userId), erased)),
    db.delete(userPreferences).where(and(eq(userPreferences.userId, userId), erased)),
    db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.userId, userId), erased)),
    db.select({ deletedAt: users.deletedAt }).from(users).where(eq(users.id, userId)),
  ]);
  return account?.deletedAt != null;
}

/** Deletes the caller's account (the route has checked their password); answers how many live entries it ended. */
export async function deleteAccount(c: Context<CallerEnv>): Promise<number> {
  const userId = c.get("user").id;
  const db = database(c.env.DB);
  await refuseLastAdmin(db, userId);
  let ended = 0;
  for (let round = 0; round < ROUNDS; round++) {
    ended += await endEntries(c, db, userId);
    if (await eraseIfSettled(db, userId)) {
      forgetCaller(userId);
      return ended;
    }
    // Another admin stepped down meanwhile, or new entries arrived: which one decides.
    await refuseLastAdmin(db, userId);
  }
  throw accountBusy();
}
