import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { slotObject } from "../src/objects/stubs";
import { type SlotBookingObject } from "../src/slots/slot-booking-object";
import { alarmOf, book, cancel, confirm, expireHolds, hold, joinWaitlist, runAlarm } from "./support/bookings";
import { api, errorOf } from "./support/client";
import { createSlot } from "./support/slots";
import { createUser, createUsers } from "./support/users";
import { watch } from "./support/live";

const admin = await createUser("ADMIN");

/** What a watcher of `slotId` is sent: the slot's availability. */
const availability = (slotId: number, available_spots: number, max_capacity: number, waitlist_length = 0, deleted = false) => ({
  slot_id: slotId,
  available_spots,
  max_capacity,
  waitlist_length,
  deleted,
});

describe("connecting", () => {
  it("a request without Upgrade: websocket is 426 websocket_required, naming the protocol to upgrade to", async () => {
    const slotId = await createSlot();
    const response = await api("GET", `/slots/${slotId}/live`);
    expect(response.status).toBe(426);
    expect(response.body).toEqual({ detail: expect.any(String), code: "websocket_required" });
    expect(response.headers.get("Upgrade")).toBe("websocket");
  });

  it("an unknown or deleted slot is 404 slot_not_found; a bad id is 422", async () => {
    const upgrade = { headers: { Upgrade: "websocket" } };
    expect(errorOf(await api("GET", "/slots/999999999/live", upgrade))).toEqual({ status: 404, code: "slot_not_found" });
    const slotId = await createSlot();
    await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token });
    expect(errorOf(await api("GET", `/slots/${slotId}/live`, upgrade))).toEqual({ status: 404, code: "slot_not_found" });
    expect((await api("GET", "/slots/abc/live", upgrade)).status).toBe(422);
  });

  it("a D1 failure in the slot's object answers 503 storage_unavailable, logged in the Worker with the request id like any other", async () => {
    const slotId = await createSlot();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    // The object, never addressed yet, reads its slot from D1: a real D1 error, no mock.
    await env.DB.prepare("ALTER TABLE time_slots RENAME TO time_slots_away").run();
    try {
      const response = await api("GET", `/slots/${slotId}/live`, { headers: { Upgrade: "websocket", "X-Request-Id": "trace-live" } });
      expect(response.status).toBe(503);
      expect(response.body).toStrictEqual({ detail: "Storage is temporarily unavailable; try again", code: "storage_unavailable" });
      expect(logged).toHaveBeenCalledTimes(1);
      expect(logged.mock.calls[0].join(" ")).toMatch(/^request trace-live: 503 storage_unavailable: .*Failed query: select .* from "time_slots"/);
    } finally {
      await env.DB.prepare("ALTER TABLE time_slots_away RENAME TO time_slots").run();
      logged.mockRestore();
    }
  });

  it("needs no authentication, and sends the current availability at once", async () => {
    const slotId = await createSlot({ capacity: 3 });
    await book(await createUser(), slotId);
    const watcher = await watch(slotId);
    expect(await watcher.next()).toEqual(availability(slotId, 2, 3));
  });

  it("answers any message with the current availability, and ping with pong", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const watcher = await watch(slotId);
    await watcher.next();
    watcher.socket.send("refresh");
    expect(await watcher.next()).toEqual(availability(slotId, 2, 2));
    const pong = new Promise((resolve) => watcher.socket.addEventListener("message", (event) => resolve(event.data), { once: true }));
    watcher.socket.send("ping");
    expect(await pong).toBe("pong");
  });

  it("is described in the OpenAPI document with its message schema", async () => {
    type Operation = { operationId: string; responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }> };
    type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { properties: object }> } };
    const { body } = await api<Document>("GET", "/openapi.json");
    const route = body.paths["/slots/{slot_id}/live"].get;
    expect(route.operationId).toBe("watchSlot");
    expect(Object.keys(route.responses)).toEqual(expect.arrayContaining(["101", "404", "426"]));
    expect(route.responses["101"].content["application/json"].schema.$ref).toBe("#/components/schemas/SlotAvailability");
    expect(Object.keys(body.components.schemas.SlotAvailability.properties).sort()).toEqual(
      ["available_spots", "deleted", "max_capacity", "slot_id", "waitlist_length"],
    );
  });
});

describe("pushes after every change", () => {
  it("booking, waitlist join, promotion on cancellation, hold, confirm-free expiry, capacity change, deletion", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [first, second, third] = await createUsers(3);
    const watcher = await watch(slotId);
    expect(await watcher.next()).toEqual(availability(slotId, 1, 1));

    const booked = await book(first, slotId);
    expect(await watcher.next()).toEqual(availability(slotId, 0, 1));
    const waiting = await joinWaitlist(second, slotId);
    expect(await watcher.next()).toEqual(availability(slotId, 0, 1, 1));
    // The cancellation and the promotion are one change: one message, the place already taken.
    await cancel(first, booked.body.id);
    expect(await watcher.next()).toEqual(availability(slotId, 0, 1, 0));

    expect((await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: 3 } })).status).toBe(200);
    expect(await watcher.next()).toEqual(availability(slotId, 2, 3));
    const held = await hold(third, slotId);
    expect(await watcher.next()).toEqual(availability(slotId, 1, 3));
    await expireHolds(slotId);
    await runAlarm(slotId);
    expect(await watcher.next()).toEqual(availability(slotId, 2, 3));
    expect((await confirm(third, held.body.id)).body.code).toBe("hold_expired");

    await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token });
    expect(await watcher.next()).toEqual(availability(slotId, 0, 3, 0, true));
    expect(await watcher.closed).toBe(1000);
    expect(waiting.status).toBe(202);
  });

  it("a capacity increase that promotes waiters is one message with the new state", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const users = await createUsers(4);
    const watcher = await watch(slotId);
    await book(users[0], slotId);
    for (const user of users.slice(1)) await joinWaitlist(user, slotId);
    await watcher.until(availability(slotId, 0, 1, 3));
    await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: 3 } });
    expect(await watcher.next()).toEqual(availability(slotId, 0, 3, 1));
  });

  it("every watcher gets each change, and one that left is dropped without disturbing the others", async () => {
    const slotId = await createSlot({ capacity: 5 });
    const watchers = await Promise.all(Array.from({ length: 5 }, () => watch(slotId)));
    for (const watcher of watchers) await watcher.next();
    watchers[0].socket.close(1000, "bye");
    const [user] = await createUsers(1);
    expect((await book(user, slotId)).status).toBe(201);
    for (const watcher of watchers.slice(1)) expect(await watcher.next()).toEqual(availability(slotId, 4, 5));
    const remaining = await runInDurableObject(slotObject(env, slotId), (_, state) => state.getWebSockets().length);
    expect(remaining).toBe(4);
  });

  it("a burst of changes ends with a message of the final state, never more messages than changes", async () => {
    const slotId = await createSlot({ capacity: 20 });
    const watcher = await watch(slotId);
    await watcher.next();
    const users = await createUsers(10);
    await Promise.all(users.map((user) => book(user, slotId)));
    const received = [await watcher.next()];
    while (received.at(-1)!.available_spots > 10) received.push(await watcher.next());
    expect(received.at(-1)).toEqual(availability(slotId, 10, 20));
    expect(received.length).toBeLessThanOrEqual(10);
    // Each message is a state the slot passed through, in order.
    const spots = received.map((message) => message.available_spots);
    expect(spots).toEqual([...spots].sort((a, b) => b - a));
  });

  it("sends nothing for a refused request: no message announces a change that did not commit", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [first, second] = await createUsers(2);
    const watcher = await watch(slotId);
    await book(first, slotId);
    await watcher.until(availability(slotId, 0, 1));
    expect((await book(second, slotId)).status).toBe(409);
    expect((await book(first, slotId)).status).toBe(409);
    await expect(watcher.next(300)).rejects.toThrow(/no message/);
  });
});

describe("hibernation and eviction", () => {
  it("watchers of an evicted object still get the next change, sent by a fresh instance", async () => {
    const slotId = await createSlot({ capacity: 4 });
    const watchers = await Promise.all([watch(slotId), watch(slotId)]);
    for (const watcher of watchers) await watcher.next();
    const stub = slotObject(env, slotId);
    await evictDurableObject(stub);
    // A fresh instance: it has forgotten the slot, but its sockets survived, hibernated.
    expect(await runInDurableObject(stub, (instance: SlotBookingObject) => instance.inspect())).toBeUndefined();
    expect(await runInDurableObject(stub, (_, state) => state.getWebSockets().length)).toBe(2);
    expect((await book(await createUser(), slotId)).status).toBe(201);
    for (const watcher of watchers) expect(await watcher.next()).toEqual(availability(slotId, 3, 4));
  });

  it("after an eviction the hold still expires on the alarm, the waiter is promoted, and the watchers hear of it", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [holder, waiter] = await createUsers(2);
    const watcher = await watch(slotId);
    const held = await hold(holder, slotId);
    await joinWaitlist(waiter, slotId);
    await watcher.until(availability(slotId, 0, 1, 1));
    await evictDurableObject(slotObject(env, slotId));
    expect(await alarmOf(slotId)).toBe(Date.parse(held.body.expires_at!));
    await expireHolds(slotId);
    expect(await runAlarm(slotId)).toBe(true);
    expect(await watcher.next()).toEqual(availability(slotId, 0, 1, 0));
  });
});
