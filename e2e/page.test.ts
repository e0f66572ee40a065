// The booking page at / in a real browser, used the way a person uses it.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  book,
  visitorsOfBlock,
  call,
  chromiumMissing,
  demoAdmin,
  demoUser,
  expectAccessible,
  fitsWidth,
  logIn,
  newAccount,
  newSlot,
  PHONE,
  screenshot,
  showSlot,
  spotsRead,
  TIME_ZONE,
} from "./helpers";

/** The page revalidates the open week this often (web/hooks/use-revalidated.ts); a second browser sees a change within it. */
const REVALIDATE_MS = 10_000;

describe.skipIf(chromiumMissing)("the booking page", () => {
  const { newVisitor } = visitorsOfBlock();

  it("signed out: labelled Email and Password fields, Log in and Create account, accessible, fits 390 px", async () => {
    const { page } = await newVisitor();
    await page.getByLabel("Email").waitFor();
    await page.getByLabel("Password").waitFor();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    await page.getByRole("button", { name: "Create account" }).waitFor();
    await expectAccessible(page, "the signed-out page");
    await screenshot(page, "signed-out-desktop");

    const phone = await newVisitor({ viewport: PHONE });
    expect(await fitsWidth(phone.page)).toBe(true);
    await screenshot(phone.page, "signed-out-390");
  });

  it("shows the API's refusal in words next to the form: a wrong password, then 'Too many attempts, try again in N minutes'", async () => {
    const { page } = await newVisitor({ expectedStatuses: [401, 429] });
    const alert = page.locator("#auth-error");
    for (let attempt = 1; attempt <= 5; attempt++) {
      await page.getByLabel("Email").fill("nobody-here@example.com");
      await page.getByLabel("Password").fill(`wrong-password-${attempt}`);
      await page.getByRole("button", { name: "Log in" }).click();
      await alert.filter({ hasText: "Incorrect email or password" }).waitFor();
      await page.getByRole("button", { name: "Log in" }).and(page.locator(":enabled")).waitFor();
    }
    await page.getByRole("button", { name: "Log in" }).click();
    await alert.filter({ hasText: /^Too many attempts, try again in 1[45] minutes$/ }).waitFor();
  });

  it("creates an account, and the categories chosen are saved and restored at the next login", async () => {
    const { page } = await newVisitor();
    const email = `page-${Date.now().toString(36)}@example.com`;
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("a fine long password");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("button", { name: "Log out" }).waitFor();
    await page.getByRole("status").filter({ hasText: `Account created; logged in as ${email}` }).waitFor();

    await page.getByRole("group", { name: "Categories" }).getByLabel("Workshop").check();
    await page.getByRole("status").filter({ hasText: "Categories saved: 1 chosen" }).waitFor();
    await page.getByRole("group", { name: "Categories" }).getByLabel("Venue").check();
    await page.getByRole("status").filter({ hasText: "Categories saved: 2 chosen" }).waitFor();
    const token = await tokenOf(page);
    expect(await call("GET", "/user/preferences", { token })).toMatchObject({ body: { preferred_categories: [3, 4] } });

    await page.getByRole("button", { name: "Log out" }).click();
    await logIn(page, email, "a fine long password");
    const group = page.getByRole("group", { name: "Categories" });
    await group.getByLabel("Workshop").and(page.locator(":checked")).waitFor();
    expect(await group.getByLabel("Venue").isChecked()).toBe(true);
    expect(await group.getByLabel("Fitness").isChecked()).toBe(false);
  });

  it("books a slot, 'spots left' drops here and in a second browser within 10 s without reloading, then cancels", async () => {
    const slot = await newSlot(3);
    const [booker, watcher] = await Promise.all([newAccount("booker"), newVisitor()]);
    // What the watcher's revalidations of the week send and get back.
    const polls: { etag: string | undefined; ifNoneMatch: string | undefined }[] = [];
    watcher.page.on("response", async (response) => {
      if (new URL(response.url()).pathname !== "/slots") return;
      polls.push({ etag: response.headers().etag, ifNoneMatch: (await response.request().allHeaders())["if-none-match"] });
    });
    await logIn(watcher.page, demoUser.email, demoUser.password);
    const watched = await showSlot(watcher.page, slot);
    await spotsRead(watched, "3 spots left");

    const { page } = await newVisitor();
    await logIn(page, booker.email, booker.password);
    const card = await showSlot(page, slot);
    await spotsRead(card, "3 spots left");
    // Shown in the browser's own time zone.
    const time = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: TIME_ZONE }).format(new Date(slot.start_time));
    expect(await card.locator(".time").textContent()).toMatch(new RegExp(`^${time}`));
    await page.getByText(`Times are in your time zone (${TIME_ZONE})`).waitFor();

    await card.getByRole("button", { name: "Book" }).click();
    await spotsRead(card, "2 spots left");
    await card.getByText("Booked", { exact: true }).waitFor();
    const booked = Date.now();
    await spotsRead(watched, "2 spots left", REVALIDATE_MS);
    console.log(`second browser saw the booking after ${((Date.now() - booked) / 1000).toFixed(1)} s`);
    expect(await watcher.page.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1); // never reloaded
    // Where the API sends ETags (issue 8), each revalidation asks with the last one.
    const tagged = polls.findIndex((poll) => poll.etag !== undefined);
    if (tagged >= 0) expect(polls.slice(tagged + 1).map((poll) => poll.ifNoneMatch)).toContain(polls[tagged].etag);

    await card.getByRole("button", { name: "Cancel booking" }).click();
    await spotsRead(card, "3 spots left");
    await card.getByRole("button", { name: "Book" }).waitFor();
    expect(await call<unknown[]>("GET", "/bookings", { token: booker.token })).toMatchObject({ body: [{ time_slot_id: slot.id, status: "CANCELLED" }] });
  });

  it("shows why a booking failed on the slot and keeps the view", async () => {
    const slot = await newSlot(1);
    const [person, rival] = await Promise.all([newAccount("late"), newAccount("early")]);
    const { page } = await newVisitor({ expectedStatuses: [409] });
    await logIn(page, person.email, person.password);
    const card = await showSlot(page, slot);
    await spotsRead(card, "1 spot left");
    await book(rival.token, slot.id); // the last place goes while the page still shows it

    await card.getByRole("button", { name: "Book" }).click();
    await card.getByRole("alert").filter({ hasText: "Slot is full" }).waitFor();
    await spotsRead(card, "Full");
    await page.getByRole("heading", { name: /^Week of / }).waitFor();
  });

  it("books and cancels with the keyboard alone, with a visible focus ring", async () => {
    const slot = await newSlot(5);
    const person = await newAccount("keys");
    const { page } = await newVisitor();
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent || "");
    for (let presses = 0; (await focused()) !== "email"; presses++) {
      expect(presses).toBeLessThan(10);
      await page.keyboard.press("Tab");
    }
    await page.keyboard.type(person.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(person.password);
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Log out" }).waitFor();
    const card = await showSlot(page, slot);
    await spotsRead(card, "5 spots left");

    const bookButton = card.getByRole("button", { name: "Book" });
    for (let presses = 0; !(await bookButton.evaluate((button) => button === document.activeElement)); presses++) {
      expect(presses, "Tab presses to reach the slot's Book button").toBeLessThan(300);
      await page.keyboard.press("Tab");
    }
    const ring = await bookButton.evaluate((button) => getComputedStyle(button).outlineStyle);
    expect(ring).not.toBe("none");
    await page.keyboard.press("Enter");
    await spotsRead(card, "4 spots left");
    // Focus moves to the slot's new action once the view is refreshed (the live count may show
    // first), so Enter again cancels.
    const cancel = card.getByRole("button", { name: "Cancel booking" });
    await cancel.waitFor();
    await expect.poll(() => cancel.evaluate((button) => button === document.activeElement), { timeout: 5_000 }).toBe(true);
    await page.keyboard.press("Enter");
    await spotsRead(card, "5 spots left");
  });

  it("week view: own bookings marked, today highlighted, accessible, fits 390 px in light and dark; screenshots", async () => {
    const [slot, full] = await Promise.all([newSlot(8), newSlot(1)]);
    await book((await newAccount("shot")).token, full.id);
    const { page } = await newVisitor();
    await logIn(page, demoUser.email, demoUser.password);
    const card = await showSlot(page, slot);
    await card.getByRole("button", { name: "Book" }).click();
    await card.getByText("Booked", { exact: true }).waitFor();
    await spotsRead(card, "7 spots left");
    await spotsRead(page.locator(`[data-slot-id="${full.id}"]`), "Full");
    await page.getByRole("button", { name: "This week" }).click();
    await page.locator('[aria-current="date"]').filter({ hasText: "Today" }).waitFor();
    await expectAccessible(page, "the week view");
    await screenshot(page, "week-desktop");

    for (const colorScheme of ["light", "dark"] as const) {
      const phone = await newVisitor({ viewport: PHONE, colorScheme });
      await logIn(phone.page, demoUser.email, demoUser.password);
      await (await showSlot(phone.page, slot)).getByText("Booked", { exact: true }).waitFor();
      expect(await fitsWidth(phone.page)).toBe(true);
      await expectAccessible(phone.page, `the week view at 390 px, ${colorScheme}`);
      await screenshot(phone.page, `week-390-${colorScheme}`);
    }
  });

  it("the demo admin creates a slot with the New slot form, changes its capacity and deletes it", async () => {
    const { page } = await newVisitor();
    await logIn(page, demoAdmin.email, demoAdmin.password);
    const form = page.getByRole("form", { name: "New slot" });
    await form.waitFor();
    await expectAccessible(page, "the admin form");
    const start = new Date(Date.now() + 2 * 86_400_000);
    const local = (date: Date) =>
      new Intl.DateTimeFormat("sv-SE", { timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
        .format(date)
        .replace(" ", "T");
    const startLocal = `${local(start).slice(0, 10)}T07:15`;
    await form.getByLabel("Category").selectOption({ label: "Venue" });
    await form.getByLabel("Start").fill(startLocal);
    await form.getByLabel("End").fill(`${startLocal.slice(0, 10)}T08:45`);
    await form.getByLabel("Capacity").fill("7");
    await form.getByRole("button", { name: "Create slot" }).click();
    await page.getByRole("status").filter({ hasText: "Slot created" }).waitFor();

    const { body: slots } = await call<{ id: number; category_id: number; max_capacity: number; start_time: string }[]>("GET", "/slots?categories=4");
    const created = slots.find((slot) => slot.max_capacity === 7 && local(new Date(slot.start_time)) === startLocal);
    expect(created, "the slot created through the form, at 07:15 Berlin time").toBeDefined();
    const card = page.locator(`[data-slot-id="${created!.id}"]`);
    await spotsRead(card, "7 spots left");
    await screenshot(page, "admin-desktop");

    await card.getByRole("button", { expanded: false }).click();
    await card.getByLabel("New capacity").fill("9");
    await card.getByRole("button", { name: "Save capacity" }).click();
    await spotsRead(card, "9 spots left");

    page.once("dialog", (dialog) => void dialog.accept());
    await card.getByRole("button", { name: "Delete slot" }).click();
    await card.waitFor({ state: "detached" });
    const after = await call<{ id: number }[]>("GET", "/slots?categories=4");
    expect(after.body.map((slot) => slot.id)).not.toContain(created!.id);
  });

  it("joins the waitlist of a full slot and is promoted when the booker cancels", async () => {
    const slot = await newSlot(1);
    const [first, waiter] = await Promise.all([newAccount("first"), newAccount("waiter")]);
    const booking = await book(first.token, slot.id);
    const { page } = await newVisitor();
    await logIn(page, waiter.email, waiter.password);
    const card = await showSlot(page, slot);
    await spotsRead(card, "Full");
    await card.getByRole("button", { name: "Join waitlist" }).click();
    await card.getByText("On the waitlist (position 1)").waitFor();

    expect((await call("DELETE", `/bookings/${booking.id}`, { token: first.token })).status).toBe(200);
    await card.getByText("Booked", { exact: true }).waitFor({ timeout: REVALIDATE_MS + 2_000 });
    await card.getByRole("button", { name: "Cancel booking" }).waitFor();
  });

  it("pushes a changed count over the slot's live WebSocket at once, one socket per watched slot", async () => {
    const [slot, other] = await Promise.all([newSlot(4), newSlot(4)]);
    const [watcher, person] = await Promise.all([newAccount("watcher"), newAccount("live")]);
    const { page } = await newVisitor();
    const sockets: string[] = [];
    page.on("websocket", (socket) => sockets.push(new URL(socket.url()).pathname));
    await logIn(page, watcher.email, watcher.password); // holds no booking, so watches nothing yet
    const card = await showSlot(page, slot);
    await showSlot(page, other);
    await card.getByRole("button", { expanded: false }).click(); // opening a slot watches it
    await expect.poll(() => sockets).toEqual([`/slots/${slot.id}/live`]);

    const sent = Date.now();
    await book(person.token, slot.id);
    await spotsRead(card, "3 spots left", 3_000); // well before the next 10 s revalidation
    console.log(`live push shown after ${Date.now() - sent} ms`);
  });

  it("shows the calendar feed URL and a webcal: link to copy, and an opened slot links its one-off event file", async () => {
    const [person, slot] = await Promise.all([newAccount("feed"), newSlot(2)]);
    const { page } = await newVisitor();
    await logIn(page, person.email, person.password);
    const card = await showSlot(page, slot);
    await card.getByRole("button", { expanded: false }).click();
    const event = card.getByRole("link", { name: "Add to calendar" });
    expect(await event.getAttribute("href")).toBe(`/slots/${slot.id}/event.ics`);
    const file = await fetch(new URL(`/slots/${slot.id}/event.ics`, page.url()));
    expect({ status: file.status, disposition: file.headers.get("Content-Disposition") }).toEqual({
      status: 200,
      disposition: `attachment; filename="slot-${slot.id}.ics"`,
    });

    const section = page.getByRole("region", { name: "Subscribe in a calendar" });
    await section.getByRole("button", { name: "Show my feed link" }).click();
    const url = await section.getByLabel("Feed URL").inputValue();
    expect(url).toMatch(/^https?:\/\//);
    expect(await section.getByRole("link", { name: "Open in your calendar app" }).getAttribute("href")).toMatch(/^webcal:\/\//);
    expect((await fetch(url)).status).toBe(200);
  });
});

/** The token the page keeps in sessionStorage (never in a URL). */
async function tokenOf(page: Page): Promise<string> {
  const saved = await page.evaluate(() => sessionStorage.getItem("slotbook.session"));
  expect(page.url()).not.toMatch(/token|eyJ/);
  return (JSON.parse(saved ?? "{}") as { token: string }).token;
}
