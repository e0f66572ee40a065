import { and, asc, eq, gt, isNotNull, isNull, lte, max, min, sql } from "drizzle-orm";
import { bookingEnded } from "../bookings/commands";
import { INTERRUPTED_MOVE_MS } from "../bookings/reschedule";
import { database } from "../db/client";
import { bookingMoves, bookings, timeSlots, webhookEvents, webhookPending } from "../db/schema";
import { toUtcIso } from "../db/time";
import { afterCommittedChange } from "../http/micro-cache";
import { slotObject } from "../objects/stubs";
import { resendAt, sendEvents, sendMessages } from "../webhooks/dispatch";

// The scheduled maintenance (wrangler.toml, [triggers]: every minute; `npm start` fires it the same
// way): what a crash, a failed request or a lost queue message left half-done, and the pruning of
// old webhook history, and the waitlists of slots whose booking has closed. Each job is idempotent and
// may run late or twice.

/** Events younger than this are left to the hand-over that follows their commit. */
export const SWEEP_GRACE_MS = 30_000;
/** Webhook events are kept this long, with their delivery records. */
export const HISTORY_MS = 30 * 24 * 60 * 60 * 1000;
const SWEEP_CHUNK = 500;

/** Hands over every event written more than SWEEP_GRACE_MS before `now` and still undispatched, oldest first. */
async function handOverUndispatched(env: Env, now: number): Promise<void> {
  const writtenBy = toUtcIso(new Date(now - SWEEP_GRACE_MS));
  const db = database(env.DB);
  for (;;) {
    const oldest = db
      .select({ id: webhookEvents.id })
      .from(webhookEvents)
      .where(and(isNull(webhookEvents.dispatchedAt), lte(webhookEvents.createdAt, writtenBy)))
      .orderBy(asc(webhookEvents.id))
      .limit(SWEEP_CHUNK)
      .as("oldest");
    const [range] = await db.select({ first: min(oldest.id), last: max(oldest.id) }).from(oldest);
    if (range.first === null || range.last === null) return;
    await sendEvents(env, range.first, range.last, writtenBy);
  }
}

/**
 * Sends again, with the same `webhook-id`, every pending delivery whose `resend_at` has passed,
 * after claiming it for another RESEND_AFTER_MS (so overlapping runs do not both send it).
 */
async function resendUnrecorded(env: Env, now: number): Promise<void> {
  const db = database(env.DB);
  const nowIso = toUtcIso(new Date(now));
  for (;;) {
    const due = db
      .select({ eventId: webhookPending.eventId, webhookId: webhookPending.webhookId })
      .from(webhookPending)
      .where(lte(webhookPending.resendAt, nowIso))
      .orderBy(asc(webhookPending.resendAt))
      .limit(SWEEP_CHUNK);
    const claimed = await db
      .update(webhookPending)
      .set({ resendAt: resendAt(now) })
      .where(and(lte(webhookPending.resendAt, nowIso), sql`(${webhookPending.eventId}, ${webhookPending.webhookId}) IN (${due})`))
      .returning({ event_id: webhookPending.eventId, webhook_id: webhookPending.webhookId, attempt: webhookPending.attempts });
    await sendMessages(env, claimed);
    if (claimed.length < SWEEP_CHUNK) return;
  }
}

/** Forgets events older than HISTORY_MS (their deliveries and pending rows go with them). */
async function forgetOldEvents(env: Env, now: number): Promise<void> {
  const expired = toUtcIso(new Date(now - HISTORY_MS));
  await database(env.DB)
    .delete(webhookEvents)
    .where(and(isNotNull(webhookEvents.dispatchedAt), lte(webhookEvents.createdAt, expired)));
}

/** Undoes the moves in progress since before `now` - INTERRUPTED_MOVE_MS, each through its target slot's object. */
export async function undoInterruptedMoves(env: Env, now: number): Promise<void> {
  const stale = await database(env.DB)
    .select({ fromBookingId: bookingMoves.fromBookingId, slotId: bookings.timeSlotId })
    .from(bookingMoves)
    .innerJoin(bookings, eq(bookings.id, bookingMoves.toBookingId))
    .where(lte(bookingMoves.createdAt, toUtcIso(new Date(now - INTERRUPTED_MOVE_MS))));
  const outcomes = await Promise.all(stale.map(({ slotId, fromBookingId }) => slotObject(env, slotId).releaseMove(slotId, fromBookingId)));
  for (const outcome of outcomes) if (!outcome.ok) console.error(`undoing an interrupted move failed; the next run retries: ${outcome.code}`, outcome.cause);
  // Places given back with no request to acknowledge them: reads in this location see them at once.
  if (outcomes.some((outcome) => outcome.ok && outcome.value.undone)) await afterCommittedChange();
}

/** Ends the waitlists of the live slots whose booking has closed by `now` (started, or closed by their policy), each through its slot's object. */
export async function closeWaitlistsPastBooking(env: Env, now: number): Promise<void> {
  const closed = await database(env.DB)
    .select({ id: timeSlots.id })
    .from(timeSlots)
    .where(and(isNull(timeSlots.deletedAt), gt(timeSlots.waitlistLength, 0), bookingEnded(toUtcIso(new Date(now)))));
  const outcomes = await Promise.all(closed.map(({ id }) => slotObject(env, id).closeWaitlist(id)));
  for (const outcome of outcomes) if (!outcome.ok) console.error(`closing a slot's waitlist failed; the next run retries: ${outcome.code}`, outcome.cause);
  if (outcomes.some((outcome) => outcome.ok && outcome.value.closed > 0)) await afterCommittedChange();
}

/** Every job, as of `now`; one that fails is logged and left to the next run. */
export async function runMaintenance(env: Env, now: number): Promise<void> {
  const jobs = { handOverUndispatched, resendUnrecorded, forgetOldEvents, undoInterruptedMoves, closeWaitlistsPastBooking };
  const results = await Promise.allSettled(Object.values(jobs).map((job) => job(env, now)));
  results.forEach((result, index) => {
    if (result.status === "rejected") console.error(`scheduled ${Object.keys(jobs)[index]} failed; the next run retries`, result.reason);
  });
}

/** The Worker's scheduled handler. */
export const scheduled = (controller: ScheduledController, env: Env): Promise<void> => runMaintenance(env, controller.scheduledTime);
