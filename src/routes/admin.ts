import { createRoute, z } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import { requireAdmin } from "../auth/middleware";
import { d1Session } from "../db/session";
import { AUDIT_ACTIONS, auditLog, categories, ROLES, timeSlots, users } from "../db/schema";
import { auditCategoryCreated, auditRoleChanged, auditSlotCreated } from "../lib/audit";
import { createRouter } from "../lib/create-app";
import { AppError, brokenConstraint, invalidField } from "../lib/errors";
import { unwrap } from "../lib/outcome";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../lib/openapi";
import { MessageSchema, PathId, SlotSchema, toSlotView } from "../lib/schemas";
import { InstantInput, InstantOutput } from "../lib/time";
import { invalidTimeRange, slotObject, unknownCategory, type SlotChanges } from "../slot-booking-object";
import { CategorySchema } from "./categories";

const NewCategory = z.object({ name: z.string().trim().min(1).max(100).openapi({ example: "Yoga" }) }).openapi("NewCategory");

const SlotFields = z.object({
  category_id: z.number().int().positive(),
  start_time: InstantInput,
  end_time: InstantInput,
  max_capacity: z.number().int().min(1).max(10_000),
});
const NewSlot = SlotFields.openapi("NewTimeSlot");
const SlotUpdate = SlotFields.partial().openapi("TimeSlotUpdate", { description: "Only the fields given change" });

const SlotIdParams = z.object({ slot_id: PathId });

const UserSchema = z.object({ id: z.number().int(), email: z.string(), role: z.enum(ROLES) }).openapi("User");
const RoleChange = z.object({ role: z.enum(ROLES) }).openapi("RoleChange");

const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    actor_id: z.number().int().nullable().openapi({ description: "The admin's user id; null for a change made with wrangler" }),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string().openapi({ example: "slot:7" }),
    before: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The row before; null for a creation" }),
    after: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The row after; null for a deletion" }),
    created_at: InstantOutput,
  })
  .openapi("AuditEntry");

const AUDIT_PAGE = { default: 50, max: 500 };
const AuditQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,9}$/, "Expected a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1).max(AUDIT_PAGE.max))
    .optional()
    .openapi({ type: "integer", minimum: 1, maximum: AUDIT_PAGE.max, default: AUDIT_PAGE.default, description: "How many entries" }),
});

const admin = { security: bearerAuth, middleware: requireAdmin, tags: ["Admin"] };
// Routes that use D1 themselves, rather than through a slot's object, add d1Session (see db/session.ts).

const createCategory = createRoute({
  ...admin,
  middleware: [requireAdmin, d1Session] as const,
  method: "post",
  path: "/admin/categories",
  summary: "Create a category",
  request: { body: jsonBody(NewCategory) },
  responses: {
    201: jsonResponse(CategorySchema, "Created"),
    ...errorResponses(401, 403, 409, 413, 422),
  },
});

const createSlot = createRoute({
  ...admin,
  middleware: [requireAdmin, d1Session] as const,
  method: "post",
  path: "/admin/slots",
  summary: "Create a time slot",
  request: { body: jsonBody(NewSlot) },
  responses: {
    201: jsonResponse(SlotSchema, "Created"),
    ...errorResponses(401, 403, 413, 422),
  },
});

const updateSlot = createRoute({
  ...admin,
  method: "put",
  path: "/admin/slots/{slot_id}",
  summary: "Change a time slot (partial)",
  description: "409 `capacity_below_bookings` when max_capacity would fall below the places already booked.",
  request: { params: SlotIdParams, body: jsonBody(SlotUpdate) },
  responses: {
    200: jsonResponse(SlotSchema, "The slot after the change"),
    ...errorResponses(401, 403, 404, 409, 413, 422, 503),
  },
});

const deleteSlot = createRoute({
  ...admin,
  method: "delete",
  path: "/admin/slots/{slot_id}",
  summary: "Delete a time slot, cancelling its bookings",
  request: { params: SlotIdParams },
  responses: {
    200: jsonResponse(MessageSchema.extend({ cancelled_bookings: z.number().int() }), "Slot deleted"),
    ...errorResponses(401, 403, 404, 422, 503),
  },
});

const setRole = createRoute({
  ...admin,
  middleware: [requireAdmin, d1Session] as const,
  method: "put",
  path: "/admin/users/{user_id}/role",
  summary: "Promote a user to ADMIN or demote one to USER",
  description: "Applies at once, also to tokens already issued: every request reads the caller's role from D1.",
  request: { params: z.object({ user_id: PathId }), body: jsonBody(RoleChange) },
  responses: {
    200: jsonResponse(UserSchema, "The user with the role now held"),
    ...errorResponses(401, 403, 404, 413, 422),
  },
});

const listAudit = createRoute({
  ...admin,
  middleware: [requireAdmin, d1Session] as const,
  method: "get",
  path: "/admin/audit",
  summary: "The audit log of admin actions, newest first",
  request: { query: AuditQuery },
  responses: {
    200: jsonResponse(z.array(AuditEntrySchema), "Entries, newest first"),
    ...errorResponses(401, 403, 422),
  },
});


export const adminRoutes = createRouter()
  .openapi(createCategory, async (c) => {
    const { name } = c.req.valid("json");
    const db = c.var.db;
    const [[category]] = await db
      .batch([db.insert(categories).values({ name }).returning(), auditCategoryCreated(db, c.get("user").id)])
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "unique") throw new AppError(409, "category_exists", `Category "${name}" already exists`);
        throw error;
      });
    return c.json(category, 201);
  })
  .openapi(createSlot, async (c) => {
    const input = c.req.valid("json");
    if (input.start_time >= input.end_time) throw invalidTimeRange();
    // A new slot has no bookings yet, so nothing to serialize: its object is first used by a booking.
    const db = c.var.db;
    const values = { categoryId: input.category_id, startTime: input.start_time, endTime: input.end_time, maxCapacity: input.max_capacity };
    const [[slot]] = await db
      .batch([db.insert(timeSlots).values(values).returning(), auditSlotCreated(db, c.get("user").id)])
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "foreign_key") throw unknownCategory();
        throw error;
      });
    return c.json(toSlotView(slot), 201);
  })
  .openapi(updateSlot, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const input = c.req.valid("json");
    const changes: SlotChanges = {
      categoryId: input.category_id,
      startTime: input.start_time,
      endTime: input.end_time,
      maxCapacity: input.max_capacity,
    };
    const given = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as SlotChanges;
    if (Object.keys(given).length === 0) {
      throw invalidField("validation_error", "body", "give at least one of category_id, start_time, end_time, max_capacity");
    }
    return c.json(unwrap(c, await slotObject(c.env, slotId).update(slotId, given, c.get("user").id)), 200);
  })
  .openapi(deleteSlot, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const { cancelledBookings } = unwrap(c, await slotObject(c.env, slotId).delete(slotId, c.get("user").id));
    return c.json({ message: "Slot deleted", cancelled_bookings: cancelledBookings }, 200);
  })
  .openapi(setRole, async (c) => {
    const userId = c.req.valid("param").user_id;
    const { role } = c.req.valid("json");
    const db = c.var.db;
    const [, [user]] = await db.batch([
      auditRoleChanged(db, c.get("user").id, userId, role),
      db.update(users).set({ role }).where(eq(users.id, userId)).returning({ id: users.id, email: users.email, role: users.role }),
    ]);
    if (!user) throw new AppError(404, "user_not_found", "User not found");
    return c.json(user, 200);
  })
  .openapi(listAudit, async (c) => {
    const { limit = AUDIT_PAGE.default } = c.req.valid("query");
    const entries = await c.var.db
      .select({
        id: auditLog.id,
        actor_id: auditLog.actorId,
        action: auditLog.action,
        target: auditLog.target,
        before: auditLog.before,
        after: auditLog.after,
        created_at: auditLog.createdAt,
      })
      .from(auditLog)
      .orderBy(desc(auditLog.id))
      .limit(limit);
    return c.json(entries, 200);
  });

