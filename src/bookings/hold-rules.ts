import { and, eq, isNotNull, max } from "drizzle-orm";
import type { Database } from "../db/client";
import { raisedBy } from "../db/failures";
import { bookings } from "../db/schema";
import { holdCooldown, holdLimitReached, type AppError } from "../errors/catalogue";

// The limits on holds (issue 22.1), which D1 enforces in the batch that adds a hold (triggers of
// migrations/0012_hold_limits.sql, which spell the same numbers): owns their values and the errors
// a refused hold answers with. README, "Holds".

/** Live holds one user may have at once, across all slots. */
export const HOLD_LIMIT = 5;
/** After a user's hold on a slot ended unconfirmed (expired or cancelled), seconds before that user may hold the slot again. */
export const HOLD_COOLDOWN_SECONDS = 60;

/**
 * The error for a hold of `userId` on `slotId` that D1 refused with `error` by one of these rules
 * (undefined if it was refused for another reason). A cool-down's Retry-After counts from when the
 * user's last hold on the slot ended, read from D1.
 */
export async function holdRefusal(db: Database, error: unknown, userId: number, slotId: number): Promise<AppError | undefined> {
  if (raisedBy(error, "hold limit reached")) return holdLimitReached(HOLD_LIMIT);
  if (!raisedBy(error, "hold cooldown")) return undefined;
  const [{ ended }] = await db
    .select({ ended: max(bookings.cancelledAt) })
    .from(bookings)
    .where(and(eq(bookings.userId, userId), eq(bookings.timeSlotId, slotId), eq(bookings.status, "CANCELLED"), isNotNull(bookings.expiresAt)));
  const left = ended === null ? HOLD_COOLDOWN_SECONDS : Math.ceil((Date.parse(ended) + HOLD_COOLDOWN_SECONDS * 1000 - Date.now()) / 1000);
  return holdCooldown(Math.min(HOLD_COOLDOWN_SECONDS, Math.max(1, left)));
}
