import { z } from "@hono/zod-openapi";
import type { TimeSlotRow } from "../db/schema";
import { BOOKING_STATUSES } from "../db/schema";
import { InstantOutput } from "./time";

// API shapes shared by more than one resource, with the converters from rows to them.

/** A positive integer id in a path segment; anything else (abc, 0, -1, 1.5, 1e3) is a 422. */
export const PathId = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, "Expected a positive integer")
  .transform(Number)
  .openapi({ type: "integer", minimum: 1, example: 1 });

export const SlotSchema = z
  .object({
    id: z.number().int(),
    category_id: z.number().int(),
    start_time: InstantOutput,
    end_time: InstantOutput,
    max_capacity: z.number().int(),
    available_spots: z.number().int().min(0).openapi({ description: "max_capacity minus booked places; never negative" }),
  })
  .openapi("TimeSlot");

export type SlotView = z.infer<typeof SlotSchema>;

export function toSlotView(row: Pick<TimeSlotRow, "id" | "categoryId" | "startTime" | "endTime" | "maxCapacity" | "bookedCount">): SlotView {
  return {
    id: row.id,
    category_id: row.categoryId,
    start_time: row.startTime,
    end_time: row.endTime,
    max_capacity: row.maxCapacity,
    available_spots: row.maxCapacity - row.bookedCount,
  };
}

export const BookingSchema = z
  .object({
    id: z.number().int(),
    user_id: z.number().int(),
    time_slot_id: z.number().int(),
    status: z.enum(BOOKING_STATUSES),
  })
  .openapi("Booking");

export type BookingView = z.infer<typeof BookingSchema>;

export const MessageSchema = z.object({ message: z.string() }).openapi("Message");
