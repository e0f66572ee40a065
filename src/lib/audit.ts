import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../db/client";
import { auditLog, categories, timeSlots, users, type AuditAction, type Role } from "../db/schema";
import type { SlotChanges } from "../slot-booking-object";
import { nowUtcIso } from "./time";

// The statements that record admin actions in audit_log. Each goes into the same D1 batch as the
// change it records (D1 runs a batch as one transaction), and computes what it records from the
// row in SQL, so the entry describes the row as D1 holds it. An entry recording a change goes
// before the change in the batch; one recording a creation goes right after the INSERT, which it
// finds by last_insert_rowid(). scripts/admin.ts records role changes made with wrangler itself.

/** A slot as audit entries show it. */
const slotJson = sql`json_object('category_id', ${timeSlots.categoryId}, 'start_time', ${timeSlots.startTime},
  'end_time', ${timeSlots.endTime}, 'max_capacity', ${timeSlots.maxCapacity}, 'booked_count', ${timeSlots.bookedCount})`;

type Entry = { actorId: number; action: AuditAction; target: SQL; before: SQL; after: SQL; from: SQL };

/** One entry for each row that `from` (a FROM ... WHERE clause) selects: none if it selects none. */
function record(db: Database, { actorId, action, target, before, after, from }: Entry) {
  // The columns in the table's order, as an INSERT ... SELECT requires; id NULL picks the next one.
  return db.insert(auditLog).select(sql`SELECT NULL, ${actorId}, ${action}, ${target}, ${before}, ${after}, ${nowUtcIso()} ${from}`);
}

/** Goes right after the INSERT INTO categories. */
export function auditCategoryCreated(db: Database, actorId: number) {
  return record(db, {
    actorId,
    action: "category.create",
    target: sql`'category:' || ${categories.id}`,
    before: sql`NULL`,
    after: sql`json_object('name', ${categories.name})`,
    from: sql`FROM ${categories} WHERE ${categories.id} = last_insert_rowid()`,
  });
}

/** Goes right after the INSERT INTO time_slots. */
export function auditSlotCreated(db: Database, actorId: number) {
  return record(db, {
    actorId,
    action: "slot.create",
    target: sql`'slot:' || ${timeSlots.id}`,
    before: sql`NULL`,
    after: slotJson,
    from: sql`FROM ${timeSlots} WHERE ${timeSlots.id} = last_insert_rowid()`,
  });
}

const liveSlot = (slotId: number) => sql`FROM ${timeSlots} WHERE ${timeSlots.id} = ${slotId} AND ${timeSlots.deletedAt} IS NULL`;

/** Goes before the UPDATE that applies `changes`; `after` is the slot with them applied. */
export function auditSlotUpdated(db: Database, actorId: number, slotId: number, changes: SlotChanges) {
  const columns = Object.entries(changes).map(([field, value]) => [timeSlots[field as keyof SlotChanges].name, value]);
  return record(db, {
    actorId,
    action: "slot.update",
    target: sql`${`slot:${slotId}`}`,
    before: slotJson,
    after: sql`json_patch(${slotJson}, ${JSON.stringify(Object.fromEntries(columns))})`,
    from: liveSlot(slotId),
  });
}

/** Goes before the statements that delete the slot; `before` holds how many places were booked. */
export function auditSlotDeleted(db: Database, actorId: number, slotId: number) {
  return record(db, {
    actorId,
    action: "slot.delete",
    target: sql`${`slot:${slotId}`}`,
    before: slotJson,
    after: sql`NULL`,
    from: liveSlot(slotId),
  });
}

/** Goes before the UPDATE that gives the user `role`; records nothing if they have it already. */
export function auditRoleChanged(db: Database, actorId: number, userId: number, role: Role) {
  return record(db, {
    actorId,
    action: role === "ADMIN" ? "user.promote" : "user.demote",
    target: sql`${`user:${userId}`}`,
    before: sql`json_object('role', ${users.role})`,
    after: sql`json_object('role', ${role})`,
    from: sql`FROM ${users} WHERE ${users.id} = ${userId} AND ${users.role} <> ${role}`,
  });
}
