// The account menu of the booking page (web/account.tsx) in a real browser: change the password,
// sign out everywhere, download my data, delete my account.
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { book, call, chromiumMissing, expectAccessible, fitsWidth, logIn, newAccount, newSlot, PHONE, screenshot, visitorsOfBlock } from "./helpers";

describe.skipIf(chromiumMissing)("the account menu", () => {
  const { newVisitor } = visitorsOfBlock();
  const account = (page: Page) => page.getByRole("region", { name: "Your account" });

  it("changes the password: a wrong current one is shown as such; the right one keeps the session, and the new password logs in", async () => {
    const person = await newAccount("password");
    const { page } = await newVisitor({ expectedStatuses: [401] });
    await logIn(page, person.email, person.password);
    const menu = account(page);
    await menu.getByRole("button", { name: "Change password" }).click();
    await menu.getByLabel("Current password").fill("not my password");
    await menu.getByLabel("New password").fill("my new long passphrase");
    await menu.getByRole("button", { name: "Save new password" }).click();
    await menu.getByRole("alert").filter({ hasText: "Wrong password" }).waitFor();
    await expectAccessible(page, "the change-password form");

    await menu.getByLabel("Current password").fill(person.password);
    await menu.getByRole("button", { name: "Save new password" }).click();
    await menu.getByRole("status").filter({ hasText: "Password changed" }).waitFor();
    await page.getByRole("button", { name: "Log out" }).waitFor();
    expect((await call("GET", "/user/preferences", { token: person.token })).status).toBe(401);
    expect((await call("POST", "/login", { json: { email: person.email, password: "my new long passphrase" } })).status).toBe(200);
  });

  it("signs out everywhere: this page returns to the login form with the reason, and another device's token is refused", async () => {
    const person = await newAccount("everywhere");
    // A request of the page still on its way with the old token is refused 401, as it should be.
    const { page } = await newVisitor({ expectedStatuses: [401] });
    await logIn(page, person.email, person.password);
    await account(page).getByRole("button", { name: "Sign out everywhere" }).click();
    await page.locator("#auth-error").filter({ hasText: "Signed out on every device" }).waitFor();
    expect((await call("GET", "/user/preferences", { token: person.token })).status).toBe(401);
  });

  it("downloads my data as a JSON file with the account and its bookings", async () => {
    const person = await newAccount("download");
    const slot = await newSlot(2);
    await book(person.token, slot.id);
    const { page } = await newVisitor();
    await logIn(page, person.email, person.password);
    const [download] = await Promise.all([page.waitForEvent("download"), account(page).getByRole("button", { name: "Download my data" }).click()]);
    expect(download.suggestedFilename()).toBe("slotbook-export.json");
    const data = JSON.parse(readFileSync((await download.path())!, "utf8")) as { account: { email: string }; bookings: { time_slot_id: number }[] };
    expect(data.account.email).toBe(person.email);
    expect(data.bookings.map((booking) => booking.time_slot_id)).toEqual([slot.id]);
  });

  it("deletes the account after a confirmation that names what happens to the bookings; accessible, fits 390 px", async () => {
    const person = await newAccount("leaving");
    const slot = await newSlot(1);
    await book(person.token, slot.id);
    const { page } = await newVisitor({ viewport: PHONE, expectedStatuses: [401] });
    await logIn(page, person.email, person.password);
    const menu = account(page);
    await menu.getByRole("button", { name: "Delete my account" }).click();
    const confirmation = menu.getByRole("form", { name: "Delete my account" });
    await confirmation.getByText("cancels your 1 upcoming booking (holds and waitlist places included)").waitFor();
    await confirmation.getByText("Past bookings stay in the records, without your email.").waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await expectAccessible(page, "the delete-account confirmation");
    await screenshot(page, "delete-account-390");

    await confirmation.getByLabel("Your password, to confirm").fill("not my password");
    await confirmation.getByRole("button", { name: "Delete my account permanently" }).click();
    await confirmation.getByRole("alert").filter({ hasText: "Wrong password" }).waitFor();
    expect((await call<{ available_spots: number }>("GET", `/slots/${slot.id}`)).body.available_spots).toBe(0);

    await confirmation.getByLabel("Your password, to confirm").fill(person.password);
    await confirmation.getByRole("button", { name: "Delete my account permanently" }).click();
    await page.locator("#auth-error").filter({ hasText: "Your account was deleted" }).waitFor();
    expect((await call<{ available_spots: number }>("GET", `/slots/${slot.id}`)).body.available_spots).toBe(1);
    expect((await call("POST", "/login", { json: { email: person.email, password: person.password } })).status).toBe(401);
  });
});
