import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { slotObject } from "../src/objects/stubs";
import { deleteAccount, entryOf, liveEntriesOf, registered, type Account } from "./account-helpers";
import { book, cancel, joinWaitlist } from "./support/bookings";
import { createSlot, expectConsistent, waitlistOf } from "./support/slots";
import { createUser, PASSWORD, type TestUser } from "./support/users";

// DELETE /user at the same moment as other changes to the user's slots: every change goes through
// the slot's object, and the erasure checks in D1 that nothing live is left.

describe("DELETE /user racing", () => {
  it("races a waiter's promotion on the same slot: the place ends with the next waiter, never with the deleted user", async () => {
    for (let round = 0; round < 5; round++) {
      const slotId = await createSlot({ capacity: 1 });
      const holder = await createUser();
      const booking = await book(holder, slotId);
      const account = await registered();
      const leaving = await joinWaitlist(account, slotId);
      const next = await createUser();
      const nextInLine = await joinWaitlist(next, slotId);
      expect([booking.status, leaving.status, nextInLine.status]).toEqual([201, 202, 202]);

      // The holder's cancellation promotes the first waiter, who is the account being deleted.
      const [cancelled, deleted] = await Promise.all([cancel(holder, booking.body.id), deleteAccount(account, PASSWORD)]);
      expect([cancelled.status, deleted.status]).toEqual([200, 200]);
      expect((await entryOf(leaving.body.id)).status).toBe("CANCELLED");
      expect((await entryOf(nextInLine.body.id)).status).toBe("BOOKED");
      expect(await waitlistOf(slotId)).toEqual([]);
      expect((await expectConsistent(slotId)).booked_count).toBe(1);
    }
  });

  it("races the user's own new booking: it is cancelled or refused, and nothing live is left", async () => {
    for (let round = 0; round < 5; round++) {
      const account: Account = await registered();
      expect((await book(account, await createSlot())).status).toBe(201);
      const slotId = await createSlot();
      const [deleted, booked] = await Promise.all([deleteAccount(account, PASSWORD), book(account as TestUser, slotId)]);
      expect(deleted.status).toBe(200);
      expect([201, 401, 503]).toContain(booked.status);
      expect(await liveEntriesOf(account.id)).toEqual([]);
      await expectConsistent(slotId);
    }
  });

  it("refuses new entries for an erased account inside D1 (401 invalid_token to a token another isolate still trusts), whatever asks", async () => {
    const account = await registered();
    expect((await deleteAccount(account, PASSWORD)).status).toBe(200);
    const slotId = await createSlot();
    const outcome = await slotObject(env, slotId).book(slotId, account.id, {});
    expect(outcome).toMatchObject({ ok: false, status: 401, code: "invalid_token" });
    expect(await liveEntriesOf(account.id)).toEqual([]);
    await expectConsistent(slotId);
  });
});
