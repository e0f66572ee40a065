import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { slotObject } from "../src/objects/stubs";
import { CLOSE_CODES, LIVE_LIMITS } from "../src/slots/live-limits";
import { alarmOf, expireHolds, hold, runAlarm } from "./support/bookings";
import { api, as, client, settle } from "./support/client";
import { watch, type Watcher } from "./support/live";
import { createSlot } from "./support/slots";
import { createUser } from "./support/users";

// The bounds on a slot's watchers (src/slots/live-limits.ts): sockets per slot and per client
// address, the size of a watcher's message, and the idle close on the object's one alarm.

/** An upgrade to a slot's live availability from `address`, read as a plain response (a refusal is JSON). */
const upgrade = (slotId: number, address: string) => api("GET", `/slots/${slotId}/live`, { headers: { Upgrade: "websocket", "CF-Connecting-IP": address } });

/** Opens `count` watchers of `slotId` from `address`, a few at a time. */
async function watchers(slotId: number, count: number, address: (i: number) => string): Promise<Watcher[]> {
  const opened: Watcher[] = [];
  for (let i = 0; i < count; i += 50) {
    opened.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => watch(slotId, address(i + j))))));
  }
  return opened;
}

/** The code and reason the server closed `watcher`'s socket with. */
const closing = (watcher: Watcher) =>
  new Promise<{ code: number; reason: string }>((resolve) => watcher.socket.addEventListener("close", ({ code, reason }) => resolve({ code, reason })));

/** Makes `ms` pass for every watcher of the slot, as the idle check sees them: their last message moves back. */
async function ageWatchers(slotId: number, ms: number): Promise<void> {
  await runInDurableObject(slotObject(env, slotId), (_, state) => {
    for (const socket of state.getWebSockets()) {
      const record = socket.deserializeAttachment() as { address: string; heardAt: number };
      socket.serializeAttachment({ ...record, heardAt: record.heardAt - ms });
    }
  });
}

describe("how many sockets a slot takes", () => {
  it("one client address (an IPv6 /64) gets at most 10 sockets on a slot: the 11th is 429 too_many_watchers with Retry-After; others still connect", async () => {
    const slotId = await createSlot();
    // Ten addresses of one /64 are one client.
    const open = await watchers(slotId, LIVE_LIMITS.perAddress, (i) => `2001:db8:77:1::${i + 1}`);
    const refused = await upgrade(slotId, "2001:db8:77:1:ffff::1");
    expect(refused.status).toBe(429);
    expect(refused.body).toStrictEqual({ detail: "Your address already watches this slot on 10 sockets, the most it may; close one first", code: "too_many_watchers" });
    expect(refused.headers.get("Retry-After")).toBe("60");
    // Another client, and the same client on another slot, connect.
    await watch(slotId, "2001:db8:77:2::1");
    await watch(await createSlot(), "2001:db8:77:1::1");
    // A socket its watcher closed frees its place.
    open[0].socket.close(1000, "bye");
    await vi.waitFor(() => watch(slotId, "2001:db8:77:1::1"), { timeout: 5_000, interval: 100 });
    expect((await upgrade(slotId, "2001:db8:77:1::1")).status).toBe(429);
  });

  it("an IPv4 address written another way (leading zeros, IPv4-mapped IPv6) is the same client", async () => {
    const slotId = await createSlot();
    await watchers(slotId, LIVE_LIMITS.perAddress, () => "198.51.100.7");
    expect((await upgrade(slotId, "198.051.100.007")).status).toBe(429);
    expect((await upgrade(slotId, "::ffff:198.51.100.7")).status).toBe(429);
  });

  it("a slot takes at most 1,000 sockets in all: the next is 429 too_many_watchers, from any address", async () => {
    const slotId = await createSlot();
    await watchers(slotId, LIVE_LIMITS.perSlot, (i) => `10.9.${Math.floor(i / LIVE_LIMITS.perAddress)}.1`);
    const refused = await upgrade(slotId, "10.10.0.1");
    expect(refused.status).toBe(429);
    expect(refused.body).toStrictEqual({ detail: "This slot has 1000 watchers, the most it takes; try again later", code: "too_many_watchers" });
    expect(refused.headers.get("Retry-After")).toBe("60");
    expect(await runInDurableObject(slotObject(env, slotId), (_, state) => state.getWebSockets().length)).toBe(LIVE_LIMITS.perSlot);
  }, 60_000);
});

describe("the size of a watcher's message", () => {
  it("a message of 1 KiB is answered; a longer one, text (counted in UTF-8 bytes) or binary, closes the socket 1009 unanswered", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const [text, binary] = await Promise.all([watch(slotId), watch(slotId)]);
    await Promise.all([text.next(), binary.next()]);
    text.socket.send("x".repeat(LIVE_LIMITS.messageBytes));
    expect(await text.next()).toMatchObject({ slot_id: slotId, available_spots: 2 });

    const textClosed = closing(text);
    // 513 characters, 1,026 bytes.
    text.socket.send("é".repeat(LIVE_LIMITS.messageBytes / 2 + 1));
    expect(await textClosed).toEqual({ code: CLOSE_CODES.messageTooBig, reason: "message too big" });
    const binaryClosed = closing(binary);
    binary.socket.send(new Uint8Array(LIVE_LIMITS.messageBytes + 1));
    expect((await binaryClosed).code).toBe(1009);
    await expect(text.next(300)).rejects.toThrow(/no message/);
  });
});

describe("idle sockets", () => {
  it("a socket whose watcher sent nothing for 10 minutes is closed 4408 by the alarm; one that pinged or asked since stays open", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const before = Date.now();
    const [silent, pinging, asking] = await Promise.all([watch(slotId), watch(slotId), watch(slotId)]);
    // Accepting a socket makes the alarm due by the time it could become idle.
    expect(await alarmOf(slotId)).toBeGreaterThanOrEqual(before + LIVE_LIMITS.idleMs);
    expect(await alarmOf(slotId)).toBeLessThanOrEqual(Date.now() + LIVE_LIMITS.idleMs);
    await Promise.all([silent.next(), pinging.next(), asking.next()]);

    await ageWatchers(slotId, LIVE_LIMITS.idleMs + 60_000);
    const pong = new Promise((resolve) => pinging.socket.addEventListener("message", (event) => resolve(event.data), { once: true }));
    pinging.socket.send("ping");
    expect(await pong).toBe("pong");
    asking.socket.send("refresh");
    await asking.next();
    const silentClosed = closing(silent);
    expect(await runAlarm(slotId)).toBe(true);

    expect(await silentClosed).toEqual({ code: CLOSE_CODES.idle, reason: "idle" });
    expect([pinging.socket.readyState, asking.socket.readyState]).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
    // The alarm is due again when the next of them could become idle, 10 minutes after it last spoke.
    expect(await alarmOf(slotId)).toBeGreaterThan(Date.now() + LIVE_LIMITS.idleMs - 10_000);
    asking.socket.send("refresh");
    expect(await asking.next()).toMatchObject({ slot_id: slotId });
  });

  it("holds and idle sockets share the one alarm, earliest due first: a hold ending sooner, then the idle time", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const watcher = await watch(slotId);
    const idleAt = (await alarmOf(slotId))!;
    const held = await hold(await createUser(), slotId);
    // The 5-minute hold ends before the socket could be idle.
    expect(await alarmOf(slotId)).toBe(Date.parse(held.body.expires_at!));
    await expireHolds(slotId);
    expect(await runAlarm(slotId)).toBe(true);
    // The hold released and no other left: the alarm stays for the watcher.
    expect(await alarmOf(slotId)).toBe(idleAt);
    expect(watcher.socket.readyState).toBe(WebSocket.OPEN);
  });

  it("a hold ending after the idle time: the alarm closes the idle socket first, then is due at the hold's end", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const watcher = await watch(slotId);
    const idleAt = (await alarmOf(slotId))!;
    const long = await settle(client.bookings.$post({ json: { time_slot_id: slotId, hold: true, hold_seconds: 1800 }, header: {} }, as(await createUser())));
    expect(long.status).toBe(201);
    expect(await alarmOf(slotId)).toBe(idleAt);
    await ageWatchers(slotId, LIVE_LIMITS.idleMs);
    const closed = closing(watcher);
    expect(await runAlarm(slotId)).toBe(true);
    expect((await closed).code).toBe(CLOSE_CODES.idle);
    expect(await alarmOf(slotId)).toBe(Date.parse(long.body.expires_at!));
  });
});
