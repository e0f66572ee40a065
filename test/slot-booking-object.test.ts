import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { BookingOptions } from "../src/bookings/schemas";
import { createApp } from "../src/http/app";
import { unwrap } from "../src/http/outcome";
import { slotObject } from "../src/objects/stubs";
import { type SlotBookingObject } from "../src/slots/slot-booking-object";
import { api, statusCounts } from "./support/client";
import { book, cancel } from "./support/bookings";
import { createSlot, expectConsistent, hoursFromNow, slotCounts } from "./support/slots";
import { createUser, createUsers } from "./support/users";
import { whileBookingWritesFail } from "./support/failures";

const inspect = (slotId: number) => slotObject(env, slotId).inspect();

describe("memory", () => {
  it("answers a full slot from memory without writing to D1", async () => {
    const [first, second] = await createUsers(2);
    const slotId = await createSlot({ capacity: 1 });
    await book(first, slotId);
    // Make D1 disagree: a write would now succeed. Only memory says "full".
    await env.DB.prepare("UPDATE time_slots SET max_capacity = 2 WHERE id = ?").bind(slotId).run();
    expect((await book(second, slotId)).body.code).toBe("slot_full");
    expect((await slotCounts(slotId)).booked_rows).toBe(1);
  });

  it("tracks the committed count of its slot", async () => {
    const users = await createUsers(3);
    const slotId = await createSlot({ capacity: 5 });
    const [first] = await Promise.all(users.map((user) => book(user, slotId)));
    await cancel(users[0], first.body.id);
    expect(await inspect(slotId)).toMatchObject({ maxCapacity: 5, bookedCount: 2, deleted: false });
  });
});

describe("memory after an admin moves the slot", () => {
  const moveSlot = async (slotId: number, startsInHours: number) => {
    const admin = await createUser("ADMIN");
    const times = { start_time: hoursFromNow(startsInHours), end_time: hoursFromNow(startsInHours + 1) };
    expect((await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: times })).status).toBe(200);
  };

  it("books a started slot moved into the future: 201, its new start time is what the object knows", async () => {
    const [first, second] = await createUsers(2);
    const slotId = await createSlot({ startsInHours: -0.5 });
    expect((await book(first, slotId)).body.code).toBe("slot_started");
    await moveSlot(slotId, 24);
    expect((await book(second, slotId)).status).toBe(201);
  });

  it("refuses a future slot moved into the past with 409 slot_started", async () => {
    const [first, second] = await createUsers(2);
    const slotId = await createSlot({ startsInHours: 24 });
    expect((await book(first, slotId)).status).toBe(201);
    await moveSlot(slotId, -0.5);
    const response = await book(second, slotId);
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("slot_started");
  });
});

describe("restarts", () => {
  it("rebuilds its count from D1 after eviction, and keeps the capacity", async () => {
    const users = await createUsers(5);
    const slotId = await createSlot({ capacity: 3 });
    await Promise.all(users.slice(0, 2).map((user) => book(user, slotId)));
    const stub = slotObject(env, slotId);
    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (instance: SlotBookingObject) => instance.inspect())).toBeUndefined();
    const responses = await Promise.all(users.slice(2).map((user) => book(user, slotId)));
    expect(statusCounts(responses)).toEqual({ 201: 1, 409: 2 });
    expect(await stub.inspect()).toMatchObject({ maxCapacity: 3, bookedCount: 3 });
    expect((await expectConsistent(slotId)).booked_rows).toBe(3);
  });

  it("keeps every invariant when all objects are aborted in the middle of a booking rush", async () => {
    const users = await createUsers(40);
    const slotId = await createSlot({ capacity: 15 });
    const rush = Promise.all(users.map((user) => book(user, slotId)));
    await abortAllDurableObjects();
    const responses = await rush;
    // Requests caught by the abort may fail; none may overbook or leave the count wrong.
    const booked = responses.filter((r) => r.status === 201).length;
    const counts = await expectConsistent(slotId);
    expect(counts.booked_rows).toBe(booked);
    expect(booked).toBeLessThanOrEqual(15);
    // The fresh instance finishes the job from what D1 holds.
    const retries = await Promise.all(users.filter((_, i) => responses[i].status !== 201).map((user) => book(user, slotId)));
    expect(retries.filter((r) => r.status === 201)).toHaveLength(15 - booked);
    expect((await expectConsistent(slotId)).booked_rows).toBe(15);
  });
});

describe("partial failure", () => {
  it("answers 503 when D1 fails a booking, books nothing, keeps no count, and a retry succeeds", async () => {
    const [holder, client] = await createUsers(2);
    const slotId = await createSlot({ capacity: 2 });
    await book(holder, slotId);
    const failed = await whileBookingWritesFail("INSERT", () => book(client, slotId));
    expect(failed.status).toBe(503);
    expect(failed.body).toEqual({ detail: expect.any(String), code: "storage_unavailable" });
    // The object dropped what it knew instead of counting the failed write.
    expect(await inspect(slotId)).toBeUndefined();
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 1 });
    expect((await book(client, slotId)).status).toBe(201);
    expect(await inspect(slotId)).toMatchObject({ bookedCount: 2 });
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 2 });
  });

  it("logs the storage failure once, in the Worker, with the request id and D1's error; the client sees neither", async () => {
    const [user] = await createUsers(1);
    const slotId = await createSlot();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const failed = await whileBookingWritesFail("INSERT", () => book(user, slotId, { "X-Request-Id": "trace-503" }));
      expect(failed.headers.get("X-Request-Id")).toBe("trace-503");
      expect(JSON.stringify(failed.body)).not.toContain("injected");
      expect(logged).toHaveBeenCalledTimes(1);
      expect(logged.mock.calls[0].join(" ")).toMatch(/^request trace-503: 503 storage_unavailable: .*injected storage failure/);
    } finally {
      logged.mockRestore();
    }
  });

  it("answers 503 when D1 fails a cancellation, keeps the booking, and a retry frees the place", async () => {
    const [user] = await createUsers(1);
    const slotId = await createSlot({ capacity: 1 });
    const booking = await book(user, slotId);
    const failed = await whileBookingWritesFail("UPDATE", () => cancel(user, booking.body.id));
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe("storage_unavailable");
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 1 });
    expect((await cancel(user, booking.body.id)).status).toBe(200);
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 0 });
  });

  it("does not record a failed attempt under its Idempotency-Key, so the retry acts", async () => {
    const [user] = await createUsers(1);
    const slotId = await createSlot({ capacity: 1 });
    const key = { "Idempotency-Key": `retry-${slotId}` };
    expect((await whileBookingWritesFail("INSERT", () => book(user, slotId, key))).status).toBe(503);
    const retry = await book(user, slotId, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
  });
});

describe("a bug inside the object", () => {
  it("answers 500 internal_error, not 503 (only D1 failing is worth a retry), logged once in the Worker with the request id and the bug, and the object forgets its memory", async () => {
    const [user] = await createUsers(1);
    const slotId = await createSlot();
    expect((await book(user, slotId)).status).toBe(201);
    expect(await inspect(slotId)).toMatchObject({ bookedCount: 1 });
    // A caller's programming error, no mock: options the object's own code cannot read (a TypeError
    // in its task), through the app's real error handling.
    const buggy = createApp().post("/buggy", async (c) => {
      const broken = null as unknown as BookingOptions;
      return c.json(unwrap(c, await slotObject(c.env, slotId).book(slotId, user.id, broken, { key: `bug-${slotId}`, request: "bug" })));
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const response = await buggy.request("/buggy", { method: "POST", headers: { "X-Request-Id": "trace-500" } }, env);
      expect(response.status).toBe(500);
      expect(await response.json()).toStrictEqual({ detail: "Internal server error", code: "internal_error" });
      expect(logged).toHaveBeenCalledTimes(1);
      expect(logged.mock.calls[0].join(" ")).toMatch(/^request trace-500: 500 internal_error: Internal server error TypeError: .*hold/);
    } finally {
      logged.mockRestore();
    }
    expect(await inspect(slotId)).toBeUndefined();
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 1 });
  });
});

describe("D1 as the last line of defence", () => {
  it("refuses a booking that bypasses the object when it would overbook or double-book", async () => {
    const [first, second] = await createUsers(2);
    const slotId = await createSlot({ capacity: 1 });
    await book(first, slotId);
    const insert = env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at) VALUES (?, ?, 'BOOKED', 'now')");
    await expect(insert.bind(second.id, slotId).run()).rejects.toThrow(/CHECK constraint failed/);
    await expect(insert.bind(first.id, slotId).run()).rejects.toThrow(/constraint failed/);
    expect((await expectConsistent(slotId)).booked_rows).toBe(1);
  });

  it("refuses a capacity below the booked count even when set directly in D1", async () => {
    const users = await createUsers(3);
    const slotId = await createSlot({ capacity: 5 });
    await Promise.all(users.map((user) => book(user, slotId)));
    const lower = env.DB.prepare("UPDATE time_slots SET max_capacity = 2 WHERE id = ?").bind(slotId);
    await expect(lower.run()).rejects.toThrow(/CHECK constraint failed/);
    expect((await expectConsistent(slotId)).max_capacity).toBe(5);
  });
});
