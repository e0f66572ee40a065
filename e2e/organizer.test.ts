// The organizer's side of the page in a real browser (issue 20, point 5): an opened slot's roster
// with check-in and its CSV, the catalogue of categories, and nothing of it for anyone else.
import { readFileSync } from "node:fs";
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  adminToken,
  book,
  call,
  chromiumMissing,
  demoAdmin,
  expectAccessible,
  fitsWidth,
  logIn,
  newAccount,
  newSlot,
  PHONE,
  screenshot,
  showSlot,
  spotsRead,
  visitorsOfBlock,
  type Slot,
} from "./helpers";

type RosterEntry = { id: number; email: string; status: string; position?: number; checked_in_at: string | null };
type Category = { id: number; name: string };

const CSV_HEADER = "id,user_id,email,status,position,expires_at,created_at,checked_in_at";
const IN_USE = "The category has slots that have not ended: delete or move them first";

/** The slot's card, opened (its details shown), and the roster in it. */
async function openRoster(page: Page, slot: Slot): Promise<{ card: Locator; roster: Locator }> {
  const card = await showSlot(page, slot);
  await card.getByRole("button", { expanded: false }).click();
  const roster = card.getByRole("region", { name: "Roster" });
  await roster.waitFor();
  return { card, roster };
}

const rosterOf = async (slot: Slot) => (await call<RosterEntry[]>("GET", `/admin/slots/${slot.id}/bookings`, { token: await adminToken() })).body;
const categoryIds = async () => (await call<Category[]>("GET", "/categories")).body.map((category) => category.id);
const isFocused = (locator: Locator) => locator.evaluate((element) => element === document.activeElement);

describe.skipIf(chromiumMissing)("the organizer's side of the page", () => {
  const { newVisitor } = visitorsOfBlock();

  it("an admin who opens a slot sees its roster: booked with a check-in box each, held with its expiry, the waitlist in order; axe finds nothing", async () => {
    const slot = await newSlot(2);
    const [booker, holder, first, second] = await Promise.all(["booker", "holder", "first", "second"].map((name) => newAccount(name)));
    await book(booker.token, slot.id);
    const hold = await call<{ expires_at: string }>("POST", "/bookings", { token: holder.token, json: { time_slot_id: slot.id, hold: true } });
    expect(hold.status).toBe(201);
    for (const waiter of [first, second]) {
      expect((await call("POST", "/bookings", { token: waiter.token, json: { time_slot_id: slot.id, waitlist: true } })).status).toBe(202);
    }

    const { page } = await newVisitor();
    await logIn(page, demoAdmin.email, demoAdmin.password);
    const { roster } = await openRoster(page, slot);
    const box = roster.getByRole("checkbox", { name: `${booker.email} checked in` });
    await box.waitFor();
    expect(await box.isChecked()).toBe(false);
    await roster.getByRole("heading", { name: "Booked (1) · 0 checked in" }).waitFor();
    const expiry = await page.evaluate((iso) => new Date(iso).toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" }), hold.body.expires_at);
    await roster.locator(".roster-entry").filter({ hasText: holder.email }).getByText(`held until ${expiry}`).waitFor();
    expect(await roster.getByRole("checkbox").count(), "only BOOKED entries can be checked in").toBe(1);
    expect(await roster.locator("ol > li").allTextContents()).toEqual([`1. ${first.email}`, `2. ${second.email}`]);

    await expectAccessible(page, "the admin view with a roster open", { every: true });
    await screenshot(page, "roster-desktop");
    const phone = await newVisitor({ viewport: PHONE });
    await logIn(phone.page, demoAdmin.email, demoAdmin.password);
    await (await openRoster(phone.page, slot)).roster.getByRole("checkbox").waitFor();
    expect(await fitsWidth(phone.page)).toBe(true);
    await screenshot(phone.page, "roster-390");
  });

  it("a booking made elsewhere shows in the open roster at once (live), and the page's new render leaves the keyboard focus where it was", async () => {
    const slot = await newSlot(3);
    const person = await newAccount("late");
    const { page } = await newVisitor();
    await logIn(page, demoAdmin.email, demoAdmin.password);
    const { card, roster } = await openRoster(page, slot);
    await roster.getByText("No one has booked yet.").waitFor();
    const field = page.getByLabel("New category");
    await field.focus();
    await page.keyboard.type("Pil");
    await book(person.token, slot.id);
    await spotsRead(card, "2 spots left", 3_000); // the live push, well before the 10 s revalidation
    await roster.getByRole("checkbox", { name: `${person.email} checked in` }).waitFor({ timeout: 3_000 });
    expect(await isFocused(field), "focus stays in the field being typed in").toBe(true);
    await page.keyboard.type("ates");
    expect(await field.inputValue()).toBe("Pilates");
  });

  it("checks a booking in with the keyboard: the box stays checked after a reload and the API has checked_in_at; unchecking undoes it", async () => {
    const slot = await newSlot(3);
    const person = await newAccount("attendee");
    const booking = await book(person.token, slot.id);
    const { page } = await newVisitor();
    await logIn(page, demoAdmin.email, demoAdmin.password);
    let { roster } = await openRoster(page, slot);
    let box = roster.getByRole("checkbox", { name: `${person.email} checked in` });
    await box.focus();
    await page.keyboard.press("Space");
    await roster.getByRole("status").filter({ hasText: `${person.email} checked in` }).waitFor();
    await roster.getByRole("heading", { name: "Booked (1) · 1 checked in" }).waitFor();
    expect(await box.isChecked()).toBe(true);
    expect(await isFocused(box), "focus stays on the box").toBe(true);
    expect((await rosterOf(slot)).find((entry) => entry.id === booking.id)?.checked_in_at).toEqual(expect.any(String));

    await page.reload();
    await page.getByRole("button", { name: "Log out" }).waitFor();
    ({ roster } = await openRoster(page, slot));
    box = roster.getByRole("checkbox", { name: `${person.email} checked in` });
    await box.and(page.locator(":checked")).waitFor();

    await box.uncheck();
    await roster.getByRole("status").filter({ hasText: `Check-in of ${person.email} undone` }).waitFor();
    expect(await box.isChecked()).toBe(false);
    expect((await rosterOf(slot)).find((entry) => entry.id === booking.id)?.checked_in_at).toBeNull();
  });

  it("Download CSV saves slot-<id>-roster.csv, fetched with the token: the header row and the attendee's row", async () => {
    const slot = await newSlot(3);
    const person = await newAccount("csv");
    const booking = await book(person.token, slot.id);
    const { page } = await newVisitor();
    await logIn(page, demoAdmin.email, demoAdmin.password);
    const { roster } = await openRoster(page, slot);
    const [download] = await Promise.all([page.waitForEvent("download"), roster.getByRole("button", { name: "Download CSV" }).click()]);
    expect(download.suggestedFilename()).toBe(`slot-${slot.id}-roster.csv`);
    const lines = readFileSync(await download.path(), "utf8").split("\r\n");
    expect(lines[0]).toBe(CSV_HEADER);
    expect(lines[1].split(",").slice(0, 4)).toEqual([String(booking.id), expect.any(String), person.email, "BOOKED"]);
    expect(lines.filter((line) => line !== "")).toHaveLength(2);
    await roster.getByRole("status").filter({ hasText: `The roster was downloaded as slot-${slot.id}-roster.csv` }).waitFor();
  });

  it("adds a category, renames it inline (a taken name shows the 409 text), removal of one in use shows the 409 text, removal of an unused one removes it", async () => {
    const suffix = Date.now().toString(36);
    const token = await adminToken();
    const create = async (name: string) => (await call<Category>("POST", "/admin/categories", { token, json: { name } })).body;
    const used = await create(`Choir ${suffix}`);
    await newSlot(4, used.id);
    const { page } = await newVisitor({ expectedStatuses: [409] });
    await logIn(page, demoAdmin.email, demoAdmin.password);
    const panel = page.getByRole("region", { name: "Manage categories" });
    const item = (category: Category) => panel.locator(`[data-category-id="${category.id}"]`);

    await panel.getByLabel("New category").fill(`Pottery ${suffix}`);
    await panel.getByLabel("New category").press("Enter");
    await page.getByRole("status").filter({ hasText: `Category Pottery ${suffix} added` }).waitFor();
    const spare = (await call<Category[]>("GET", "/categories")).body.find((category) => category.name === `Pottery ${suffix}`)!;
    expect(spare, "the category added through the form").toBeDefined();
    await item(spare).waitFor();

    await panel.getByRole("button", { name: `Rename ${spare.name}` }).click();
    await panel.getByLabel(`New name for ${spare.name}`).press("Escape"); // Escape leaves the name as it was
    await expect.poll(() => isFocused(panel.getByRole("button", { name: `Rename ${spare.name}` }))).toBe(true);

    await panel.getByRole("button", { name: `Rename ${spare.name}` }).click();
    const input = panel.getByLabel(`New name for ${spare.name}`);
    await expect.poll(() => isFocused(input)).toBe(true);
    await input.fill("Workshop");
    await input.press("Enter");
    await item(spare).getByRole("alert").filter({ hasText: 'Category "Workshop" already exists' }).waitFor();
    await screenshot(page, "categories-admin-rename-refused");
    const renamed = `Ceramics ${suffix}`;
    await input.fill(renamed);
    await input.press("Enter");
    await item(spare).locator(".category-name").filter({ hasText: renamed }).waitFor();
    await page.getByRole("group", { name: "Categories" }).getByLabel(renamed).waitFor();
    expect(await page.getByRole("form", { name: "New slot" }).getByLabel("Category").locator("option").allTextContents()).toContain(renamed);
    await expect.poll(() => isFocused(panel.getByRole("button", { name: `Rename ${renamed}` }))).toBe(true);
    await screenshot(page, "categories-admin");

    page.once("dialog", (dialog) => void dialog.accept());
    await panel.getByRole("button", { name: `Remove ${used.name}` }).click();
    await item(used).getByRole("alert").filter({ hasText: IN_USE }).waitFor();
    expect(await categoryIds()).toContain(used.id);

    page.once("dialog", (dialog) => void dialog.accept());
    await panel.getByRole("button", { name: `Remove ${renamed}` }).click();
    await item(spare).waitFor({ state: "detached" });
    expect(await page.getByRole("group", { name: "Categories" }).getByLabel(renamed).count()).toBe(0);
    expect(await categoryIds()).not.toContain(spare.id);
    await item(used).waitFor(); // the one in use stays
  });

  it("a removed category's past slot still names it on its card, as archived; the picker offers it no more", async () => {
    const suffix = Date.now().toString(36);
    const token = await adminToken();
    const { body: gone } = await call<Category>("POST", "/admin/categories", { token, json: { name: `Fencing ${suffix}` } });
    // Ended a minute ago: in the week the page opens on (but in a week's first two minutes).
    const end = new Date(Date.now() - 60_000);
    const start = new Date(end.getTime() - 60_000);
    const { body: slot } = await call<Slot>("POST", "/admin/slots", {
      token,
      json: { category_id: gone.id, start_time: start.toISOString(), end_time: end.toISOString(), max_capacity: 2 },
    });
    expect((await call("DELETE", `/admin/categories/${gone.id}`, { token })).status).toBe(200);
    const { page } = await newVisitor();
    await logIn(page, demoAdmin.email, demoAdmin.password);
    const card = await showSlot(page, slot);
    await card.getByText(`Fencing ${suffix} (archived)`).waitFor();
    expect(await page.getByRole("group", { name: "Categories" }).getByLabel(`Fencing ${suffix}`).count()).toBe(0);
  });

  it("a regular user who opens a slot sees no roster, no check-in, no CSV and no category controls, and calls no admin route", async () => {
    const slot = await newSlot(2);
    await book((await newAccount("someone")).token, slot.id);
    const person = await newAccount("regular");
    const { page } = await newVisitor();
    const adminCalls: string[] = [];
    page.on("request", (request) => new URL(request.url()).pathname.startsWith("/admin/") && adminCalls.push(request.url()));
    await logIn(page, person.email, person.password);
    const card = await showSlot(page, slot);
    await card.getByRole("button", { expanded: false }).click();
    await card.getByRole("link", { name: "Add to calendar" }).waitFor();
    expect(await card.getByRole("region", { name: "Roster" }).count()).toBe(0);
    expect(await card.getByRole("checkbox").count()).toBe(0);
    expect(await page.getByRole("button", { name: "Download CSV" }).count()).toBe(0);
    expect(await page.getByRole("region", { name: "Manage categories" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /^(Rename|Remove) / }).count()).toBe(0);
    expect(adminCalls).toEqual([]);
  });
});
