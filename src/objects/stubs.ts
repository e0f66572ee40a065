// How the Worker reaches its Durable Objects: the one way routes and the cron address a slot's object.

/** The object that owns one time slot (named by its id): slots/slot-booking-object.ts. */
export function slotObject(env: Env, slotId: number) {
  return env.SLOT_BOOKING.getByName(String(slotId));
}

/** Carries the watcher's client address (its addressKey) from the route to the slot's object. */
const WATCHER_ADDRESS_HEADER = "X-Slotbook-Watcher-Address";

/**
 * GET /slots/{slot_id}/live as the slot's object takes it: the upgrade request, naming the slot
 * (see `slotOfWatch`) and the watcher's client address `address`, an addressKey (see `watcherAddressOf`).
 */
export function watchRequest(slotId: number, upgrade: Request, address: string): Request {
  const request = new Request(`https://slot-object.invalid/${slotId}/live`, upgrade);
  // Set, not added: whatever a client sent under this name is replaced.
  request.headers.set(WATCHER_ADDRESS_HEADER, address);
  return request;
}

/** The slot a request made by `watchRequest` names. */
export function slotOfWatch(request: Request): number {
  return Number(new URL(request.url).pathname.split("/")[1]);
}

/** The watcher's client address a request made by `watchRequest` carries. */
export function watcherAddressOf(request: Request): string {
  const address = request.headers.get(WATCHER_ADDRESS_HEADER);
  // Only watchRequest makes these requests: without the header, this is a bug, not a client's doing.
  if (address === null) throw new Error(`${request.url}: no ${WATCHER_ADDRESS_HEADER} (not made by watchRequest)`);
  return address;
}
