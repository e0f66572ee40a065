/**
 * Which slot the object owns, kept in its own storage from the first request that names it: the
 * runtime tells an object its name only when a request named it, so an object woken by its alarm
 * alone (or, after hibernation, by a watcher's message) learns its slot from here.
 */

const SLOT_ID_KEY = "slot_id";

export class SlotIdentity {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly id: DurableObjectId,
  ) {}

  /** Called by every request that names the slot: keeps its id, once. */
  own(slotId: number): void {
    if (this.storage.kv.get<number>(SLOT_ID_KEY) !== slotId) this.storage.kv.put(SLOT_ID_KEY, slotId);
  }

  /**
   * The slot's id: from storage, or for an object that has kept none yet (one made before it kept
   * one) from its name, if the runtime gave one; undefined if neither.
   */
  get slotId(): number | undefined {
    const kept = this.storage.kv.get<number>(SLOT_ID_KEY);
    if (kept !== undefined) return kept;
    const named = Number(this.id.name);
    return Number.isSafeInteger(named) && named > 0 ? named : undefined;
  }
}
