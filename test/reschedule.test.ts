import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { INTERRUPTED_MOVE_MS } from "../src/bookings/reschedule";
import { slotObject } from "../src/objects/stubs";
import { as, client, errorOf, settle, statusCounts } from "./support/client";
import { book, cancel, hold, joinWaitlist } from "./support/bookings";
import { createSlot, expectConsistent } from "./support/slots";
import { createUser, createUsers, type TestUser } from "./support/users";
import { createWebhook, receivedOn, runCron } from "./support/webhooks";
import { eventually } from "./support/properties";
import { whileWritesFail } from "./support/failures";

function reschedule(caller: TestUser, bookingId: number, slotId: number) {
  return settle(
    client.bookings[":booking_id"].reschedule.$post({ param: { booking_id: String(bookingId) }, json: { time_slot_id: slotId } }, as(caller)),
  );
}

type BookingRow = { id: number; user_id: number; time_slot_id: number; status: string; cancelled_at: string | null; rescheduled_to: number | null };

async function bookingRow(id: number): Promise<BookingRow> {
  return (await env.DB.prepare("SELECT id, user_id, time_slot_id, status, cancelled_at, rescheduled_to FROM bookings WHERE id = ?")
    .bind(id)
    .first<BookingRow>())!;
}

/** Each user's live bookings, in any slot. */
async function liveBookingsOf(users: TestUser[]): Promise<Map<number, number[]>> {
  const { results } = await env.DB.prepare(
    `SELECT user_id, time_slot_id FROM bookings WHERE status = 'BOOKED' AND user_id IN (${users.map(() => "?").join(",")}) ORDER BY id`,
  )
    .bind(...users.map(({ id }) => id))
    .all<{ user_id: number; time_slot_id: number }>();
  const live = new Map(users.map(({ id }) => [id, [] as number[]]));
  for (const { user_id, time_slot_id } of results) live.get(user_id)!.push(time_slot_id);
  return live;
}

async function movesInProgress(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM booking_moves").first<{ n: number }>())!.n;
}

/** D1's counts hold and the slot's object, if it has loaded the slot, remembers D1's count. */
async function expectSlotAgrees(slotId: number, bookedRows: number) {
  expect((await expectConsistent(slotId)).booked_rows).toBe(bookedRows);
  const remembered = await slotObject(env, slotId).inspect();
  if (remembered) expect(remembered.bookedCount).toBe(bookedRows);
}

afterEach(async () => {
  await env.DB.prepare("DELETE FROM webhooks").run();
});

describe("POST /bookings/{booking_id}/reschedule", () => {
  it("moves the owner's booking: 200 with the new booking; the old one is CANCELLED and names it in GET /bookings", async () => {
    const user = await createUser();
    const [from, to] = [await createSlot({ capacity: 2 }), await createSlot({ capacity: 2 })];
    const old = await book(user, from);
    const moved = await reschedule(user, old.body.id, to);
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ id: expect.any(Number), user_id: user.id, time_slot_id: to, status: "BOOKED" });
    const listed = await settle(client.bookings.$get({ query: {} }, as(user)));
    expect(listed.body.map(({ id, status, rescheduled_to, time_slot_id }) => ({ id, status, rescheduled_to, time_slot_id }))).toEqual([
      { id: old.body.id, status: "CANCELLED", rescheduled_to: moved.body.id, time_slot_id: from },
      { id: moved.body.id, status: "BOOKED", rescheduled_to: null, time_slot_id: to },
    ]);
    await expectSlotAgrees(from, 0);
    await expectSlotAgrees(to, 1);
    expect(await movesInProgress()).toBe(0);
  });

  it("lets an admin move someone's booking, which stays that user's", async () => {
    const [user, admin] = [await createUser(), await createUser("ADMIN")];
    const old = await book(user, await createSlot());
    const moved = await reschedule(admin, old.body.id, await createSlot());
    expect(moved.status).toBe(200);
    expect(moved.body.user_id).toBe(user.id);
  });

  describe("refusals leave the old booking exactly as it was", () => {
    async function expectRefused(
      setUp: (user: TestUser, from: number) => Promise<{ caller?: TestUser; bookingId?: number; target: number }>,
      expected: { status: number; code: string },
    ) {
      const user = await createUser();
      const from = await createSlot({ capacity: 3 });
      const old = await book(user, from);
      const { caller = user, bookingId = old.body.id, target } = await setUp(user, from);
      const before = await bookingRow(old.body.id);
      const targetBefore = await expectConsistent(target).catch(() => undefined);
      expect(errorOf(await reschedule(caller, bookingId, target))).toEqual(expected);
      expect(await bookingRow(old.body.id)).toEqual(before);
      if (targetBefore) expect((await expectConsistent(target)).booked_rows).toBe(targetBefore.booked_rows);
      expect(await movesInProgress()).toBe(0);
    }

    it("target full: 409 slot_full", async () => {
      await expectRefused(async () => {
        const target = await createSlot({ capacity: 1 });
        await book(await createUser(), target);
        return { target };
      }, { status: 409, code: "slot_full" });
    });

    it("target started: 409 slot_started", async () => {
      await expectRefused(async () => ({ target: await createSlot({ startsInHours: -1 }) }), { status: 409, code: "slot_started" });
    });

    it("same slot: 422 same_slot", async () => {
      await expectRefused(async (_user, from) => ({ target: from }), { status: 422, code: "same_slot" });
    });

    it("a target the user already booked: 409 already_booked", async () => {
      await expectRefused(async (user) => {
        const target = await createSlot();
        await book(user, target);
        return { target };
      }, { status: 409, code: "already_booked" });
    });

    it("an unknown target: 404 slot_not_found", async () => {
      await expectRefused(async () => ({ target: 999_999_999 }), { status: 404, code: "slot_not_found" });
    });

    it("another user's booking: 404 booking_not_found, as if it did not exist", async () => {
      await expectRefused(async () => ({ caller: await createUser(), target: await createSlot() }), { status: 404, code: "booking_not_found" });
    });

    it("a hold: 409 not_booked (it must be confirmed first), and the hold stays", async () => {
      const user = await createUser();
      const held = await hold(user, await createSlot());
      const refused = await reschedule(user, held.body.id, await createSlot());
      expect(errorOf(refused)).toEqual({ status: 409, code: "not_booked" });
      expect(refused.body.detail).toMatch(/confirm/);
      expect((await bookingRow(held.body.id)).status).toBe("HELD");
      expect(await movesInProgress()).toBe(0);
    });

    it("a waitlist place: 409 not_booked", async () => {
      const from = await createSlot({ capacity: 1 });
      const [booker, waiter] = await createUsers(2);
      await book(booker, from);
      const waiting = await joinWaitlist(waiter, from);
      expect(errorOf(await reschedule(waiter, waiting.body.id, await createSlot()))).toEqual({ status: 409, code: "not_booked" });
      expect((await bookingRow(waiting.body.id)).status).toBe("WAITLISTED");
    });

    it("a booking whose slot has started: 409 slot_started for its owner and an admin alike (its owner's cancel is past the deadline: cancellation_closed)", async () => {
      const from = await createSlot({ capacity: 2 });
      const user = await createUser();
      const old = await book(user, from);
      await env.DB.prepare("UPDATE time_slots SET start_time = ?, end_time = ? WHERE id = ?")
        .bind(new Date(Date.now() - 600_000).toISOString().slice(0, 19) + "Z", new Date(Date.now() + 600_000).toISOString().slice(0, 19) + "Z", from)
        .run();
      const target = await createSlot();
      expect(errorOf(await cancel(user, old.body.id))).toEqual({ status: 409, code: "cancellation_closed" });
      expect(errorOf(await reschedule(user, old.body.id, target))).toEqual({ status: 409, code: "slot_started" });
      expect(errorOf(await reschedule(await createUser("ADMIN"), old.body.id, target))).toEqual({ status: 409, code: "slot_started" });
      // Step 1 checks it again in D1, past the route's check.
      expect(await slotObject(env, target).takeForMove(target, old.body.id, user.id)).toMatchObject({ ok: false, code: "slot_started" });
      expect((await bookingRow(old.body.id)).status).toBe("BOOKED");
      await expectSlotAgrees(target, 0);
      expect(await movesInProgress()).toBe(0);
    });

    it("a cancelled booking: 409 already_cancelled", async () => {
      const user = await createUser();
      const old = await book(user, await createSlot());
      await cancel(user, old.body.id);
      expect(errorOf(await reschedule(user, old.body.id, await createSlot()))).toEqual({ status: 409, code: "already_cancelled" });
    });
  });

  it("20 users rescheduling at once into 5 free places: exactly 5 move, 15 keep their booking untouched", async () => {
    const users = await createUsers(20);
    const from = await createSlot({ capacity: 20 });
    const to = await createSlot({ capacity: 8 });
    await Promise.all((await createUsers(3)).map((other) => book(other, to)));
    const originals = await Promise.all(users.map((user) => book(user, from)));
    const before = await Promise.all(originals.map(({ body }) => bookingRow(body.id)));

    const answers = await Promise.all(users.map((user, i) => reschedule(user, originals[i].body.id, to)));
    expect(statusCounts(answers)).toEqual({ 200: 5, 409: 15 });
    for (const [i, answer] of answers.entries()) {
      const now = await bookingRow(originals[i].body.id);
      if (answer.status === 200) {
        expect(now).toMatchObject({ status: "CANCELLED", rescheduled_to: answer.body.id });
        expect(await bookingRow(answer.body.id)).toMatchObject({ user_id: users[i].id, time_slot_id: to, status: "BOOKED" });
      } else {
        expect(answer.body.code).toBe("slot_full");
        expect(now).toEqual(before[i]);
      }
    }
    for (const slots of (await liveBookingsOf(users)).values()) expect(slots).toHaveLength(1);
    await expectSlotAgrees(from, 15);
    await expectSlotAgrees(to, 8);
    expect(await movesInProgress()).toBe(0);
  });

  it("announces booking.rescheduled (the old booking, naming the new) and booking.created (the new), and no booking.cancelled", async () => {
    const admin = await createUser("ADMIN");
    const hook = await createWebhook(admin, ["booking.rescheduled", "booking.created", "booking.cancelled"]);
    const user = await createUser();
    const from = await createSlot();
    const old = await book(user, from);
    const moved = await reschedule(user, old.body.id, await createSlot());
    const received = await eventually(() => receivedOn(hook.path), (list) => list.length === 3);
    const payloads = received.map(({ body }) => JSON.parse(body) as { type: string; data: unknown });
    expect(payloads.map(({ type }) => type).sort()).toEqual(["booking.created", "booking.created", "booking.rescheduled"]);
    expect(payloads.filter(({ type }) => type === "booking.rescheduled").map(({ data }) => data)).toEqual([
      { ...old.body, status: "CANCELLED", rescheduled_to: moved.body.id },
    ]);
    expect(payloads.filter(({ type }) => type === "booking.created").map(({ data }) => data)).toEqual([old.body, moved.body]);
  });
});

describe("with waiters and holds", () => {
  it("a booking moved away from a full slot gives its place to that slot's first waiter, in the same step", async () => {
    const [source, target] = [await createSlot({ capacity: 1 }), await createSlot({ capacity: 1 })];
    const [mover, first, second] = await createUsers(3);
    const moving = await book(mover, source);
    const waiting = [await joinWaitlist(first, source), await joinWaitlist(second, source)];
    const moved = await reschedule(mover, moving.body.id, target);
    expect(moved.status).toBe(200);
    expect((await bookingRow(waiting[0].body.id)).status).toBe("BOOKED");
    expect((await bookingRow(waiting[1].body.id)).status).toBe("WAITLISTED");
    expect((await expectConsistent(source)).booked_rows).toBe(1);
    expect((await expectConsistent(target)).booked_rows).toBe(1);
  });

  it("a slot whose places are held is full to a move, and the move changes nothing", async () => {
    const [source, target] = [await createSlot(), await createSlot({ capacity: 1 })];
    const [mover, holder] = await createUsers(2);
    const moving = await book(mover, source);
    expect((await hold(holder, target)).status).toBe(201);
    expect(errorOf(await reschedule(mover, moving.body.id, target))).toEqual({ status: 409, code: "slot_full" });
    expect((await bookingRow(moving.body.id)).status).toBe("BOOKED");
  });
});

describe("a D1 failure between the two steps", () => {
  it("when cancelling the old booking fails, the new place is given back at once: 503, each user keeps one live booking", async () => {
    const users = await createUsers(5);
    const [from, to] = [await createSlot({ capacity: 5 }), await createSlot({ capacity: 5 })];
    const originals = await Promise.all(users.map((user) => book(user, from)));
    const failed = await whileWritesFail(
      "bookings",
      "UPDATE",
      () => Promise.all(users.map((user, i) => reschedule(user, originals[i].body.id, to))),
      `OLD.time_slot_id = ${from}`,
    );
    expect(statusCounts(failed)).toEqual({ 503: 5 });
    expect([...(await liveBookingsOf(users)).values()]).toEqual(users.map(() => [from]));
    await expectSlotAgrees(from, 5);
    await expectSlotAgrees(to, 0);
    expect(await movesInProgress()).toBe(0);
    // Nothing is left in the way of a retry.
    expect((await reschedule(users[0], originals[0].body.id, to)).status).toBe(200);
  });

  it("when step 2 fails, the place given back goes to the target's waiter who joined between the steps", async () => {
    const [from, to] = [await createSlot({ capacity: 2 }), await createSlot({ capacity: 1 })];
    const [mover, waiter] = await createUsers(2);
    const old = await book(mover, from);
    const target = slotObject(env, to);
    expect((await target.takeForMove(to, old.body.id, mover.id)).ok).toBe(true);
    const waiting = await joinWaitlist(waiter, to);
    expect(waiting.body.status).toBe("WAITLISTED");
    const completed = await whileWritesFail("bookings", "UPDATE", async () => (await slotObject(env, from).completeMove(from, old.body.id)).ok, `OLD.time_slot_id = ${from}`);
    expect(completed).toBe(false);
    expect(await target.releaseMove(to, old.body.id)).toMatchObject({ ok: true, value: { undone: true } });
    expect((await bookingRow(waiting.body.id)).status).toBe("BOOKED");
    expect((await bookingRow(old.body.id)).status).toBe("BOOKED");
    await expectSlotAgrees(to, 1);
    expect(await movesInProgress()).toBe(0);
  });

  it("when the cron undoes an interrupted move, the place goes to the target's waiter who joined meanwhile", async () => {
    const [from, to] = [await createSlot({ capacity: 2 }), await createSlot({ capacity: 1 })];
    const [mover, waiter] = await createUsers(2);
    const old = await book(mover, from);
    expect((await slotObject(env, to).takeForMove(to, old.body.id, mover.id)).ok).toBe(true);
    const waiting = await joinWaitlist(waiter, to);
    expect(waiting.body.status).toBe("WAITLISTED");
    await runCron(Date.now() + INTERRUPTED_MOVE_MS + 1_000);
    expect(await movesInProgress()).toBe(0);
    expect((await bookingRow(waiting.body.id)).status).toBe("BOOKED");
    expect((await bookingRow(old.body.id)).status).toBe("BOOKED");
    await expectSlotAgrees(to, 1);
  });

  it("when D1 fails for both steps, the moves stay in progress until the cron undoes them: then each user has exactly one live booking", async () => {
    const admin = await createUser("ADMIN");
    const hook = await createWebhook(admin, ["booking.rescheduled", "booking.created"]);
    const users = await createUsers(5);
    const [from, to] = [await createSlot({ capacity: 5 }), await createSlot({ capacity: 5 })];
    const originals = await Promise.all(users.map((user) => book(user, from)));
    await eventually(() => receivedOn(hook.path), (list) => list.length === 5);

    const failed = await whileWritesFail("bookings", "UPDATE", () => Promise.all(users.map((user, i) => reschedule(user, originals[i].body.id, to))));
    expect(statusCounts(failed)).toEqual({ 503: 5 });
    // Between the steps, each user briefly holds a place in both slots; D1's constraints allow it.
    expect([...(await liveBookingsOf(users)).values()]).toEqual(users.map(() => [from, to]));
    expect(await movesInProgress()).toBe(5);
    await expectSlotAgrees(to, 5);

    // The cron leaves a move alone while its request may still be running, then undoes it.
    await runCron();
    expect(await movesInProgress()).toBe(5);
    await runCron(Date.now() + INTERRUPTED_MOVE_MS + 1_000);
    expect(await movesInProgress()).toBe(0);
    expect([...(await liveBookingsOf(users)).values()]).toEqual(users.map(() => [from]));
    await expectSlotAgrees(from, 5);
    await expectSlotAgrees(to, 0);
    // No move was announced.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await receivedOn(hook.path)).map(({ body }) => JSON.parse(body).type)).toEqual(users.map(() => "booking.created"));
  });
});
