import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { toUtcIso } from "../src/db/time";
import { api, statusCounts } from "./support/client";
import { book, cancel } from "./support/bookings";
import { createSlot, expectConsistent, slotCounts } from "./support/slots";
import { createUser, createUsers, type TestUser } from "./support/users";
import { whileWritesFail } from "./support/failures";

let keyCounter = 0;
const newKey = () => ({ "Idempotency-Key": `key-${Date.now()}-${++keyCounter}` });
const replayed = (response: { headers: Headers }) => response.headers.get("Idempotent-Replayed") === "true";

/** Makes the user's recorded keys look `minutes` old. */
async function ageKeysOf(user: TestUser, minutes: number): Promise<void> {
  await env.DB.prepare("UPDATE idempotency_keys SET created_at = ? WHERE user_id = ?").bind(toUtcIso(new Date(Date.now() - minutes * 60_000)), user.id).run();
}

async function liveBookingsOf(user: TestUser): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM bookings WHERE user_id = ? AND status = 'BOOKED'").bind(user.id).first<{ n: number }>();
  return row!.n;
}

describe("Idempotency-Key on POST /bookings", () => {
  it("answers a repeat with the first response, marked as replayed, without booking twice", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 5 });
    const key = newKey();
    const first = await book(user, slotId, key);
    const repeat = await book(user, slotId, key);
    expect(first.status).toBe(201);
    expect(replayed(first)).toBe(false);
    expect(repeat.status).toBe(201);
    expect(repeat.body).toEqual(first.body);
    expect(replayed(repeat)).toBe(true);
    expect(await liveBookingsOf(user)).toBe(1);
  });

  it("acts once when the duplicates arrive concurrently", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 5 });
    const key = newKey();
    const responses = await Promise.all(Array.from({ length: 10 }, () => book(user, slotId, key)));
    expect(statusCounts(responses)).toEqual({ 201: 10 });
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.filter(replayed)).toHaveLength(9);
    expect((await expectConsistent(slotId)).booked_rows).toBe(1);
  });

  it("still answers 201 to a repeat after the slot has filled up", async () => {
    const [user, other] = await createUsers(2);
    const slotId = await createSlot({ capacity: 2 });
    const key = newKey();
    const first = await book(user, slotId, key);
    await book(other, slotId);
    const repeat = await book(user, slotId, key);
    expect(repeat.status).toBe(201);
    expect(repeat.body.id).toBe(first.body.id);
  });

  it("replays a refusal too: the same key on a full slot stays 409 after a place frees up", async () => {
    const [holder, user] = await createUsers(2);
    const slotId = await createSlot({ capacity: 1 });
    const held = await book(holder, slotId);
    const key = newKey();
    expect((await book(user, slotId, key)).body.code).toBe("slot_full");
    await cancel(holder, held.body.id);
    const repeat = await book(user, slotId, key);
    expect(repeat.status).toBe(409);
    expect(repeat.body.code).toBe("slot_full");
    expect(replayed(repeat)).toBe(true);
    expect((await book(user, slotId, newKey())).status).toBe(201);
  });

  it("refuses the same key with another body with 422 idempotency_key_reused, booking nothing", async () => {
    const user = await createUser();
    const [first, second] = [await createSlot(), await createSlot()];
    const key = newKey();
    await book(user, first, key);
    const reused = await book(user, second, key);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe("idempotency_key_reused");
    expect((await slotCounts(second)).booked_rows).toBe(0);
  });

  it("lets exactly one of concurrent requests with one key and different slots act", async () => {
    const user = await createUser();
    const slots = await Promise.all(Array.from({ length: 5 }, () => createSlot()));
    const key = newKey();
    const responses = await Promise.all(slots.map((slotId) => book(user, slotId, key)));
    expect(statusCounts(responses)).toEqual({ 201: 1, 422: 4 });
    expect(await liveBookingsOf(user)).toBe(1);
  });

  it("keeps keys per user: another user's identical key is a request of its own", async () => {
    const [alice, bob] = await createUsers(2);
    const slotId = await createSlot();
    const key = newKey();
    const [forAlice, forBob] = [await book(alice, slotId, key), await book(bob, slotId, key)];
    expect(forBob.status).toBe(201);
    expect(forBob.body.id).not.toBe(forAlice.body.id);
    expect(replayed(forBob)).toBe(false);
  });

  it("forgets a key after 24 hours", async () => {
    const user = await createUser();
    const slotId = await createSlot();
    const key = newKey();
    const first = await book(user, slotId, key);
    await cancel(user, first.body.id);
    await env.DB.prepare("UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00Z' WHERE user_id = ?").bind(user.id).run();
    const later = await book(user, slotId, key);
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
    expect(replayed(later)).toBe(false);
  });

  it("replays a key used 23 h 59 min ago: the 24-hour window still holds it", async () => {
    const user = await createUser();
    const slotId = await createSlot();
    const key = newKey();
    const first = await book(user, slotId, key);
    await cancel(user, first.body.id);
    await ageKeysOf(user, 24 * 60 - 1);
    const repeat = await book(user, slotId, key);
    expect(repeat.status).toBe(201);
    expect(repeat.body.id).toBe(first.body.id);
    expect(replayed(repeat)).toBe(true);
    expect(await liveBookingsOf(user)).toBe(0);
  });

  it("acts on a key used 24 h 1 min ago: the window has let it go", async () => {
    const user = await createUser();
    const slotId = await createSlot();
    const key = newKey();
    const first = await book(user, slotId, key);
    await cancel(user, first.body.id);
    await ageKeysOf(user, 24 * 60 + 1);
    const later = await book(user, slotId, key);
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
    expect(replayed(later)).toBe(false);
  });

  it.each(["", "with space", "x".repeat(256), "ünïcode"])("rejects the malformed key %j with 422", async (badKey) => {
    const user = await createUser();
    const slotId = await createSlot();
    const response = await book(user, slotId, { "Idempotency-Key": badKey });
    expect(response.status).toBe(422);
    expect((await slotCounts(slotId)).booked_rows).toBe(0);
  });
});

describe("Idempotency-Key on DELETE /bookings/{booking_id}", () => {
  it("answers a repeated cancellation with the first 200 instead of 409", async () => {
    const user = await createUser();
    const slotId = await createSlot();
    const booking = await book(user, slotId);
    const key = newKey();
    const first = await cancel(user, booking.body.id, key);
    const repeat = await cancel(user, booking.body.id, key);
    expect([first.status, repeat.status]).toEqual([200, 200]);
    expect(repeat.body).toEqual({ message: "Booking cancelled" });
    expect(replayed(repeat)).toBe(true);
    expect((await cancel(user, booking.body.id)).body.code).toBe("already_cancelled");
  });

  it("cancels once when duplicates arrive concurrently, freeing exactly one place", async () => {
    const [user, other] = await createUsers(2);
    const slotId = await createSlot({ capacity: 2 });
    const booking = await book(user, slotId);
    await book(other, slotId);
    const key = newKey();
    const responses = await Promise.all(Array.from({ length: 8 }, () => cancel(user, booking.body.id, key)));
    expect(statusCounts(responses)).toEqual({ 200: 8 });
    expect((await expectConsistent(slotId)).booked_rows).toBe(1);
  });

  it("refuses a key first used for a booking with 422", async () => {
    const user = await createUser();
    const slotId = await createSlot();
    const key = newKey();
    const booking = await book(user, slotId, key);
    const response = await cancel(user, booking.body.id, key);
    expect(response.status).toBe(422);
    expect(response.body.code).toBe("idempotency_key_reused");
    expect((await slotCounts(slotId)).booked_rows).toBe(1);
  });
});

describe("Idempotency-Key and the change it records, in one batch", () => {
  const whileKeysCannotBeRecorded = <T>(run: () => Promise<T>) => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    return whileWritesFail("idempotency_keys", "INSERT", run);
  };

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("a booking whose key cannot be recorded books nothing (503); the retry with the key books once, then replays", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 5 });
    const key = newKey();
    const failed = await whileKeysCannotBeRecorded(() => book(user, slotId, key));
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe("storage_unavailable");
    expect((await expectConsistent(slotId)).booked_rows).toBe(0);
    const retry = await book(user, slotId, key);
    expect(retry.status).toBe(201);
    expect(replayed(retry)).toBe(false);
    const again = await book(user, slotId, key);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(retry.body.id);
    expect(replayed(again)).toBe(true);
    expect((await expectConsistent(slotId)).booked_rows).toBe(1);
  });

  it("a cancellation whose key cannot be recorded cancels nothing (503); the retry with the key cancels once, then replays", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 5 });
    const booking = await book(user, slotId);
    const key = newKey();
    const failed = await whileKeysCannotBeRecorded(() => cancel(user, booking.body.id, key));
    expect(failed.status).toBe(503);
    expect((await expectConsistent(slotId)).booked_rows).toBe(1);
    const retry = await cancel(user, booking.body.id, key);
    expect(retry.status).toBe(200);
    expect(replayed(retry)).toBe(false);
    const again = await cancel(user, booking.body.id, key);
    expect(again.status).toBe(200);
    expect(replayed(again)).toBe(true);
    expect((await expectConsistent(slotId)).booked_rows).toBe(0);
  });
});

describe("documentation", () => {
  it("declares the Idempotency-Key header on both operations in the OpenAPI document", async () => {
    type Operation = { parameters: { name: string; in: string }[] };
    const { body } = await api<{ paths: Record<string, Record<string, Operation>> }>("GET", "/openapi.json");
    for (const operation of [body.paths["/bookings"].post, body.paths["/bookings/{booking_id}"].delete]) {
      expect(operation.parameters).toContainEqual(expect.objectContaining({ name: "idempotency-key", in: "header" }));
    }
  });
});
