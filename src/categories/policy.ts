import { z } from "@hono/zod-openapi";
import { sql, type SQL } from "drizzle-orm";
import { raisedBy } from "../db/failures";
import { categories } from "../db/schema";
import { bookingWindowEmpty } from "../errors/catalogue";
import { POLICY_BOUNDS, type PolicyRule } from "./policy-bounds";

// A category's booking policy (issue 21): its four rules as the API reads and shows them, and the
// columns that hold them. D1 gives every slot of the category the instants they make of its start
// (migration 0014); the statements that add and cancel entries enforce them there
// (bookings/commands.ts, bookings/moves.ts). README, "Booking policies".

/** The schema of `key`, within its bounds. */
const rule = (key: PolicyRule, description: string) => {
  const { min, max } = POLICY_BOUNDS[key];
  return z.number().int().min(min).max(max).nullable().openapi({ description });
};

/** The rules, each null for none, within POLICY_BOUNDS (migration 0014's CHECKs). */
export const PolicyFields = {
  booking_opens_hours_before: rule(
    "booking_opens_hours_before",
    "Booking opens this many hours before a slot's start (its `booking_opens_at`); earlier, a new entry is 409 `booking_not_open` with `opens_at` and Retry-After. null: open as soon as the slot exists",
  ),
  booking_closes_minutes_before: rule(
    "booking_closes_minutes_before",
    "Booking closes this many minutes before the start (`booking_closes_at`): a new place, hold or waitlist place is then 409 `booking_closed`, no waiter is promoted, and the waitlist is ended (`waitlist.closed`). Must be less than booking_opens_hours_before × 60. null: it closes at the start",
  ),
  cancel_until_minutes_before: rule(
    "cancel_until_minutes_before",
    "The owner may cancel a booked place until this many minutes before the start (`cancellable_until`), then 409 `cancellation_closed`; an admin still may, audited. A hold or a waitlist place may be given up until the start. 0 (the default): until the start. null: no deadline",
  ),
  max_active_per_user: rule(
    "max_active_per_user",
    "At most this many live entries (booked, held, waitlisted) per user in this category's slots that have not ended; one more is 409 `booking_limit_reached`. null: no limit",
  ),
};

export const PolicySchema = z.object(PolicyFields);
export type Policy = z.infer<typeof PolicySchema>;

/** The policy as the API shows it, read from categories. */
export const policyColumns = {
  booking_opens_hours_before: categories.bookingOpensHoursBefore,
  booking_closes_minutes_before: categories.bookingClosesMinutesBefore,
  cancel_until_minutes_before: categories.cancelUntilMinutesBefore,
  max_active_per_user: categories.maxActivePerUser,
};

/** The rules given in a request, as the columns of categories they set. */
export function policyValues(given: Partial<Policy>): Partial<typeof categories.$inferInsert> {
  return {
    bookingOpensHoursBefore: given.booking_opens_hours_before,
    bookingClosesMinutesBefore: given.booking_closes_minutes_before,
    cancelUntilMinutesBefore: given.cancel_until_minutes_before,
    maxActivePerUser: given.max_active_per_user,
  };
}

/** The policy as SQLite JSON, at this point of a batch, with the rules `given` in place of those they change (for the audit). */
export function policyJson(given: Partial<Policy> = {}): SQL {
  const pairs = Object.entries(policyColumns).map(([key, column]) => {
    const value = given[key as keyof Policy];
    return sql`${key}, ${value === undefined ? column : value}`;
  });
  return sql`json_object(${sql.join(pairs, sql`, `)})`;
}

/** The 422 for a policy in which booking would close before it opens (refused by migration 0014's triggers), if that is why D1 refused. */
export function policyRefusal(error: unknown) {
  return raisedBy(error, "booking window empty") ? bookingWindowEmpty() : undefined;
}
