// How the Worker reaches its Durable Objects: the one way routes and the cron address a slot's object.

/** The object that owns one time slot (named by its id): slots/slot-booking-object.ts. */
export function slotObject(env: Env, slotId: number) {
  return env.SLOT_BOOKING.getByName(String(slotId));
}

/** GET /slots/{slot_id}/live as the slot's object takes it: the upgrade request, naming the slot (see `slotOfWatch`). */
export function watchRequest(slotId: number, upgrade: Request): Request {
  return new Request(`https://slot-object.invalid/${slotId}/live`, upgrade);
}

/** The slot a request made by `watchRequest` names. */
export function slotOfWatch(request: Request): number {
  return Number(new URL(request.url).pathname.split("/")[1]);
}
