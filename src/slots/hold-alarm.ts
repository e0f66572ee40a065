import { HOLD_SECONDS } from "../bookings/schemas";
import { toUtcIso } from "../db/time";

/**
 * The slot object's one alarm, which releases its expired holds and closes its idle watchers'
 * sockets (live.ts): owns when it is due. Storage keeps the alarm across restarts; every hold
 * gets it before the hold is written, so that no committed hold is ever without an alarm. Both
 * uses ask for it by a time (`wakeBy`): the earliest wins, and each run of the alarm does both.
 */

/** When D1 fails while the alarm releases holds, it tries again this much later. */
const RELEASE_RETRY_MS = 10_000;

export class HoldAlarm {
  constructor(private readonly storage: DurableObjectStorage) {}

  /**
   * When a hold made now for `seconds` ends (rounded up to the second), with the alarm set to
   * release it before the hold is written.
   */
  async holdUntil(seconds = HOLD_SECONDS.default): Promise<string> {
    const expiresAt = toUtcIso(new Date(Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000));
    // Holds differ in length: the alarm is due at the earliest end, this hold's or one before.
    await this.wakeBy(Date.parse(expiresAt));
    return expiresAt;
  }

  /** Makes the alarm due at `at` (ms since the epoch) at the latest: an earlier one stays. */
  async wakeBy(at: number): Promise<void> {
    const due = await this.storage.getAlarm();
    if (due === null || due > at) await this.storage.setAlarm(at);
  }

  /**
   * For a slot just loaded with `heldCount` holds: should its alarm be missing all the same, run it
   * now: it releases what has expired and sets the next one.
   */
  async ensureSet(heldCount: number): Promise<void> {
    if (heldCount > 0 && (await this.storage.getAlarm()) === null) await this.storage.setAlarm(Date.now());
  }

  /**
   * After a release: due when the next hold ends (`next`, read from D1 in the same task), or
   * earlier if the watchers' idle check asked for it. While the alarm runs, the runtime reports
   * none set unless the run set one.
   */
  async setForNext(next: string | null): Promise<void> {
    if (next !== null) await this.wakeBy(Date.parse(next));
  }

  /** D1 failed during a release: try again soon rather than leave the places held. */
  async retrySoon(): Promise<void> {
    await this.wakeBy(Date.now() + RELEASE_RETRY_MS);
  }
}
