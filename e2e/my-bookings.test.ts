// "My bookings" on the page, and the week's layout in en-US, in a real browser (issue 19, point 7).
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  book,
  visitorsOfBlock,
  call,
  chromiumMissing,
  expectAccessible,
  logIn,
  newAccount,
  newSlot,
  screenshot,
  showSlot,
  spotsRead,
  TIME_ZONE,
  WORKSHOP,
} from "./helpers";

/** What the issue measured: a laptop screen. */
const LAPTOP = { width: 1280, height: 800 };
const VENUE = 4;

/** The entry of booking `id` in My bookings. */
const entryOf = (page: Page, id: number): Locator => page.getByRole("region", { name: "My bookings" }).locator(`[data-booking-id="${id}"]`);

/** The instant at `hh:mm` Berlin time, `days` days from now. */
function berlinTime(days: number, hhmm: string): Date {
  const day = new Intl.DateTimeFormat("sv-SE", { timeZone: TIME_ZONE }).format(new Date(Date.now() + days * 86_400_000));
  const local = (date: Date) => new Intl.DateTimeFormat("sv-SE", { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" }).format(date);
  const candidates = ["+01:00", "+02:00"].map((offset) => new Date(`${day}T${hhmm}:00${offset}`));
  return candidates.find((date) => local(date) === hhmm)!;
}

describe.skipIf(chromiumMissing)("My bookings", () => {
  const { newVisitor } = visitorsOfBlock();

  it("lists the person's upcoming entries above the fold at 1280×800: booked, held with a live countdown, waitlisted with its place", async () => {
    const [booked, held, full] = await Promise.all([newSlot(5), newSlot(5), newSlot(1)]);
    const [person, rival] = await Promise.all([newAccount("mine"), newAccount("rival")]);
    const booking = await book(person.token, booked.id);
    const hold = await call<{ id: number; status: string }>("POST", "/bookings", { token: person.token, json: { time_slot_id: held.id, hold: true } });
    expect(hold.body.status).toBe("HELD");
    await book(rival.token, full.id);
    const waiting = await call<{ id: number; position: number }>("POST", "/bookings", { token: person.token, json: { time_slot_id: full.id, waitlist: true } });
    expect(waiting).toMatchObject({ status: 202, body: { position: 1 } });

    const { page } = await newVisitor({ viewport: LAPTOP });
    await logIn(page, person.email, person.password);
    const section = page.getByRole("region", { name: "My bookings" });
    await entryOf(page, booking.id).getByText("Booked", { exact: true }).waitFor();
    const countdown = entryOf(page, hold.body.id).locator(".entry-status");
    await countdown.filter({ hasText: /^Held for you: [45]:\d\d left to confirm$/ }).waitFor();
    await entryOf(page, hold.body.id).getByRole("button", { name: "Confirm" }).waitFor();
    await entryOf(page, waiting.body.id).getByText("On the waitlist (position 1)").waitFor();
    const before = await countdown.textContent();
    await expect.poll(() => countdown.textContent(), { timeout: 3_000 }).not.toBe(before);

    const box = await section.boundingBox();
    expect(box!.y + box!.height, "My bookings ends within the first 800 px").toBeLessThanOrEqual(LAPTOP.height);
    await expectAccessible(page, "My bookings");
    await screenshot(page, "my-bookings-1280x800");
  });

  it("Confirm turns a hold into a booking, and Cancel removes an entry and frees its place", async () => {
    const slot = await newSlot(3);
    const person = await newAccount("confirm");
    const hold = await call<{ id: number }>("POST", "/bookings", { token: person.token, json: { time_slot_id: slot.id, hold: true } });
    const { page } = await newVisitor({ viewport: LAPTOP });
    await logIn(page, person.email, person.password);
    const entry = entryOf(page, hold.body.id);
    await entry.getByRole("button", { name: "Confirm" }).click();
    await entry.getByText("Booked", { exact: true }).waitFor();
    await page.getByRole("status").filter({ hasText: "Hold confirmed: booked" }).waitFor();

    await entry.getByRole("button", { name: "Cancel booking" }).click();
    await entry.waitFor({ state: "detached" });
    await page.getByRole("region", { name: "My bookings" }).getByText("No upcoming bookings").waitFor();
    expect(await call("GET", "/bookings", { token: person.token })).toMatchObject({ body: [{ id: hold.body.id, status: "CANCELLED" }] });
    await spotsRead(await showSlot(page, slot), "3 spots left");
  });

  it("Reschedule offers the other upcoming slots of the same category with a free place, and moves the booking to the one chosen", async () => {
    const [from, to, full, otherCategory] = await Promise.all([newSlot(2), newSlot(2), newSlot(1), newSlot(2, VENUE)]);
    const [person, rival] = await Promise.all([newAccount("move"), newAccount("rival")]);
    await book(rival.token, full.id);
    const booking = await book(person.token, from.id);
    const { page } = await newVisitor({ viewport: LAPTOP });
    await logIn(page, person.email, person.password);
    const entry = entryOf(page, booking.id);
    await entry.getByRole("button", { name: "Reschedule" }).click();
    const target = entry.getByLabel("Move to");
    await target.waitFor();
    const offered = await target.locator("option").evaluateAll((options) => options.map((option) => Number((option as HTMLOptionElement).value)));
    expect(offered).toContain(to.id);
    expect(offered).not.toContain(from.id);
    expect(offered).not.toContain(full.id);
    expect(offered).not.toContain(otherCategory.id);
    await expectAccessible(page, "the reschedule form");

    await target.selectOption(String(to.id));
    await entry.getByRole("button", { name: "Move booking" }).click();
    await page.getByRole("status").filter({ hasText: "Booking moved" }).waitFor();
    await entry.waitFor({ state: "detached" });
    const { body } = await call<{ id: number; time_slot_id: number; status: string; rescheduled_to: number | null }[]>("GET", "/bookings", { token: person.token });
    const moved = body.find((entry) => entry.time_slot_id === to.id);
    expect(moved).toMatchObject({ status: "BOOKED" });
    expect(body.find((entry) => entry.id === booking.id)).toMatchObject({ status: "CANCELLED", rescheduled_to: moved!.id });
    await entryOf(page, moved!.id).getByText("Booked", { exact: true }).waitFor();
  });

  it("follows the person's entries live: a waitlist place turns Booked within seconds of the booker cancelling", async () => {
    const slot = await newSlot(1);
    const [first, waiter] = await Promise.all([newAccount("first"), newAccount("waiter")]);
    const booking = await book(first.token, slot.id);
    const waiting = await call<{ id: number }>("POST", "/bookings", { token: waiter.token, json: { time_slot_id: slot.id, waitlist: true } });
    const { page } = await newVisitor({ viewport: LAPTOP });
    await logIn(page, waiter.email, waiter.password);
    const entry = entryOf(page, waiting.body.id);
    await entry.getByText("On the waitlist (position 1)").waitFor();
    await expect.poll(() => page.evaluate(() => document.querySelectorAll("[data-booking-id]").length)).toBe(1);

    expect((await call("DELETE", `/bookings/${booking.id}`, { token: first.token })).status).toBe(200);
    // Well before the 10 s revalidation: the slot's socket says a place changed hands.
    await entry.getByText("Booked", { exact: true }).waitFor({ timeout: 4_000 });
  });

  it("en-US times stay on one line inside their card at 1280×800, and an empty day is no taller than its own content", async () => {
    // The longest en-US range there is, on a day of its own next week.
    const late = await newSlot(4, WORKSHOP, berlinTime(7, "22:55"));
    const person = await newAccount("layout");
    const booking = await book(person.token, late.id);
    const { page } = await newVisitor({ viewport: LAPTOP });
    await logIn(page, person.email, person.password);
    const card = await showSlot(page, late);
    expect(await card.locator(".time").textContent()).toBe("10:55 PM–11:55 PM");
    await entryOf(page, booking.id).locator(".time").filter({ hasText: "10:55 PM–11:55 PM" }).waitFor();

    const layout = await page.evaluate(() => {
      const times = [...document.querySelectorAll<HTMLElement>(".time")].map((time) => {
        const box = time.closest(".slot, .entry-item")!.getBoundingClientRect();
        const rects = time.getClientRects();
        return { text: time.textContent, lines: rects.length, inside: rects[0].right <= box.right - 4 };
      });
      const days = [...document.querySelectorAll<HTMLElement>(".day")].map((day) => ({ empty: day.querySelector(".slots") === null, height: day.offsetHeight }));
      return { times, days };
    });
    expect(layout.times.length).toBeGreaterThan(1);
    for (const time of layout.times) expect(time, `"${time.text}" on one line inside its card`).toMatchObject({ lines: 1, inside: true });
    const tallest = Math.max(...layout.days.map((day) => day.height));
    const empty = layout.days.filter((day) => day.empty);
    expect(empty.length).toBeGreaterThan(0);
    for (const day of empty) expect(day.height, "an empty day's height").toBeLessThan(Math.min(tallest, 120));
    await screenshot(page, "week-en-us-1280x800");
  });

  it("the page describes itself to search engines and link previews (meta description)", async () => {
    const { page } = await newVisitor();
    const description = await page.locator('meta[name="description"]').getAttribute("content");
    expect(description?.length).toBeGreaterThanOrEqual(50);
    expect(description?.length).toBeLessThanOrEqual(160);
  });
});
