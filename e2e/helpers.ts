import { AxeBuilder } from "@axe-core/playwright";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, inject } from "vitest";
import { DEMO_ACCOUNTS } from "../scripts/demo-accounts";
import { projectRoot } from "../scripts/wrangler";

export const baseUrl = inject("baseUrl");
const origin = new URL(baseUrl).origin;

/** Debian's Chromium (`apt-get install -y chromium`); CHROMIUM_PATH names another build. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing) {
  // CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
  if (process.env.CI) throw new Error(`No Chromium at ${CHROMIUM} in CI: .ci/run should have installed it (apt-get install -y chromium)`);
  console.warn(`\nSKIPPING the browser tests: no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).\n`);
}

/** Where the screenshots go (git-ignored, under dist/). */
export const SCREENSHOTS = join(projectRoot, "dist", "screenshots");

/** The browser's time zone: not UTC, so that the page's local times are really local. */
export const TIME_ZONE = "Europe/Berlin";

export const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    // A fresh profile each launch (playwright's own temporary user-data-dir); nothing calls home.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

// ---- The API, called from the test as another person would -------------------------------

let addresses = 0;
/** Each test file runs in a module of its own: a random /48 keeps its addresses apart from the other files'. */
const addressPrefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}`;

/**
 * A client address of its own (a /64 of the IPv6 documentation range) for each simulated person:
 * the API throttles logins and registrations per address, and wrangler dev keeps a
 * CF-Connecting-IP that the client sends.
 */
export function freshAddress(): string {
  addresses += 1;
  return `${addressPrefix}:${addresses.toString(16)}::1`;
}

type CallOptions = { token?: string; json?: unknown };

export async function call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<{ status: number; body: T }> {
  // no-cache: past the API's micro-cache (issue 8), so a read right after a change sees it.
  const headers: Record<string, string> = { "CF-Connecting-IP": "192.0.2.1", "Cache-Control": "no-cache" };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: options.json === undefined ? undefined : JSON.stringify(options.json) });
  const text = await response.text();
  return { status: response.status, body: (text && response.headers.get("Content-Type")?.includes("json") ? JSON.parse(text) : text) as T };
}

export type Account = { email: string; password: string; token: string };

let people = 0;

/** How often newAccount sends a registration that D1 answered 503 (storage_unavailable, "safe to retry"). */
const REGISTRATION_ATTEMPTS = 3;

/**
 * A new USER account, registered through the API from an address of its own. The account is a
 * test's fixture, not what it tests: a 503 (local D1 failing for a moment on a loaded machine, as
 * it did once in CI) is retried as the API documents, and any other answer fails with its body.
 */
export async function newAccount(name: string): Promise<Account> {
  people += 1;
  const email = `${name}-${people}-${Date.now().toString(36)}@example.com`;
  const password = `browser-test-${people}-password`;
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${baseUrl}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": freshAddress() },
      body: JSON.stringify({ email, password }),
    });
    if (response.status === 503 && attempt < REGISTRATION_ATTEMPTS) continue;
    const body = await response.text();
    expect(response.status, `registering ${email}: ${body}`).toBe(201);
    const { access_token } = JSON.parse(body) as { access_token: string };
    return { email, password, token: access_token };
  }
}

export const demoAdmin = DEMO_ACCOUNTS.find((account) => account.role === "ADMIN")!;
export const demoUser = DEMO_ACCOUNTS.find((account) => account.role === "USER")!;

export async function adminToken(): Promise<string> {
  const { status, body } = await call<{ access_token: string }>("POST", "/login", { json: { email: demoAdmin.email, password: demoAdmin.password } });
  expect(status).toBe(200);
  return body.access_token;
}

export type Slot = { id: number; category_id: number; start_time: string; end_time: string; max_capacity: number; available_spots: number };

export const WORKSHOP = 3; // a default category (migrations/0001_initial.sql): Fitness 1, Consultation 2, Workshop 3, Venue 4

let slotsMade = 0;

/**
 * A slot of `capacity` made by the demo admin, an hour long, starting at `start` or else a little
 * over an hour from now (each one a minute later).
 */
export async function newSlot(capacity: number, categoryId = WORKSHOP, start?: Date): Promise<Slot> {
  slotsMade += 1;
  start ??= new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 3_600_000 + slotsMade * 60_000);
  const end = new Date(start.getTime() + 3_600_000);
  const { status, body } = await call<Slot>("POST", "/admin/slots", {
    token: await adminToken(),
    json: { category_id: categoryId, start_time: start.toISOString(), end_time: end.toISOString(), max_capacity: capacity },
  });
  expect(status).toBe(201);
  return body;
}

export async function book(token: string, slotId: number): Promise<{ id: number }> {
  const { status, body } = await call<{ id: number }>("POST", "/bookings", { token, json: { time_slot_id: slotId } });
  expect(status).toBe(201);
  return body;
}

// ---- A person at a browser ----------------------------------------------------------------

export type Visitor = {
  context: BrowserContext;
  page: Page;
  /** Requests to another origin, console errors and page errors seen so far. */
  problems: string[];
  close(): Promise<void>;
};

/**
 * Opens the page (or `path`) in a fresh browser context (its own storage and client address) and records
 * everything that should never happen: a request to another origin, a console error (except the
 * "Failed to load resource" line Chromium prints for an API refusal the test expects), a page error.
 */
export async function visit(
  browser: Browser,
  options: { path?: string; viewport?: { width: number; height: number }; colorScheme?: "light" | "dark"; expectedStatuses?: number[] } = {},
): Promise<Visitor> {
  const context = await browser.newContext({
    viewport: options.viewport ?? DESKTOP,
    colorScheme: options.colorScheme ?? "light",
    locale: "en-US",
    timezoneId: TIME_ZONE,
    extraHTTPHeaders: { "CF-Connecting-IP": freshAddress() },
  });
  const problems: string[] = [];
  const expected = new Set(options.expectedStatuses ?? []);
  context.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith("data:") && new URL(url).origin !== origin) problems.push(`request to another origin: ${url}`);
  });
  const page = await context.newPage();
  page.on("websocket", (socket) => {
    if (new URL(socket.url()).host !== new URL(baseUrl).host) problems.push(`WebSocket to another origin: ${socket.url()}`);
  });
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const status = /the server responded with a status of (\d{3})/.exec(message.text())?.[1];
    if (status && expected.has(Number(status))) return;
    problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.goto(`${baseUrl}${options.path ?? "/"}`);
  return { context, page, problems, close: () => context.close() };
}

export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

/** The slot's card in the week view, after moving to its week. */
export async function showSlot(page: Page, slot: Slot): Promise<Locator> {
  const weeksAhead = await page.evaluate((iso) => {
    const monday = (date: Date) => {
      const day = new Date(date.getFullYear(), date.getMonth(), date.getDate());
      day.setDate(day.getDate() - ((day.getDay() + 6) % 7));
      return day.getTime();
    };
    return Math.round((monday(new Date(iso)) - monday(new Date())) / (7 * 86_400_000));
  }, slot.start_time);
  for (let week = 0; week < weeksAhead; week++) await page.getByRole("button", { name: "Next week" }).click();
  const card = page.locator(`[data-slot-id="${slot.id}"]`);
  await card.waitFor();
  return card;
}

/** Waits until the card's availability line reads `text` ("2 spots left", "Full"). */
export async function spotsRead(card: Locator, text: string, timeout = 5_000): Promise<void> {
  await card.locator(".spots").filter({ hasText: new RegExp(`^${text}`) }).waitFor({ timeout });
}

/** axe-core on the page as it is now: no serious or critical violations (with `every`, none at all). */
export async function expectAccessible(page: Page, what: string, options: { every?: boolean } = {}): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const severe = violations
    .filter((violation) => options.every || violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
  expect(severe, `accessibility of ${what}`).toEqual([]);
}

/** True when the page is no wider than the viewport (no horizontal scrolling). */
export function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * The browser of a describe block, for tests that need only visitors: call it in the block's body.
 * `newVisitor` opens the page as `visit` does and waits for its heading; after each test, every
 * visitor's problems (foreign requests, console errors) fail it and its context closes.
 */
export function visitorsOfBlock(): { newVisitor(options?: Parameters<typeof visit>[1]): Promise<Visitor> } {
  let browser: Browser;
  const open: Visitor[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterEach(async () => {
    const problems = open.flatMap((visitor) => visitor.problems);
    await Promise.all(open.splice(0).map((visitor) => visitor.close()));
    expect(problems, "requests to other origins, console errors, page errors").toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    async newVisitor(options = {}) {
      const visitor = await visit(browser, options);
      open.push(visitor);
      await visitor.page.getByRole("heading", { name: "slotbook", level: 1 }).waitFor();
      return visitor;
    },
  };
}
