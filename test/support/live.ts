import { exports } from "cloudflare:workers";
import type { SlotAvailability } from "../../src/views/slot";

// Watching a slot's live availability (GET /slots/{slot_id}/live) inside workerd.

/** A WebSocket watching GET /slots/{slot_id}/live, with the messages it received in order. */
export type Watcher = {
  socket: WebSocket;
  /** The next message not yet taken; fails after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<SlotAvailability>;
  /**
   * Takes messages until one equals `expected`: for a state reached by changes made while
   * watching, whose messages may come one per change or together.
   */
  until(expected: SlotAvailability): Promise<void>;
  /** Resolves when the server closes the socket, with the close code. */
  closed: Promise<number>;
};

/**
 * Connects to a slot's live availability inside workerd, as a browser would (Upgrade: websocket),
 * from the client address `address` (CF-Connecting-IP), or without one.
 */
export async function watch(slotId: number, address?: string): Promise<Watcher> {
  const headers: Record<string, string> = { Upgrade: "websocket", ...(address ? { "CF-Connecting-IP": address } : {}) };
  const response = await exports.default.fetch(new Request(`http://slotbook.test/slots/${slotId}/live`, { headers }));
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) throw new Error(`expected 101 with a WebSocket, got ${response.status}: ${await response.text()}`);
  const unread: SlotAvailability[] = [];
  const readers: ((message: SlotAvailability) => void)[] = [];
  socket.addEventListener("message", (event) => {
    if (event.data === "pong") return; // the answer to a keep-alive "ping", not an availability
    const message = JSON.parse(event.data as string) as SlotAvailability;
    const reader = readers.shift();
    if (reader) reader(message);
    else unread.push(message);
  });
  const closed = new Promise<number>((resolve) => socket.addEventListener("close", (event) => resolve(event.code)));
  socket.accept();
  const next = (timeoutMs = 5_000) => {
    const message = unread.shift();
    if (message) return Promise.resolve(message);
    return new Promise<SlotAvailability>((resolve, reject) => {
      const timer = setTimeout(() => {
        readers.splice(readers.indexOf(reader), 1);
        reject(new Error(`no message on slot ${slotId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const reader = (received: SlotAvailability) => {
        clearTimeout(timer);
        resolve(received);
      };
      readers.push(reader);
    });
  };
  const until = async (expected: SlotAvailability) => {
    while (JSON.stringify(await next()) !== JSON.stringify(expected));
  };
  return { socket, next, until, closed };
}
