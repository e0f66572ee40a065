// Booking policies on the page in a real browser (issue 21, point 4): a slot's booking window and
// its owner's cancellation deadline said where people decide, on the week's card and in My
// bookings, with the button the API would refuse disabled and described by the sentence that says why.
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { adminToken, book, call, chromiumMissing, expectAccessible, logIn, newAccount, newSlot, screenshot, showSlot, TIME_ZONE, visitorsOfBlock } from "./helpers";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

type Policy = { booking_opens_hours_before?: number; booking_closes_minutes_before?: number; cancel_until_minutes_before?: number };
/** A slot as GET /slots shows it, with its policy's instants. */
type PolicySlot = Awaited<ReturnType<typeof newSlot>> & { booking_opens_at: string | null; booking_closes_at: string | null; cancellable_until: string | null };

let categoriesMade = 0;

/** A new category with `policy`, made by the demo admin; its name is unique to this run. */
async function categoryWith(policy: Policy): Promise<number> {
  categoriesMade += 1;
  const name = `Policy ${categoriesMade} ${Date.now().toString(36)}`;
  const { status, body } = await call<{ id: number }>("POST", "/admin/categories", { token: await adminToken(), json: { name, ...policy } });
  expect(status).toBe(201);
  return body.id;
}

/** A slot of `categoryId` with 5 places, starting `fromNow` ms from now (on a whole minute). */
async function slotIn(categoryId: number, fromNow: number): Promise<PolicySlot> {
  return (await newSlot(5, categoryId, new Date(Math.ceil((Date.now() + fromNow) / MINUTE) * MINUTE))) as PolicySlot;
}

/** "Mon 08:00": the weekday (en-US) and the 24-hour time in the browser's time zone, as the page writes an instant within six days. */
function localMoment(iso: string): string {
  const at = new Date(iso);
  const weekday = new Intl.DateTimeFormat("en-US", { weekday: "short", timeZone: TIME_ZONE }).format(at);
  const time = new Intl.DateTimeFormat("sv-SE", { hour: "2-digit", minute: "2-digit", timeZone: TIME_ZONE }).format(at);
  return `${weekday} ${time}`;
}

/** The texts of the elements that `aria-describedby` of `control` names, in its order. */
const descriptionOf = (control: Locator) =>
  control.evaluate((element) =>
    (element.getAttribute("aria-describedby") ?? "")
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent?.trim() ?? `(no #${id})`),
  );

/** The entry of booking `id` in My bookings. */
const entryOf = (page: Page, id: number): Locator => page.getByRole("region", { name: "My bookings" }).locator(`[data-booking-id="${id}"]`);

/** A new person's page, logged in, showing `slot`'s week; the card of `slot`. */
async function cardFor(newVisitor: ReturnType<typeof visitorsOfBlock>["newVisitor"], slot: PolicySlot, person?: { email: string; password: string }) {
  const visitor = await newVisitor();
  person ??= await newAccount("policy");
  await logIn(visitor.page, person.email, person.password);
  return { page: visitor.page, card: await showSlot(visitor.page, slot) };
}

describe.skipIf(chromiumMissing)("booking policies on the page", () => {
  const { newVisitor } = visitorsOfBlock();

  it("before booking opens, the card says 'Booking opens <weekday> <HH:MM>' in local time and Book is disabled, described by it; axe finds nothing serious", async () => {
    const slot = await slotIn(await categoryWith({ booking_opens_hours_before: 1 }), 3 * HOUR);
    expect(Date.parse(slot.booking_opens_at!)).toBe(Date.parse(slot.start_time) - HOUR);
    const person = await newAccount("early");
    expect(await call("POST", "/bookings", { token: person.token, json: { time_slot_id: slot.id } })).toMatchObject({
      status: 409,
      body: { code: "booking_not_open" },
    });

    const { page, card } = await cardFor(newVisitor, slot, person);
    const sentence = `Booking opens ${localMoment(slot.booking_opens_at!)}`;
    await card.getByText(sentence, { exact: true }).waitFor();
    const bookButton = card.getByRole("button", { name: "Book" });
    expect(await bookButton.isDisabled()).toBe(true);
    expect((await descriptionOf(bookButton)).at(-1)).toBe(sentence);
    await expectAccessible(page, "a card whose booking has not opened");
  });

  it("once booking has closed (120 min before a slot that starts in 1 h), the card says 'Booking closed' and Book is disabled, described by it", async () => {
    const slot = await slotIn(await categoryWith({ booking_closes_minutes_before: 120 }), HOUR);
    expect(Date.parse(slot.booking_closes_at!)).toBeLessThan(Date.now());

    const { card } = await cardFor(newVisitor, slot);
    await card.getByText("Booking closed", { exact: true }).waitFor();
    const bookButton = card.getByRole("button", { name: "Book" });
    expect(await bookButton.isDisabled()).toBe(true);
    expect((await descriptionOf(bookButton)).at(-1)).toBe("Booking closed");
  });

  it("a booked place before its cancellation deadline says 'Free cancellation until <weekday> <HH:MM>' on the card and in My bookings, Cancel and Reschedule enabled", async () => {
    const slot = await slotIn(await categoryWith({ cancel_until_minutes_before: 30 }), 2 * HOUR);
    const person = await newAccount("ahead");
    const booking = await book(person.token, slot.id);
    const sentence = `Free cancellation until ${localMoment(slot.cancellable_until!)}`;

    const { page, card } = await cardFor(newVisitor, slot, person);
    await card.getByText(sentence, { exact: true }).waitFor();
    const cancel = card.getByRole("button", { name: "Cancel booking" });
    expect(await cancel.isEnabled()).toBe(true);
    expect((await descriptionOf(cancel)).at(-1)).toBe(sentence);

    const entry = entryOf(page, booking.id);
    await entry.getByText(sentence, { exact: true }).waitFor();
    expect(await entry.getByRole("button", { name: "Cancel booking" }).isEnabled()).toBe(true);
    expect(await entry.getByRole("button", { name: "Reschedule" }).isEnabled()).toBe(true);
  });

  it("past the cancellation deadline (12 h before a slot in 6 h), Cancel is disabled on the card and Cancel and Reschedule in My bookings, described by 'Cancellation closed'; a hold there may still be released", async () => {
    const category = await categoryWith({ cancel_until_minutes_before: 12 * 60 });
    const [slot, held] = await Promise.all([slotIn(category, 6 * HOUR), slotIn(category, 6 * HOUR + 5 * MINUTE)]);
    const person = await newAccount("late");
    const booking = await book(person.token, slot.id); // booking is open: no window, closes at the start
    const hold = await call<{ id: number }>("POST", "/bookings", { token: person.token, json: { time_slot_id: held.id, hold: true } });
    expect(hold.status).toBe(201);
    expect(await call("DELETE", `/bookings/${booking.id}`, { token: person.token })).toMatchObject({ status: 409, body: { code: "cancellation_closed" } });

    const { page, card } = await cardFor(newVisitor, slot, person);
    await card.getByText("Cancellation closed", { exact: true }).waitFor();
    const cancel = card.getByRole("button", { name: "Cancel booking" });
    expect(await cancel.isDisabled()).toBe(true);
    expect((await descriptionOf(cancel)).at(-1)).toBe("Cancellation closed");

    const entry = entryOf(page, booking.id);
    await entry.getByText("Cancellation closed", { exact: true }).waitFor();
    for (const name of ["Cancel booking", "Reschedule"]) {
      const button = entry.getByRole("button", { name });
      expect(await button.isDisabled(), name).toBe(true);
      expect((await descriptionOf(button)).at(-1), name).toBe("Cancellation closed");
    }
    const heldEntry = entryOf(page, hold.body.id);
    expect(await heldEntry.getByRole("button", { name: "Release hold" }).isEnabled()).toBe(true);
    expect(await heldEntry.locator(".rule").count()).toBe(0);
    await expectAccessible(page, "disabled Cancel and Reschedule past the deadline");
    await screenshot(page, "policy-cancellation-closed");
  });

  it("without a reload, Cancel becomes disabled and the sentence 'Cancellation closed' the moment the deadline passes", async () => {
    const slot = await slotIn(await categoryWith({ cancel_until_minutes_before: 50 }), HOUR);
    const person = await newAccount("clock");
    const booking = await book(person.token, slot.id);
    const { page } = await newVisitor();
    await logIn(page, person.email, person.password);
    // The browser's clock, moved on by the test; the session survives the reload (sessionStorage).
    await page.clock.install();
    await page.reload();
    const card = await showSlot(page, slot);
    const entry = entryOf(page, booking.id);
    const sentence = `Free cancellation until ${localMoment(slot.cancellable_until!)}`;
    await card.getByText(sentence, { exact: true }).waitFor();
    await entry.getByText(sentence, { exact: true }).waitFor();
    expect(await card.getByRole("button", { name: "Cancel booking" }).isEnabled()).toBe(true);

    // A mark on this document: still there at the end, it was never reloaded.
    await page.evaluate(() => (document.documentElement.dataset.policyTest = "same document"));
    await page.clock.fastForward(Date.parse(slot.cancellable_until!) - (await page.evaluate(() => Date.now())) + 1_000);
    await card.getByText("Cancellation closed", { exact: true }).waitFor();
    await entry.getByText("Cancellation closed", { exact: true }).waitFor();
    expect(await card.getByRole("button", { name: "Cancel booking" }).isDisabled()).toBe(true);
    expect(await entry.getByRole("button", { name: "Cancel booking" }).isDisabled()).toBe(true);
    expect(await page.evaluate(() => document.documentElement.dataset.policyTest)).toBe("same document");
  });
});
