// The live sockets' limits (src/slots/live-limits.ts) on a real `wrangler dev`, through its own
// WebSocket upgrade path: the per-address cap answered before any upgrade, and an oversized message.
import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { baseUrl, freshAddress, newSlot } from "./helpers";

/** What this uses of a `ws` socket (the package has no types installed). */
type Socket = {
  on(event: "open", listener: () => void): void;
  on(event: "message", listener: (data: Buffer) => void): void;
  on(event: "close", listener: (code: number, reason: Buffer) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  on(event: "unexpected-response", listener: (request: unknown, response: IncomingMessage) => void): void;
  send(data: string | Uint8Array): void;
  close(): void;
};
const WebSocket = createRequire(import.meta.url)("ws") as new (url: string, options: { headers: Record<string, string> }) => Socket;

const opened: Socket[] = [];
afterEach(() => {
  for (const socket of opened.splice(0)) socket.close();
});

const liveUrl = (slotId: number) => `${baseUrl.replace(/^http/, "ws")}/slots/${slotId}/live`;

/** Opens a socket on the slot from `address`; resolves with it and its first message once it arrives. */
function connect(slotId: number, address: string): Promise<{ socket: Socket; first: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(liveUrl(slotId), { headers: { "CF-Connecting-IP": address } });
    opened.push(socket);
    socket.on("message", (data) => resolve({ socket, first: JSON.parse(String(data)) }));
    socket.on("error", reject);
  });
}

/** An upgrade the server refuses: its status, Retry-After and JSON body. */
function refusal(slotId: number, address: string): Promise<{ status: number; retryAfter: string | undefined; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(liveUrl(slotId), { headers: { "CF-Connecting-IP": address } });
    socket.on("open", () => reject(new Error("the upgrade was accepted")));
    socket.on("error", () => {}); // ws reports the refusal as an error too, after the response
    socket.on("unexpected-response", (_, response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += String(chunk)));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers["retry-after"] as string | undefined, body: JSON.parse(text) }));
    });
  });
}

describe("GET /slots/{slot_id}/live on wrangler dev", () => {
  it("takes 10 sockets from one client address on a slot, and answers the 11th 429 too_many_watchers with Retry-After, not upgraded", async () => {
    const slot = await newSlot(3);
    const address = freshAddress();
    const sockets = await Promise.all(Array.from({ length: 10 }, () => connect(slot.id, address)));
    for (const { first } of sockets) expect(first).toMatchObject({ slot_id: slot.id, available_spots: 3 });
    const refused = await refusal(slot.id, address);
    expect(refused).toEqual({
      status: 429,
      retryAfter: "60",
      body: { detail: "Your address already watches this slot on 10 sockets, the most it may; close one first", code: "too_many_watchers" },
    });
    // Another address still connects.
    expect((await connect(slot.id, freshAddress())).first).toMatchObject({ slot_id: slot.id });
  });

  it("closes a socket with 1009 message too big when its client sends more than 1 KiB, and answers nothing", async () => {
    const slot = await newSlot(2);
    const { socket } = await connect(slot.id, freshAddress());
    const after: unknown[] = [];
    socket.on("message", (data) => after.push(String(data)));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
    socket.send("x".repeat(1025));
    expect(await closed).toEqual({ code: 1009, reason: "message too big" });
    expect(after).toEqual([]);
  });
});
