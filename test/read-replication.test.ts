import { describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import { api } from "./support/client";
import { createSlot } from "./support/slots";
import { createUser } from "./support/users";

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
const bookmarkOf = (response: { headers: Headers }) => response.headers.get("x-d1-bookmark");

describe("D1 sessions and the x-d1-bookmark header", () => {
  it.each(["/slots", "/categories"])("GET %s answers with a bookmark", async (path) => {
    const response = await api("GET", path);
    expect(response.status).toBe(200);
    expect(bookmarkOf(response)).toMatch(BOOKMARK);
  });

  it("round-trips: the bookmark of a write, sent with the next read, shows that write", async () => {
    const user = await createUser();
    const write = await api("POST", "/user/preferences", { token: user.token, body: { preferred_categories: [3] } });
    const afterWrite = bookmarkOf(write);
    expect(afterWrite).toMatch(BOOKMARK);
    const read = await api("GET", "/user/preferences", { token: user.token, headers: { "x-d1-bookmark": afterWrite! } });
    expect(read.body).toEqual({ preferred_categories: [3] });
    // Bookmarks are fixed-width hex, so text order is log order: the read is at least as fresh.
    expect(bookmarkOf(read)! >= afterWrite!).toBe(true);
  });

  it("answers a booking with the bookmark of its write", async () => {
    const user = await createUser();
    const before = bookmarkOf(await api("GET", "/slots"));
    const booking = await api("POST", "/bookings", { token: user.token, body: { time_slot_id: await createSlot() } });
    expect(booking.status).toBe(201);
    expect(bookmarkOf(booking)! > before!).toBe(true);
  });

  it("refuses a malformed bookmark with 422 naming the header", async () => {
    const response = await api<ErrorBody>("GET", "/slots", { headers: { "x-d1-bookmark": "not-a-bookmark" } });
    expect(response.status).toBe(422);
    expect(response.body.errors?.[0].field).toBe("x-d1-bookmark");
  });
});
