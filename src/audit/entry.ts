import { z } from "@hono/zod-openapi";
import { AUDIT_ACTIONS, auditLog, type AuditAction, type TimeSlotRow } from "../db/schema";
import { InstantOutput } from "../values/instant";
import { toSlotView } from "../views/slot";

// An audit entry as the API shows it (GET /admin/audit, an account's export): owns its schema,
// the columns it is read with, and how a recorded row becomes what the entry shows.

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    actor_id: z.number().int().nullable().openapi({ description: "The admin's user id; null for a change made with wrangler" }),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string().openapi({ example: "slot:7" }),
    before: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "The row before; null for a creation. A slot is shown as the API shows it (TimeSlot)" }),
    after: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The row after; null for a deletion. A slot as in `before`" }),
    created_at: InstantOutput,
  })
  .openapi("AuditEntry");

export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** An audit_log row, to be shown through `toAuditEntry`. */
export const auditEntryColumns = {
  id: auditLog.id,
  actor_id: auditLog.actorId,
  action: auditLog.action,
  target: auditLog.target,
  before: auditLog.before,
  after: auditLog.after,
  created_at: auditLog.createdAt,
};

/** The actions whose entries record a time_slots row (views/slot.ts slotRowJson). */
const SLOT_ROW_ACTIONS: ReadonlySet<AuditAction> = new Set(["slot.create", "slot.update", "slot.delete"]);

type AuditRow = Omit<AuditEntry, "before" | "after"> & { before: unknown; after: unknown };

/** An entry as the API shows it: a recorded slot row through toSlotView, anything else as recorded. */
export function toAuditEntry(row: AuditRow): AuditEntry {
  const shown = (recorded: unknown) => {
    if (recorded === null) return null;
    return SLOT_ROW_ACTIONS.has(row.action) ? toSlotView(recorded as TimeSlotRow) : (recorded as Record<string, unknown>);
  };
  return { ...row, before: shown(row.before), after: shown(row.after) };
}
