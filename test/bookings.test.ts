import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, as, client, settle, statusCounts } from "./support/client";
import { availableSpotsOf, createSlot, expectConsistent, moveSlotInD1, slotCounts } from "./support/slots";
import { book, cancel } from "./support/bookings";
import { createUser, createUsers } from "./support/users";
import type { ErrorBody } from "../src/errors/catalogue";

describe("POST /bookings", () => {
  it("books a place and answers 201 with the seed's booking shape", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 3 });
    const response = await book(user, slotId);
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ id: expect.any(Number), user_id: user.id, time_slot_id: slotId, status: "BOOKED" });
    expect(await availableSpotsOf(slotId)).toBe(2);
  });

  it("refuses a full slot with 409 slot_full", async () => {
    const [first, second] = await createUsers(2);
    const slotId = await createSlot({ capacity: 1 });
    expect((await book(first, slotId)).status).toBe(201);
    const response = await book(second, slotId);
    expect(response.status).toBe(409);
    expect(response.body).toEqual({ detail: "Slot is full", code: "slot_full" });
  });

  it("refuses a second live booking by the same user with 409 already_booked", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 5 });
    expect((await book(user, slotId)).status).toBe(201);
    const response = await book(user, slotId);
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("already_booked");
    expect((await slotCounts(slotId)).booked_rows).toBe(1);
  });

  it("lets a user book again after cancelling", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 5 });
    const first = await book(user, slotId);
    expect((await cancel(user, first.body.id)).status).toBe(200);
    const again = await book(user, slotId);
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
  });

  it("answers 404 slot_not_found for a slot that does not exist", async () => {
    const user = await createUser();
    const response = await book(user, 999_999);
    expect(response.status).toBe(404);
    expect(response.body.code).toBe("slot_not_found");
  });

  it("refuses a slot that has already started with 409 slot_started", async () => {
    const user = await createUser();
    const slotId = await createSlot({ startsInHours: -0.5 });
    const response = await book(user, slotId);
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("slot_started");
  });

  it.each([
    ["a string id", { time_slot_id: "1" }],
    ["zero", { time_slot_id: 0 }],
    ["a fraction", { time_slot_id: 1.5 }],
    ["no id", {}],
  ])("rejects %s with 422 naming time_slot_id", async (_, body) => {
    const user = await createUser();
    const response = await api<ErrorBody>("POST", "/bookings", { token: user.token, body });
    expect(response.status).toBe(422);
    expect(response.body.errors?.[0].field).toBe("time_slot_id");
  });

  it("requires authentication", async () => {
    const slotId = await createSlot();
    const response = await api<ErrorBody>("POST", "/bookings", { body: { time_slot_id: slotId } });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("not_authenticated");
  });
});

describe("DELETE /bookings/{booking_id}", () => {
  it("cancels the owner's booking and frees the place", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 1 });
    const booking = await book(user, slotId);
    const response = await cancel(user, booking.body.id);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ message: "Booking cancelled" });
    expect(await availableSpotsOf(slotId)).toBe(1);
  });

  it("answers 404 for another user's booking, revealing nothing, and leaves it booked", async () => {
    const [owner, stranger] = await createUsers(2);
    const slotId = await createSlot();
    const booking = await book(owner, slotId);
    const response = await cancel(stranger, booking.body.id);
    const missing = await cancel(stranger, 999_999);
    expect(response.status).toBe(404);
    expect(response.body).toEqual(missing.body);
    expect((await slotCounts(slotId)).booked_rows).toBe(1);
  });

  it("lets an admin cancel anyone's booking", async () => {
    const owner = await createUser();
    const admin = await createUser("ADMIN");
    const slotId = await createSlot();
    const booking = await book(owner, slotId);
    expect((await cancel(admin, booking.body.id)).status).toBe(200);
    expect((await slotCounts(slotId)).booked_rows).toBe(0);
  });

  it("does not let an admin demoted after the token was issued cancel others' bookings", async () => {
    const owner = await createUser();
    const admin = await createUser("ADMIN");
    await env.DB.prepare("UPDATE users SET role = 'USER' WHERE id = ?").bind(admin.id).run();
    const slotId = await createSlot();
    const booking = await book(owner, slotId);
    expect((await cancel(admin, booking.body.id)).status).toBe(404);
  });

  it("refuses its owner once the slot has started (the default deadline, cancel_until_minutes_before 0): 409 cancellation_closed, and the place stays booked", async () => {
    const user = await createUser();
    const slotId = await createSlot();
    const booking = await book(user, slotId);
    await moveSlotInD1(slotId, -0.5);
    const response = await cancel(user, booking.body.id);
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("cancellation_closed");
    expect((await slotCounts(slotId)).booked_rows).toBe(1);
  });

  it("lets an admin cancel a booking whose slot has started, freeing the place", async () => {
    const owner = await createUser();
    const admin = await createUser("ADMIN");
    const slotId = await createSlot();
    const booking = await book(owner, slotId);
    await moveSlotInD1(slotId, -0.5);
    expect((await cancel(admin, booking.body.id)).status).toBe(200);
    expect((await slotCounts(slotId)).booked_rows).toBe(0);
  });

  it("answers 409 already_cancelled for a booking cancelled before, freeing nothing twice", async () => {
    const [user, other] = await createUsers(2);
    const slotId = await createSlot({ capacity: 2 });
    const booking = await book(user, slotId);
    await book(other, slotId);
    await cancel(user, booking.body.id);
    const response = await cancel(user, booking.body.id);
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("already_cancelled");
    expect(await availableSpotsOf(slotId)).toBe(1);
  });

  it.each(["abc", "0", "-1", "1.5", "1e3"])("rejects the path id %s without a 500", async (id) => {
    const user = await createUser();
    const response = await api<ErrorBody>("DELETE", `/bookings/${id}`, { token: user.token });
    expect([404, 422]).toContain(response.status);
    expect(response.body.code).toEqual(expect.any(String));
  });
});

describe("GET /bookings", () => {
  it("lists only the caller's bookings, live and cancelled, with their slot's times", async () => {
    const [user, other] = await createUsers(2);
    const later = await createSlot({ startsInHours: 48 });
    const sooner = await createSlot({ startsInHours: 24, categoryId: 2 });
    const cancelled = await book(user, later);
    await cancel(user, cancelled.body.id);
    await book(user, sooner);
    await book(other, sooner);
    const response = await settle(client.bookings.$get({ query: {} }, as(user)));
    expect(response.status).toBe(200);
    expect(response.body.map((b) => [b.time_slot_id, b.status, b.category_id])).toEqual([
      [sooner, "BOOKED", 2],
      [later, "CANCELLED", 1],
    ]);
    expect(response.body[0].start_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });
});

describe("invariants under concurrency", () => {
  it("100 users booking a capacity-10 slot at once: exactly 10 succeed, 90 get 409, 0 spots left", async () => {
    const users = await createUsers(100);
    const slotId = await createSlot({ capacity: 10 });
    const responses = await Promise.all(users.map((user) => book(user, slotId)));
    expect(statusCounts(responses)).toEqual({ 201: 10, 409: 90 });
    expect(responses.filter((r) => r.status === 409).every((r) => r.body.code === "slot_full")).toBe(true);
    expect(await availableSpotsOf(slotId)).toBe(0);
    expect((await expectConsistent(slotId)).booked_rows).toBe(10);
  });

  it("one user sending 20 bookings for one slot at once gets exactly one", async () => {
    const user = await createUser();
    const slotId = await createSlot({ capacity: 50 });
    const responses = await Promise.all(Array.from({ length: 20 }, () => book(user, slotId)));
    expect(statusCounts(responses)).toEqual({ 201: 1, 409: 19 });
    expect((await expectConsistent(slotId)).booked_rows).toBe(1);
  });

  it("concurrent cancellations and bookings keep available_spots == max_capacity - booked", async () => {
    const holders = await createUsers(8);
    const newcomers = await createUsers(12);
    const slotId = await createSlot({ capacity: 10 });
    const held = await Promise.all(holders.map((user) => book(user, slotId)));
    const responses = await Promise.all([
      ...holders.map((user, i) => cancel(user, held[i].body.id)),
      ...newcomers.map((user) => book(user, slotId)),
    ]);
    expect(responses.every((r) => r.status === 200 || r.status === 201 || r.status === 409)).toBe(true);
    expect(responses.slice(0, holders.length).every((r) => r.status === 200)).toBe(true);
    const booked = responses.filter((r) => r.status === 201).length;
    expect((await expectConsistent(slotId)).booked_rows).toBe(booked);
    expect(booked).toBeLessThanOrEqual(10);
  });
});
