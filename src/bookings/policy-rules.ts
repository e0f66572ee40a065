import { and, eq, ne, or, sql, type SQL } from "drizzle-orm";
import { alias, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { bookings, categories, timeSlots, type TimeSlotRow } from "../db/schema";
import { bookingClosed, bookingLimitReached, bookingNotOpen, type AppError } from "../errors/catalogue";

// The booking policy of a slot's category (categories/policy.ts) as conditions of the statements
// that add entries (commands.ts, moves.ts), evaluated by D1 at their point of the batch, and the
// errors that tell a refused entry which rule refused it. A slot's instants are on its row
// (migration 0014); the per-user limit is counted across the category's slots, inside the
// statement that adds the entry, so that no two slot objects can both pass it: D1 runs one batch
// at a time.

/** Booking is open for the slot (time_slots in the statement) at `now`: its opening has come and its close has not. */
export function bookingWindowOpen(now: string): SQL {
  const opened = or(sql`${timeSlots.bookingOpensAt} IS NULL`, sql`${timeSlots.bookingOpensAt} <= ${now}`);
  const notClosed = or(sql`${timeSlots.bookingClosesAt} IS NULL`, sql`${timeSlots.bookingClosesAt} > ${now}`);
  return and(opened, notClosed)!;
}

const counted = alias(bookings, "counted");
const countedSlot = alias(timeSlots, "counted_slot");

/**
 * `userId` may add a live entry to the slot (time_slots in the statement): its category has no
 * limit, or the user's live entries in the category's slots that have not ended (as of `now`)
 * number fewer than it. A hold past its end counts no more, though its release may not have run.
 * `user`: an id, or the column that holds it; `except`: a booking not counted, the one a move replaces.
 */
export function withinUserLimit(user: number | AnySQLiteColumn, now: string, except?: number): SQL {
  const live = and(
    eq(counted.userId, user),
    ne(counted.status, "CANCELLED"),
    sql`(${counted.status} <> 'HELD' OR ${counted.expiresAt} > ${now})`,
    except === undefined ? undefined : ne(counted.id, except),
  );
  const entries = sql`(SELECT count(*) FROM ${bookings} AS ${sql.identifier("counted")}
    INNER JOIN ${timeSlots} AS ${sql.identifier("counted_slot")} ON ${countedSlot.id} = ${counted.timeSlotId}
    WHERE ${live} AND ${countedSlot.categoryId} = ${timeSlots.categoryId} AND ${countedSlot.endTime} > ${now})`;
  // CASE, not `limit > count`: SQLite evaluates both sides of a comparison, so the count would run
  // for every entry of a category without a limit; a CASE runs it only where there is one.
  const belowLimit = sql`CASE WHEN ${categories.maxActivePerUser} IS NULL THEN 1 ELSE ${categories.maxActivePerUser} > ${entries} END`;
  return sql`coalesce((SELECT ${belowLimit} FROM ${categories} WHERE ${categories.id} = ${timeSlots.categoryId}), 1)`;
}

/** Columns to select from time_slots after a refused entry, telling whether `user` is at the limit of the slot's category, and what it is. */
export function userLimitFacts(user: number | AnySQLiteColumn, now: string, except?: number) {
  return {
    atLimit: sql<number>`NOT ${withinUserLimit(user, now, except)}`,
    limit: sql<number | null>`(SELECT ${categories.maxActivePerUser} FROM ${categories} WHERE ${categories.id} = ${timeSlots.categoryId})`,
  };
}

/** The error for a new entry on `slot` refused at `now` because booking is not open, or has closed; undefined if it is open. */
export function windowRefusal(slot: TimeSlotRow, now: string): AppError | undefined {
  if (slot.bookingOpensAt !== null && slot.bookingOpensAt > now) {
    return bookingNotOpen(slot.bookingOpensAt, Math.max(1, Math.ceil((Date.parse(slot.bookingOpensAt) - Date.parse(now)) / 1000)));
  }
  if (slot.bookingClosesAt !== null && slot.bookingClosesAt <= now) return bookingClosed(slot.bookingClosesAt);
  return undefined;
}

/** The error for a new entry refused because its user is at the limit (`userLimitFacts`); undefined if not. */
export function limitRefusal({ atLimit, limit }: { atLimit: number; limit: number | null }): AppError | undefined {
  return atLimit && limit !== null ? bookingLimitReached(limit) : undefined;
}
