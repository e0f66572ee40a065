import { AppError } from "../errors/catalogue";
import { failure } from "../objects/outcome";
import { toSlotAvailability } from "../views/slot";
import type { HoldAlarm } from "./hold-alarm";
import { acceptWithinLimits, close, closeIdle, heard, LIVE_LIMITS } from "./live-limits";
import type { SlotState } from "./slot-state";

/**
 * The slot object's watchers (GET /slots/{slot_id}/live): owns their WebSockets, accepted with the
 * hibernation API (an idle object with watchers is evicted from memory and woken for the next
 * message), and what is sent on them, within the bounds of live-limits.ts.
 */
export class LiveAnnouncements {
  /** An announcement is scheduled: changes committed until it is sent go in it. */
  #announcing = false;

  /**
   * `current` is what the object holds of its slot when an announcement goes out; `alarm`, the
   * object's one alarm, also wakes it to close idle sockets.
   */
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly current: () => SlotState | undefined,
    private readonly alarm: HoldAlarm,
  ) {
    // A client's keep-alive is answered without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Accepts a watcher from `address` (an addressKey) and sends it the current availability: the
   * 101 answer carries its socket. Past a limit, the answer is the 429's failed Outcome as JSON,
   * before any upgrade. The alarm is due by the time the new socket could become idle.
   */
  async accept(slotId: number, slot: SlotState, address: string): Promise<Response> {
    const [client, server] = Object.values(new WebSocketPair());
    // One instant for when the watcher was last heard and when the alarm checks it.
    const now = Date.now();
    try {
      acceptWithinLimits(this.ctx, server, address, now);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return Response.json(failure(error), { status: error.status });
    }
    server.send(JSON.stringify(toSlotAvailability(slotId, slot)));
    await this.alarm.wakeBy(now + LIVE_LIMITS.idleMs);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A watcher's message arrived: false if it was too big, and its socket closed (live-limits.ts). */
  heard(socket: WebSocket, message: string | ArrayBuffer): boolean {
    return heard(socket, message);
  }

  /**
   * On the object's alarm: closes the idle sockets and keeps the alarm due by the time the next
   * one could become idle. The runtime notes each "ping" without waking the object, so a watcher
   * that keeps its socket alive costs no wake-up until then.
   */
  async closeIdle(): Promise<void> {
    const next = closeIdle(this.ctx);
    if (next !== null) await this.alarm.wakeBy(next);
  }

  /** Answers one watcher's request for the current availability. */
  reply(socket: WebSocket, slotId: number, slot: SlotState): void {
    socket.send(JSON.stringify(toSlotAvailability(slotId, slot)));
  }

  /**
   * Sends the slot's availability to every watcher once a change has committed: in a timer, so that
   * the next change's D1 call is already under way, and once for all the changes committed until
   * the timer fires, with the state after the last. Sending waits for no socket; a socket that
   * fails is dropped. After a deletion, the sockets close.
   */
  announce(slotId: number): void {
    if (this.#announcing) return;
    this.#announcing = true;
    setTimeout(() => {
      this.#announcing = false;
      const slot = this.current();
      if (!slot) return;
      const message = JSON.stringify(toSlotAvailability(slotId, slot));
      for (const socket of this.ctx.getWebSockets()) {
        try {
          socket.send(message);
          if (slot.deleted) socket.close(1000, "slot deleted");
        } catch {
          close(socket, 1011, "send failed");
        }
      }
    }, 0);
  }

  /** The watcher closed its socket: close ours with its code. */
  closed(socket: WebSocket, code: number): void {
    // 1005 and 1006 say that no code was sent; they may not be sent back.
    close(socket, code === 1005 || code === 1006 ? 1000 : code, "");
  }

  failed(socket: WebSocket): void {
    close(socket, 1011, "socket error");
  }
}
