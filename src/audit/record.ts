import { and, eq, isNull, ne, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "../db/client";
import { insertedRow, lastInserted } from "../db/insert-select";
import { auditLog, bookings, categories, timeSlots, type AuditAction, type SlotChanges } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { bookingJson } from "../views/booking";
import { slotRowJson } from "../views/slot";

// The statements that record changes in audit_log (`record`), and the entries of admin actions on
// the catalogue (categories, slots, series) and on bookings; accounts' and webhooks' entries are
// in record-accounts.ts. Each goes into the same D1 batch as the change it records (D1 runs a
// batch as one transaction), and computes what it records from the row in SQL, so the entry
// describes the row as D1 holds it. An entry recording a change goes
// before the change in the batch; one recording a creation goes right after the INSERT, which it
// finds by last_insert_rowid(). scripts/admin.ts records role changes made with wrangler itself.
// GET /admin/audit (audit/routes.ts) reads them.

type Entry = { actorId: number; action: AuditAction; target: SQL; before: SQL; after: SQL; from: SQLiteTable; where: SQL | undefined };

/** One entry for each row of `from` that `where` selects: none if it selects none. */
export function record(db: Database, { actorId, action, target, before, after, from, where }: Entry) {
  const entry = insertedRow(auditLog, { actorId, action, target, before, after, createdAt: nowUtcIso() });
  return db.insert(auditLog).select(db.select(entry).from(from).where(where));
}

/** Goes right after the INSERT INTO categories. */
export function auditCategoryCreated(db: Database, actorId: number) {
  return record(db, {
    actorId,
    action: "category.create",
    target: sql`'category:' || ${categories.id}`,
    before: sql`NULL`,
    after: sql`json_object('name', ${categories.name})`,
    from: categories,
    where: sql`${categories.id} = last_insert_rowid()`,
  });
}

/** Goes right after the INSERT INTO time_slots. */
export function auditSlotCreated(db: Database, actorId: number) {
  return record(db, {
    actorId,
    action: "slot.create",
    target: sql`'slot:' || ${timeSlots.id}`,
    before: sql`NULL`,
    after: slotRowJson,
    from: timeSlots,
    where: lastInserted(timeSlots.id),
  });
}

/**
 * Goes right after the INSERT of a series' `count` slots: one entry for them all, the series as
 * asked (`series`) and the ids created. The ids of one INSERT are consecutive, ending at
 * last_insert_rowid().
 */
export function auditSeriesCreated(db: Database, actorId: number, count: number, series: Record<string, unknown>) {
  return record(db, {
    actorId,
    action: "slot.create_series",
    target: sql`'slots:' || min(${timeSlots.id}) || '-' || max(${timeSlots.id})`,
    before: sql`NULL`,
    after: sql`json_object('series', json(${JSON.stringify(series)}), 'slot_ids', json_group_array(${timeSlots.id}))`,
    from: timeSlots,
    where: lastInserted(timeSlots.id, count),
  });
}

const liveSlot = (slotId: number) => ({ from: timeSlots, where: and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt)) });

/**
 * Goes before the UPDATE that applies `changes`; `after` is the slot with them applied, until
 * auditSlotUpdateApplied, right after the UPDATE, records it as D1's triggers completed it (the
 * policy instants of a new start or category).
 */
export function auditSlotUpdated(db: Database, actorId: number, slotId: number, changes: SlotChanges) {
  return record(db, {
    actorId,
    action: "slot.update",
    target: sql`${`slot:${slotId}`}`,
    before: slotRowJson,
    after: sql`json_patch(${slotRowJson}, ${JSON.stringify(changes)})`,
    ...liveSlot(slotId),
  });
}

/**
 * Right after the UPDATE that auditSlotUpdated announced: its entry is the last row inserted
 * whenever the slot is live (that entry was written from the live slot, in the same batch).
 */
export function auditSlotUpdateApplied(db: Database, slotId: number) {
  const { from, where } = liveSlot(slotId);
  const slot = sql`(SELECT ${slotRowJson} FROM ${from} WHERE ${where})`;
  return db
    .update(auditLog)
    .set({ after: slot })
    .where(and(sql`${auditLog.id} = last_insert_rowid()`, sql`${slot} IS NOT NULL`));
}

/** Goes before the statements that delete the slot; `before` holds how many places were booked. */
export function auditSlotDeleted(db: Database, actorId: number, slotId: number) {
  return record(db, {
    actorId,
    action: "slot.delete",
    target: sql`${`slot:${slotId}`}`,
    before: slotRowJson,
    after: sql`NULL`,
    ...liveSlot(slotId),
  });
}

/** Goes before the UPDATE that cancels the bookings `where` selects (an admin's cancellation). */
export function auditBookingCancelled(db: Database, actorId: number, where: SQL | undefined) {
  return record(db, {
    actorId,
    action: "booking.cancel",
    target: sql`'booking:' || ${bookings.id}`,
    before: bookingJson,
    // As the API shows a cancelled entry: no waitlist position, no hold end.
    after: sql`json_patch(${bookingJson}, '{"status":"CANCELLED","position":null,"expires_at":null}')`,
    from: bookings,
    where,
  });
}

/** Goes before the UPDATE that sets the attendance (`checkedInAt`, or NULL to undo) of the bookings `where` selects. */
export function auditAttendance(db: Database, actorId: number, checkedInAt: string | null, where: SQL | undefined) {
  return record(db, {
    actorId,
    action: checkedInAt === null ? "booking.undo_check_in" : "booking.check_in",
    target: sql`'booking:' || ${bookings.id}`,
    before: sql`json_object('checked_in_at', ${bookings.checkedInAt})`,
    after: sql`json_object('checked_in_at', ${checkedInAt})`,
    from: bookings,
    where,
  });
}

/** Goes before the UPDATE that renames the category to `name`. */
export function auditCategoryRenamed(db: Database, actorId: number, categoryId: number, name: string) {
  return record(db, {
    actorId,
    action: "category.rename",
    target: sql`${`category:${categoryId}`}`,
    before: sql`json_object('name', ${categories.name})`,
    after: sql`json_object('name', ${name})`,
    from: categories,
    where: and(eq(categories.id, categoryId), ne(categories.name, name)),
  });
}

/**
 * Goes before the UPDATE of the policy of category `categoryId`; `before` and `after` are its
 * rules as JSON (categories/policy.ts policyJson). Records nothing if they are the same.
 */
export function auditCategoryPolicy(db: Database, actorId: number, categoryId: number, before: SQL, after: SQL) {
  return record(db, {
    actorId,
    action: "category.policy",
    target: sql`${`category:${categoryId}`}`,
    before,
    after,
    from: categories,
    where: and(eq(categories.id, categoryId), isNull(categories.archivedAt), sql`${before} IS NOT ${after}`),
  });
}

/** Goes before the statement that removes (deletes or archives) the categories `where` selects. */
export function auditCategoryRemoved(db: Database, actorId: number, where: SQL | undefined) {
  return record(db, {
    actorId,
    action: "category.delete",
    target: sql`'category:' || ${categories.id}`,
    before: sql`json_object('name', ${categories.name})`,
    after: sql`NULL`,
    from: categories,
    where,
  });
}
