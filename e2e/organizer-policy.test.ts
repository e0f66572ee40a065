// A category's booking policy on the organizer's side of the page in a real browser (issue 21): the
// admin's list says each category's rules in words, and its Booking rules form sets them through
// PATCH /admin/categories/{id}, with the API's refusal shown at the category.
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { adminToken, call, chromiumMissing, demoAdmin, expectAccessible, logIn, screenshot, visitorsOfBlock } from "./helpers";

type Rules = {
  booking_opens_hours_before: number | null;
  booking_closes_minutes_before: number | null;
  cancel_until_minutes_before: number | null;
  max_active_per_user: number | null;
};
type Category = { id: number; name: string } & Rules;

const OPENS = "Booking opens (hours before start)";
const CLOSES = "Booking closes (minutes before start)";
const CANCEL = "Free cancellation until (minutes before start)";
const MOST = "Most live bookings per person";

let categoriesMade = 0;

/** A new category with `rules`, made by the demo admin through the API; its name is unique to this run. */
async function categoryWith(rules: Partial<Rules> = {}): Promise<Category> {
  categoriesMade += 1;
  const name = `Rules ${categoriesMade} ${Date.now().toString(36)}`;
  const { status, body } = await call<Category>("POST", "/admin/categories", { token: await adminToken(), json: { name, ...rules } });
  expect(status).toBe(201);
  return body;
}

/** The category's four rules as GET /categories shows them. */
async function rulesOf(category: Category): Promise<Rules> {
  const found = (await call<Category[]>("GET", "/categories")).body.find((each) => each.id === category.id);
  expect(found, `category ${category.id} in GET /categories`).toBeDefined();
  const { booking_opens_hours_before, booking_closes_minutes_before, cancel_until_minutes_before, max_active_per_user } = found!;
  return { booking_opens_hours_before, booking_closes_minutes_before, cancel_until_minutes_before, max_active_per_user };
}

const isFocused = (locator: Locator) => locator.evaluate((element) => element === document.activeElement);

/** The admin's list item of `category`, with its Booking rules button and the form it opens. */
function parts(page: Page, category: Category) {
  const panel = page.getByRole("region", { name: "Manage categories" });
  const item = panel.locator(`[data-category-id="${category.id}"]`);
  return {
    item,
    words: item.locator(".category-policy"),
    button: item.getByRole("button", { name: `Booking rules of ${category.name}` }),
    form: item.getByRole("form", { name: `Booking rules of ${category.name}` }),
  };
}

describe.skipIf(chromiumMissing)("a category's booking rules on the organizer's side of the page", () => {
  const { newVisitor } = visitorsOfBlock();

  async function adminPage(expectedStatuses: number[] = []): Promise<Page> {
    const { page } = await newVisitor({ expectedStatuses });
    await logIn(page, demoAdmin.email, demoAdmin.password);
    return page;
  }

  it("the rules set in a category's Booking rules form are the ones GET /categories shows, and its line says them in words; the focus goes into the form and back; axe finds nothing serious", async () => {
    const category = await categoryWith();
    const page = await adminPage();
    const { item, words, button, form } = parts(page, category);
    await words.filter({ hasText: /^No booking rules$/ }).waitFor();

    await button.click();
    await expect.poll(() => isFocused(form.getByLabel(OPENS)), { message: "the first field takes the focus" }).toBe(true);
    expect(await form.getByLabel(CANCEL).inputValue(), "a new category's default: cancellation until the start").toBe("0");
    await form.getByLabel(OPENS).fill("168");
    await form.getByLabel(CLOSES).fill("60");
    await form.getByLabel(CANCEL).fill("720");
    await form.getByLabel(MOST).fill("3");
    await expectAccessible(page, "the admin's list with a Booking rules form open");
    await form.getByRole("button", { name: "Save rules" }).click();

    await page.getByRole("status").filter({ hasText: `Booking rules of ${category.name} saved` }).waitFor();
    await words.filter({ hasText: /^Opens 168 h before · closes 60 min before · free cancellation until 12 h before · at most 3 per person$/ }).waitFor();
    expect(await form.count(), "the form closes").toBe(0);
    await expect.poll(() => isFocused(button), { message: "the focus goes back to the button" }).toBe(true);
    expect(await rulesOf(category)).toEqual({
      booking_opens_hours_before: 168,
      booking_closes_minutes_before: 60,
      cancel_until_minutes_before: 720,
      max_active_per_user: 3,
    });
    expect(await item.getByRole("alert").count()).toBe(0);
    await expectAccessible(page, "the admin's list with a category's rules in words");
    // Last: a full-page screenshot resizes the viewport, and Chromium's next click may then miss its target.
    await screenshot(page, "category-rules-saved");
  });

  it("a field cleared and saved sets its rule to null (an empty cancellation field: no deadline); Cancel and Escape close the form and change nothing", async () => {
    const category = await categoryWith({ booking_opens_hours_before: 48, booking_closes_minutes_before: 30, cancel_until_minutes_before: 90, max_active_per_user: 2 });
    const page = await adminPage();
    const { words, button, form } = parts(page, category);
    await words.filter({ hasText: /^Opens 48 h before · closes 30 min before · free cancellation until 90 min before · at most 2 per person$/ }).waitFor();

    await button.click();
    await form.getByLabel(MOST).fill("");
    await form.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => isFocused(button), { message: "Cancel gives the focus back to the button" }).toBe(true);
    await button.click();
    await form.getByLabel(OPENS).press("Escape");
    await expect.poll(() => isFocused(button), { message: "Escape gives the focus back to the button" }).toBe(true);
    expect(await rulesOf(category), "nothing saved").toEqual({
      booking_opens_hours_before: 48,
      booking_closes_minutes_before: 30,
      cancel_until_minutes_before: 90,
      max_active_per_user: 2,
    });

    await button.click();
    expect(await form.getByLabel(MOST).inputValue(), "the form shows the rules as they are").toBe("2");
    await form.getByLabel(MOST).fill("");
    await form.getByLabel(CANCEL).fill("");
    await form.getByLabel(CANCEL).press("Enter");
    await page.getByRole("status").filter({ hasText: `Booking rules of ${category.name} saved` }).waitFor();
    await words.filter({ hasText: /^Opens 48 h before · closes 30 min before · cancellation any time, even after the start$/ }).waitFor();
    expect(await rulesOf(category)).toEqual({
      booking_opens_hours_before: 48,
      booking_closes_minutes_before: 30,
      cancel_until_minutes_before: null,
      max_active_per_user: null,
    });

    await button.click();
    for (const label of [OPENS, CLOSES]) await form.getByLabel(label).fill("");
    await form.getByLabel(CANCEL).fill("0");
    await form.getByRole("button", { name: "Save rules" }).click();
    await words.filter({ hasText: /^No booking rules$/ }).waitFor();
    expect(await rulesOf(category)).toEqual({
      booking_opens_hours_before: null,
      booking_closes_minutes_before: null,
      cancel_until_minutes_before: 0,
      max_active_per_user: null,
    });
  });

  it("a booking window that would be empty (opens 1 h, closes 60 min before) shows the API's 422 refusal at the category and changes nothing", async () => {
    const rules: Rules = { booking_opens_hours_before: 24, booking_closes_minutes_before: 30, cancel_until_minutes_before: 0, max_active_per_user: null };
    const category = await categoryWith(rules);
    const page = await adminPage([422]);
    const { item, words, button, form } = parts(page, category);

    await button.click();
    await form.getByLabel(OPENS).fill("1");
    await form.getByLabel(CLOSES).fill("60");
    const [answer] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "PATCH" && new URL(response.url()).pathname === `/admin/categories/${category.id}`),
      form.getByRole("button", { name: "Save rules" }).click(),
    ]);
    expect(answer.status()).toBe(422);
    expect(((await answer.json()) as { code: string }).code).toBe("booking_window_empty");
    await item
      .getByRole("alert")
      .filter({ hasText: "Booking would close before it opens (opens 1 h before the start, closes 60 min before): open it earlier or close it later" })
      .waitFor();
    expect(await form.count(), "the form stays open to correct").toBe(1);
    await expectAccessible(page, "a category's refused booking rules");
    await screenshot(page, "category-rules-refused");
    expect(await rulesOf(category), "nothing changed").toEqual(rules);

    // Escape, not a click: after the full-page screenshot Chromium's next click may miss its target.
    await form.getByLabel(OPENS).press("Escape");
    await words.filter({ hasText: /^Opens 24 h before · closes 30 min before$/ }).waitFor();
    expect(await item.getByRole("alert").count(), "the refusal goes with the form").toBe(0);
  });
});
