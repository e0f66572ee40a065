import { z } from "@hono/zod-openapi";
import { asc, eq, inArray, or, sql } from "drizzle-orm";
import { auditEntryColumns, AuditEntrySchema, toAuditEntry } from "../audit/entry";
import type { Database } from "../db/client";
import { auditLog, BOOKING_STATUSES, bookings, calendarFeeds, categories, ROLES, timeSlots, userPreferences, users } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { invalidToken } from "../errors/catalogue";
import { InstantOutput } from "../values/instant";

// GET /user/export: everything stored about the caller, as one JSON document (GDPR articles 15 and 20).

const ExportedBookingSchema = z
  .object({
    id: z.number().int(),
    time_slot_id: z.number().int(),
    status: z.enum(BOOKING_STATUSES),
    created_at: InstantOutput,
    cancelled_at: InstantOutput.nullable(),
    expires_at: InstantOutput.nullable().openapi({ description: "A hold's end (kept on a hold that ended)" }),
    rescheduled_to: z.number().int().nullable(),
    start_time: InstantOutput,
    end_time: InstantOutput,
    timezone: z.string(),
    category_id: z.number().int(),
    category: z.string().openapi({ description: "The category's name" }),
  })
  .openapi("ExportedBooking");

export const AccountExportSchema = z
  .object({
    exported_at: InstantOutput,
    account: z.object({ id: z.number().int(), email: z.string(), role: z.enum(ROLES), created_at: InstantOutput }),
    preferences: z.object({ preferred_categories: z.array(z.number().int()) }),
    bookings: z.array(ExportedBookingSchema).openapi({ description: "Every entry, live and ended, by the slot's start time" }),
    calendar_feed: z
      .object({ exists: z.boolean(), created_at: InstantOutput.nullable() })
      .openapi({ description: "Whether the caller has a feed URL, and since when; never its secret" }),
    audit_entries: z.array(AuditEntrySchema).openapi({ description: "Entries made by the caller, or about the account or one of its bookings, oldest first" }),
  })
  .openapi("AccountExport");

export type AccountExport = z.infer<typeof AccountExportSchema>;

/** Everything stored about user `userId`, read in one D1 batch, so that its parts agree with each other. */
export async function exportAccount(db: Database, userId: number): Promise<AccountExport> {
  const ownBookingTargets = db.select({ target: sql<string>`'booking:' || ${bookings.id}` }).from(bookings).where(eq(bookings.userId, userId));
  const [[account], preferences, entries, [feed], audit] = await db.batch([
    db.select({ id: users.id, email: users.email, role: users.role, created_at: users.createdAt, deletedAt: users.deletedAt }).from(users).where(eq(users.id, userId)),
    db.select({ id: userPreferences.categoryId }).from(userPreferences).where(eq(userPreferences.userId, userId)).orderBy(asc(userPreferences.categoryId)),
    db
      .select({
        id: bookings.id,
        time_slot_id: bookings.timeSlotId,
        status: bookings.status,
        created_at: bookings.createdAt,
        cancelled_at: bookings.cancelledAt,
        expires_at: bookings.expiresAt,
        rescheduled_to: bookings.rescheduledTo,
        start_time: timeSlots.startTime,
        end_time: timeSlots.endTime,
        timezone: timeSlots.timezone,
        category_id: timeSlots.categoryId,
        category: categories.name,
      })
      .from(bookings)
      .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
      .innerJoin(categories, eq(categories.id, timeSlots.categoryId))
      .where(eq(bookings.userId, userId))
      .orderBy(asc(timeSlots.startTime), asc(bookings.id)),
    db.select({ createdAt: calendarFeeds.createdAt }).from(calendarFeeds).where(eq(calendarFeeds.userId, userId)),
    db
      .select(auditEntryColumns)
      .from(auditLog)
      .where(or(eq(auditLog.actorId, userId), eq(auditLog.target, `user:${userId}`), inArray(auditLog.target, ownBookingTargets)))
      .orderBy(asc(auditLog.id)),
  ]);
  if (!account || account.deletedAt !== null) throw invalidToken();
  const { deletedAt: _erased, ...accountView } = account;
  return {
    exported_at: nowUtcIso(),
    account: accountView,
    preferences: { preferred_categories: preferences.map((row) => row.id) },
    bookings: entries,
    calendar_feed: { exists: feed !== undefined, created_at: feed?.createdAt ?? null },
    audit_entries: audit.map(toAuditEntry),
  };
}
