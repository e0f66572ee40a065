import { createRoute, z } from "@hono/zod-openapi";
import { requireAdmin } from "../auth/middleware";
import { database } from "../db/client";
import { categories, timeSlots } from "../db/schema";
import { createRouter } from "../lib/create-app";
import { AppError, brokenConstraint, unwrap } from "../lib/errors";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../lib/openapi";
import { MessageSchema, PathId, SlotSchema, toSlotView } from "../lib/schemas";
import { InstantInput } from "../lib/time";
import { slotObject, unknownCategory, type SlotChanges } from "../slot-booking-object";
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
const admin = { security: bearerAuth, middleware: [requireAdmin], tags: ["Admin"] };

const createCategory = createRoute({
  ...admin,
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

const invalidTimeRange = () => new AppError(422, "invalid_time_range", "start_time must be before end_time");

export const adminRoutes = createRouter()
  .openapi(createCategory, async (c) => {
    const { name } = c.req.valid("json");
    const category = await database(c.env.DB)
      .insert(categories)
      .values({ name })
      .returning()
      .get()
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
    const slot = await database(c.env.DB)
      .insert(timeSlots)
      .values({ categoryId: input.category_id, startTime: input.start_time, endTime: input.end_time, maxCapacity: input.max_capacity })
      .returning()
      .get()
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
      throw new AppError(422, "validation_error", "body: give at least one of category_id, start_time, end_time, max_capacity");
    }
    return c.json(unwrap(await slotObject(c.env, slotId).update(slotId, given)), 200);
  })
  .openapi(deleteSlot, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const { cancelledBookings } = unwrap(await slotObject(c.env, slotId).delete(slotId));
    return c.json({ message: "Slot deleted", cancelled_bookings: cancelledBookings }, 200);
  });

