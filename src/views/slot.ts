import { z } from "@hono/zod-openapi";
import { getTableColumns } from "drizzle-orm";
import { jsonObject } from "../db/json";
import { timeSlots, type TimeSlotRow } from "../db/schema";
import { InstantOutput } from "../values/instant";

// The projections of a time_slots row that the API shows: the slot (SlotSchema, toSlotView) and
// its live availability (toSlotAvailability). Routes, the slot object, webhooks and audit use them;
// records made in SQL (webhook events, audit entries) keep the whole row (`slotRowJson`) and are
// shown through toSlotView when read, so that there is one projection of a slot.

/** A slot as the API shows it, everywhere: built only by `toSlotView`. */
export const SlotSchema = z
  .object({
    id: z.number().int(),
    category_id: z.number().int(),
    start_time: InstantOutput,
    end_time: InstantOutput,
    max_capacity: z.number().int(),
    available_spots: z
      .number()
      .int()
      .min(0)
      .openapi({ description: "max_capacity minus booked and held places; never negative; 0 for a deleted slot (in slot.deleted)" }),
    waitlist_length: z.number().int().min(0).openapi({ description: "People waiting for a place; 0 whenever available_spots > 0" }),
    timezone: z.string().openapi({ example: "Europe/Berlin", description: "IANA zone to show the slot in; the times above are UTC" }),
    booking_opens_at: InstantOutput.nullable().openapi({
      description: "Its category's `booking_opens_hours_before` before the start: before it, a new entry is 409 `booking_not_open`. null: no such rule",
    }),
    booking_closes_at: InstantOutput.nullable().openapi({
      description:
        "Its category's `booking_closes_minutes_before` before the start: from it on, a new entry (a place, a hold, a waitlist place) is 409 `booking_closed`, and no waiter is promoted. null: booking closes at the start",
    }),
    cancellable_until: InstantOutput.nullable().openapi({
      description:
        "Its category's `cancel_until_minutes_before` before the start (by default the start itself): from it on, the owner's cancellation of a booked place is 409 `cancellation_closed`; an admin's is allowed and audited. null: no deadline",
    }),
  })
  .openapi("TimeSlot");

export type SlotView = z.infer<typeof SlotSchema>;

type Places = Pick<TimeSlotRow, "maxCapacity" | "bookedCount" | "heldCount">;

/** Invariant 3: never negative, because D1 keeps booked_count + held_count ≤ max_capacity. */
export const availableSpots = (slot: Places) => slot.maxCapacity - slot.bookedCount - slot.heldCount;

/**
 * What a slot shows as available_spots: a deleted slot offers none, so its last live message and
 * its slot.deleted webhook both say 0 (its bookings were cancelled with it; max_capacity is kept).
 */
const spotsShown = (slot: Places, deleted: boolean) => (deleted ? 0 : availableSpots(slot));

/** The one projection of a time_slots row to its API shape. */
export function toSlotView(row: TimeSlotRow): SlotView {
  return {
    id: row.id,
    category_id: row.categoryId,
    start_time: row.startTime,
    end_time: row.endTime,
    max_capacity: row.maxCapacity,
    available_spots: spotsShown(row, row.deletedAt !== null),
    waitlist_length: row.waitlistLength,
    timezone: row.timezone,
    // `??`: a row recorded before migration 0014 (in an audit entry or an event) has no such keys.
    booking_opens_at: row.bookingOpensAt ?? null,
    booking_closes_at: row.bookingClosesAt ?? null,
    cancellable_until: row.cancellableUntil ?? null,
  };
}

/**
 * A time_slots row as SQLite JSON, with the keys of TimeSlotRow: what a webhook event or an audit
 * entry records of a slot inside the batch of its change, shown through toSlotView when read.
 */
export const slotRowJson = jsonObject(getTableColumns(timeSlots));

/** What a watcher of GET /slots/{slot_id}/live receives on connecting and after every change. */
export const SlotAvailabilitySchema = z
  .object({
    slot_id: z.number().int(),
    available_spots: z.number().int().min(0),
    max_capacity: z.number().int(),
    waitlist_length: z.number().int().min(0),
    deleted: z.boolean().openapi({ description: "true in the last message, sent when the slot is deleted; the server then closes the socket" }),
  })
  .openapi("SlotAvailability");

export type SlotAvailability = z.infer<typeof SlotAvailabilitySchema>;

export function toSlotAvailability(slotId: number, slot: Places & Pick<TimeSlotRow, "waitlistLength"> & { deleted: boolean }): SlotAvailability {
  return {
    slot_id: slotId,
    available_spots: spotsShown(slot, slot.deleted),
    max_capacity: slot.maxCapacity,
    waitlist_length: slot.waitlistLength,
    deleted: slot.deleted,
  };
}
