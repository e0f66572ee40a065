// What a user's subscribed feed holds: their live entries (booked, held, waitlisted) on slots that
// ended at most FEED_WINDOW_DAYS ago or later. An entry that ends (cancelled, moved, an expired
// hold) leaves the feed, so a subscribed calendar removes it rather than striking it through.
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { bookings, categories, timeSlots } from "../db/schema";
import { toUtcIso } from "../db/time";
import { cancellationNote } from "./cancellation-note";
import type { IcsEvent } from "./ics";

/** How far back the feed reaches: slots that ended up to this many days ago are still listed. */
export const FEED_WINDOW_DAYS = 30;

const LIVE_STATUSES = ["BOOKED", "HELD", "WAITLISTED"] as const;

/** A booking (until it ends) is confirmed; a hold (until confirmed) and a waitlist place (until promoted) are tentative. */
const EVENT_STATUS: Record<(typeof LIVE_STATUSES)[number], IcsEvent["status"]> = {
  BOOKED: "CONFIRMED",
  HELD: "TENTATIVE",
  WAITLISTED: "TENTATIVE",
};

const later = (a: string, b: string) => (a > b ? a : b);

/** '…Z' + `days` days, as SQLite computes it, in the stored format. */
const plusDays = (column: typeof timeSlots.endTime, days: number) => sql<string>`strftime('%Y-%m-%dT%H:%M:%SZ', ${column}, ${`+${days} days`})`;

export type Feed = {
  events: IcsEvent[];
  /**
   * When the feed last changed: the latest change to any of the user's bookings or their slots
   * (a cancelled one included, as its leaving changed the feed), or the latest moment a live
   * entry left the window. An If-Modified-Since at or after it gets a 304.
   */
  lastModified: string;
};

export async function feedOf(db: Database, userId: number, now: Date): Promise<Feed> {
  const windowStart = toUtcIso(new Date(now.getTime() - FEED_WINDOW_DAYS * 86_400_000));
  const changed = sql<string>`max(coalesce(${bookings.modifiedAt}, ${bookings.createdAt}), ${timeSlots.modifiedAt})`;
  const leftWindow = sql<string>`CASE WHEN ${inArray(bookings.status, LIVE_STATUSES)} AND ${plusDays(timeSlots.endTime, FEED_WINDOW_DAYS)} <= ${toUtcIso(now)}
    THEN ${plusDays(timeSlots.endTime, FEED_WINDOW_DAYS)} END`;
  const [rows, [latest]] = await db.batch([
    db
      .select({
        id: bookings.id,
        status: bookings.status,
        start: timeSlots.startTime,
        end: timeSlots.endTime,
        summary: categories.name,
        cancellableUntil: timeSlots.cancellableUntil,
        timezone: timeSlots.timezone,
        sequence: sql<number>`${bookings.version} + ${timeSlots.version}`,
        bookingModified: sql<string>`coalesce(${bookings.modifiedAt}, ${bookings.createdAt})`,
        slotModified: timeSlots.modifiedAt,
      })
      .from(bookings)
      .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
      .innerJoin(categories, eq(categories.id, timeSlots.categoryId))
      .where(and(eq(bookings.userId, userId), inArray(bookings.status, LIVE_STATUSES), gt(timeSlots.endTime, windowStart)))
      .orderBy(asc(timeSlots.startTime), asc(bookings.id)),
    db
      .select({ changed: sql<string | null>`max(${changed})`, leftWindow: sql<string | null>`max(${leftWindow})` })
      .from(bookings)
      .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
      .where(eq(bookings.userId, userId)),
  ]);
  const events = rows.map(
    (row): IcsEvent => ({
      uid: `booking-${row.id}@slotbook`,
      start: row.start,
      end: row.end,
      summary: row.summary,
      description: cancellationNote(row.cancellableUntil, row.timezone, row.status === "BOOKED" ? "booked" : "pending"),
      status: EVENT_STATUS[row.status as (typeof LIVE_STATUSES)[number]],
      sequence: row.sequence,
      lastModified: later(row.bookingModified, row.slotModified),
    }),
  );
  const epoch = "1970-01-01T00:00:00Z";
  return { events, lastModified: later(latest?.changed ?? epoch, latest?.leftWindow ?? epoch) };
}
