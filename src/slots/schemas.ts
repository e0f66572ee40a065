import { z } from "@hono/zod-openapi";
import { invalidTimeRange } from "../errors/catalogue";
import { PagingQuery } from "../http/paging";
import { PathId } from "../http/schemas";
import { InstantInput } from "../values/instant";
import { TimeZoneInput } from "./timezone";

export const SlotIdParams = z.object({ slot_id: PathId });

export const SlotQuery = PagingQuery.extend({
  categories: z
    .string()
    .regex(/^\d{1,15}(,\d{1,15}){0,49}$/, "Expected up to 50 comma-separated category ids, e.g. 1,2")
    .transform((list) => list.split(",").map(Number))
    .optional()
    .openapi({
      type: "string",
      example: "1,2",
      description: "Only these categories. Without it, a signed-in caller with preferences sees those categories; everyone else sees all.",
    }),
  from: InstantInput.optional().openapi({ description: "Only slots starting at or after this instant" }),
  to: InstantInput.optional().openapi({ description: "Only slots starting before this instant" }),
  only_available: z
    .enum(["true", "false"])
    .transform((flag) => flag === "true")
    .optional()
    .openapi({ type: "boolean", description: "true: only slots with available_spots > 0" }),
});

const SlotFields = z.object({
  category_id: z.number().int().positive(),
  start_time: InstantInput,
  end_time: InstantInput,
  max_capacity: z.number().int().min(1).max(10_000),
  timezone: TimeZoneInput.optional(),
});
export const NewSlot = SlotFields.openapi("NewTimeSlot");
export const SlotUpdate = SlotFields.partial().openapi("TimeSlotUpdate", { description: "Only the fields given change" });

/** A slot must start before it ends: checked on create here, on update in the slot's object. */
export const startNotBeforeEnd = () => invalidTimeRange("start_time", "must be before end_time");
