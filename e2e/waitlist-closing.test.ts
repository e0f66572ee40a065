// A waitlist whose booking has ended, on a real `wrangler dev` with its cron: at a slot's start
// (issue 22.7) or at its category's booking close (issue 21), its waiter is not promoted into a
// place freed then, and the scheduled maintenance, fired through /__scheduled as `npm start`
// fires it, ends the entry and announces it (waitlist.closed) to a webhook receiver on
// 127.0.0.1, through the real queue. A server of its own: the suite's shared one runs without
// --test-scheduled.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fireCron } from "../scripts/cron";
import { buildWorker, promoteToAdmin, randomSecret, startDevServer, temporaryDirectory, type DevServer } from "../scripts/dev-server";

let server: DevServer;
let receiver: Server;
let receiverUrl: string;
const received: { type: string; data: { id: number; status: string } }[] = [];
const scratch = temporaryDirectory("slotbook-waitlist-closing-");

beforeAll(async () => {
  receiver = createServer(async (request, response) => {
    let body = "";
    for await (const chunk of request) body += chunk;
    received.push(JSON.parse(body));
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const persistTo = join(scratch.path, "state");
  const worker = await buildWorker(join(scratch.path, "worker"));
  server = await startDevServer({ persistTo, worker, jwtSecret: randomSecret(), cron: true, vars: { WEBHOOKS_ALLOW_LOOPBACK: "true" } });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  receiver?.close();
  scratch.remove();
});

let people = 0;
async function call<T>(method: string, path: string, token?: string, json?: unknown): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { "Cache-Control": "no-cache", "CF-Connecting-IP": "192.0.2.7" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${server.baseUrl}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function account(name: string): Promise<{ email: string; password: string; token: string }> {
  people += 1;
  const email = `${name}-${people}-${Date.now().toString(36)}@example.com`;
  const password = `waitlist-closing-${people}-password`;
  const registered = await call<{ access_token: string }>("POST", "/register", undefined, { email, password });
  expect(registered.status).toBe(201);
  return { email, password, token: registered.body.access_token };
}

const statusOf = async (token: string, bookingId: number) =>
  (await call<{ id: number; status: string }[]>("GET", "/bookings", token)).body.find((entry) => entry.id === bookingId)?.status;

let admin: string;
beforeAll(async () => {
  const adminAccount = await account("admin");
  await promoteToAdmin(server.persistTo, adminAccount.email);
  // A new token: the role is read at login.
  const login = await call<{ access_token: string }>("POST", "/login", undefined, { email: adminAccount.email, password: adminAccount.password });
  expect(login.status).toBe(200);
  admin = login.body.access_token;
  expect((await call("POST", "/admin/webhooks", admin, { url: receiverUrl, events: ["waitlist.closed", "booking.promoted"] })).status).toBe(201);
}, 60_000);

const inHours = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();

/**
 * A slot of `categoryId` starting in `startsInHours`, full with one booking and one waiter; the
 * admin then moves it to start in `movedToHours` and cancels the booking, which frees a place.
 */
async function fullSlotMovedAndFreed(categoryId: number, startsInHours: number, movedToHours: number) {
  const slot = await call<{ id: number }>("POST", "/admin/slots", admin, {
    category_id: categoryId,
    start_time: inHours(startsInHours),
    end_time: inHours(startsInHours + 1),
    max_capacity: 1,
  });
  expect(slot.status).toBe(201);
  const [booker, waiter] = [await account("booker"), await account("waiter")];
  const booked = await call<{ id: number }>("POST", "/bookings", booker.token, { time_slot_id: slot.body.id });
  expect(booked.status).toBe(201);
  const waiting = await call<{ id: number; status: string }>("POST", "/bookings", waiter.token, { time_slot_id: slot.body.id, waitlist: true });
  expect(waiting.body.status).toBe("WAITLISTED");
  const moved = await call("PUT", `/admin/slots/${slot.body.id}`, admin, { start_time: inHours(movedToHours), end_time: inHours(movedToHours + 1) });
  expect(moved.status).toBe(200);
  expect((await call("DELETE", `/bookings/${booked.body.id}`, admin)).status).toBe(200);
  return { waiter, waitingId: waiting.body.id };
}

/** The cron fired as `npm start` fires it; then the entry is CANCELLED and announced alone, as waitlist.closed. */
async function expectEndedByCron(waiter: { token: string }, waitingId: number) {
  expect(await statusOf(waiter.token, waitingId)).toBe("WAITLISTED");
  await fireCron(server.baseUrl);
  expect(await statusOf(waiter.token, waitingId)).toBe("CANCELLED");
  const about = () => received.filter((event) => event.data.id === waitingId);
  const deadline = Date.now() + 20_000;
  while (about().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  expect(about().map((event) => [event.type, event.data.status])).toEqual([["waitlist.closed", "CANCELLED"]]);
}

describe("a closed waitlist on a real server", () => {
  it("a started slot gives the waiter no place freed after the start; the cron ends the entry and announces waitlist.closed", async () => {
    const { waiter, waitingId } = await fullSlotMovedAndFreed(1, 1, -0.2);
    await expectEndedByCron(waiter, waitingId);
  });

  it("a slot past its category's booking close gives the waiter no place freed then, though it has not started; the cron ends the entry", async () => {
    const category = await call<{ id: number }>("POST", "/admin/categories", admin, { name: `Closing ${Date.now()}`, booking_closes_minutes_before: 120 });
    expect(category.status).toBe(201);
    const { waiter, waitingId } = await fullSlotMovedAndFreed(category.body.id, 5, 1);
    await expectEndedByCron(waiter, waitingId);
  });
});
