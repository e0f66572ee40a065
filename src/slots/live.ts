import { toSlotAvailability } from "../views/slot";
import type { SlotState } from "./slot-state";

/**
 * The slot object's watchers (GET /slots/{slot_id}/live): owns their WebSockets, accepted with the
 * hibernation API (an idle object with watchers is evicted from memory and woken for the next
 * message), and what is sent on them.
 */
export class LiveAnnouncements {
  /** An announcement is scheduled: changes committed until it is sent go in it. */
  #announcing = false;

  /** `current` is what the object holds of its slot when an announcement goes out. */
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly current: () => SlotState | undefined,
  ) {
    // A client's keep-alive is answered without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Accepts a watcher and sends it the current availability: the 101 answer carries its socket. */
  accept(slotId: number, slot: SlotState): Response {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.send(JSON.stringify(toSlotAvailability(slotId, slot)));
    return new Response(null, { status: 101, webSocket: client });
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

/** Closes a socket that may already be closed. */
function close(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closed: nothing left to release.
  }
}
