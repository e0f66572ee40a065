// How the Worker reaches its Durable Objects: the one way routes and the cron address a slot's object.

/** The object that owns one time slot (named by its id): slots/slot-booking-object.ts. */
export function slotObject(env: Env, slotId: number) {
  return env.SLOT_BOOKING.getByName(String(slotId));
}
