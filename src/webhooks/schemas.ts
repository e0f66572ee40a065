import { z } from "@hono/zod-openapi";
import { WEBHOOK_EVENT_TYPES, type TimeSlotRow, type WebhookEventType } from "../db/schema";
import { PathId } from "../http/schemas";
import { InstantOutput } from "../values/instant";
import { AttendanceSchema, BookingSchema, RescheduledBookingSchema } from "../views/booking";
import { SlotSchema, toSlotView } from "../views/slot";

const EventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length * 2)
  // The same type twice means it once.
  .transform((types) => [...new Set(types)]);

const WebhookFields = z.object({
  id: z.number().int(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  created_at: InstantOutput,
});

export const WebhookSchema = WebhookFields.extend({
  failing_since: InstantOutput.nullable().openapi({ description: "Failing since (no success since); null while it succeeds" }),
  disabled_at: InstantOutput.nullable().openapi({ description: "Disabled after failing 3 days in a row: nothing is sent to it" }),
}).openapi("Webhook");

export const CreatedWebhookSchema = WebhookFields.extend({
  secret: z.string().openapi({ description: "`whsec_` + base64 of 32 random bytes; shown only here" }),
}).openapi("CreatedWebhook");

export const NewWebhookSchema = z
  .object({
    url: z.url().max(2048).openapi({ example: "https://example.com/hooks/slotbook" }),
    events: EventTypes,
  })
  .openapi("NewWebhook");

export const WebhookIdParams = z.object({ webhook_id: PathId });

export const DeliverySchema = z
  .object({
    id: z.number().int(),
    event_id: z.number().int().openapi({ description: "`webhook-id` is `evt_<event_id>`" }),
    event_type: z.enum(WEBHOOK_EVENT_TYPES),
    attempt: z.number().int().min(1),
    status_code: z.number().int().nullable().openapi({ description: "null: no answer (see error)" }),
    error: z.string().nullable(),
    created_at: InstantOutput,
  })
  .openapi("WebhookDelivery");

/**
 * A queue message: deliver this event to this webhook, as attempt `attempt` + 1 (the attempts
 * recorded when it was sent; absent in messages sent before migration 0009).
 */
export type WebhookMessage = { event_id: number; webhook_id: number; attempt?: number };

/**
 * What an endpoint receives: the body of every delivery. A booking event's data is stored in the
 * outbox as the API shows it; a slot event's is the time_slots row, shown through toSlotView, the
 * one projection of a slot.
 */
export function eventPayload(event: { type: WebhookEventType; data: Record<string, unknown>; createdAt: string }) {
  const data = event.type.startsWith("slot.") ? toSlotView(event.data as TimeSlotRow) : event.data;
  return { type: event.type, timestamp: event.createdAt, data };
}

const DATA_SCHEMAS = { booking: BookingSchema, slot: SlotSchema, rescheduled: RescheduledBookingSchema, attendance: AttendanceSchema };

/** The body each event type is delivered with and when it is sent, for the OpenAPI document's `webhooks`. */
export const EVENT_DOCS: Record<WebhookEventType, { data: keyof typeof DATA_SCHEMAS; when: string }> = {
  "booking.created": { data: "booking", when: "A booking was made (or moved: the new one)" },
  "booking.cancelled": { data: "booking", when: "A booking was cancelled (also with its slot)" },
  "booking.rescheduled": { data: "rescheduled", when: "A booking was moved: the old one, naming the new" },
  "booking.promoted": { data: "booking", when: "A waiter got a place" },
  "booking.expired": { data: "booking", when: "A hold ended unconfirmed" },
  "booking.checked_in": { data: "attendance", when: "An admin checked a booking in" },
  "booking.check_in_undone": { data: "attendance", when: "An admin undid a booking's check-in" },
  "waitlist.closed": { data: "booking", when: "The slot started: its waiter's entry ended without a place" },
  "slot.created": { data: "slot", when: "A slot was created" },
  "slot.updated": { data: "slot", when: "A slot was changed" },
  "slot.deleted": { data: "slot", when: "A slot was deleted" },
};

export function eventPayloadSchema(type: WebhookEventType) {
  return z.object({
    type: z.literal(type),
    timestamp: InstantOutput,
    data: DATA_SCHEMAS[EVENT_DOCS[type].data],
  });
}
