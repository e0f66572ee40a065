import type { LiveAvailability } from "./api";

const RECONNECT_MS = 2_000;
/**
 * How often an open socket sends "ping": the server closes a socket that sent nothing for 10
 * minutes (README, "Live availability"), and answers "pong" without waking the slot's object.
 */
const PING_MS = 60_000;

function isAvailability(value: unknown): value is LiveAvailability {
  const message = value as Partial<LiveAvailability> | null;
  return typeof message?.slot_id === "number" && typeof message.available_spots === "number";
}

/**
 * Live availability over each watched slot's WebSocket (GET /slots/{slot_id}/live): one socket
 * per watched slot, not one per slot on screen. A dropped socket reconnects while it is watched.
 */
export class LiveSlots {
  readonly #sockets = new Map<number, WebSocket>();
  #wanted = new Set<number>();
  readonly #onUpdate: (update: LiveAvailability) => void;

  constructor(onUpdate: (update: LiveAvailability) => void) {
    this.#onUpdate = onUpdate;
  }

  /** Watches exactly these slots: opens a socket for each new one and closes the others. */
  watch(slotIds: Iterable<number>): void {
    const wanted = new Set(slotIds);
    this.#wanted = wanted;
    for (const [slotId, socket] of this.#sockets) {
      if (!wanted.has(slotId)) {
        this.#sockets.delete(slotId);
        socket.close(1000, "no longer watched");
      }
    }
    for (const slotId of wanted) if (!this.#sockets.has(slotId)) this.#open(slotId);
  }

  close(): void {
    this.watch([]);
  }

  #open(slotId: number): void {
    const url = new URL(`/slots/${slotId}/live`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    this.#sockets.set(slotId, socket);
    const keepAlive = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send("ping");
    }, PING_MS);
    socket.addEventListener("message", (event) => {
      if (event.data === "pong") return;
      try {
        const message: unknown = JSON.parse(String(event.data));
        if (isAvailability(message)) this.#onUpdate(message);
      } catch {
        // Not ours to show: ignore a malformed message.
      }
    });
    socket.addEventListener("close", () => {
      clearInterval(keepAlive);
      if (this.#sockets.get(slotId) !== socket) return; // closed on purpose, or replaced
      this.#sockets.delete(slotId);
      setTimeout(() => {
        if (this.#wanted.has(slotId) && !this.#sockets.has(slotId)) this.#open(slotId);
      }, RECONNECT_MS);
    });
  }
}
