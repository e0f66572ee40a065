// A started slot's waitlist on a real `wrangler dev` with its cron (issue 22.7): its waiter is not
// promoted into a place freed after the start, and the scheduled maintenance, fired through
// /__scheduled as `npm start` fires it, ends the entry and announces it (waitlist.closed) to a
// webhook receiver on 127.0.0.1, through the real queue. A server of its own: the suite's
// shared one runs without --test-scheduled.
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

describe("a started slot's waitlist on a real server", () => {
  it("gives the waiter no place freed after the start; the cron ends the entry and announces waitlist.closed", async () => {
    const adminAccount = await account("admin");
    await promoteToAdmin(server.persistTo, adminAccount.email);
    // A new token: the role is read at login.
    const login = await call<{ access_token: string }>("POST", "/login", undefined, { email: adminAccount.email, password: adminAccount.password });
    expect(login.status).toBe(200);
    const admin = login.body.access_token;
    expect((await call("POST", "/admin/webhooks", admin, { url: receiverUrl, events: ["waitlist.closed", "booking.promoted"] })).status).toBe(201);

    const start = new Date(Date.now() + 3_600_000);
    const slot = await call<{ id: number }>("POST", "/admin/slots", admin, {
      category_id: 1,
      start_time: start.toISOString(),
      end_time: new Date(start.getTime() + 3_600_000).toISOString(),
      max_capacity: 1,
    });
    expect(slot.status).toBe(201);
    const [booker, waiter] = [await account("booker"), await account("waiter")];
    const booked = await call<{ id: number }>("POST", "/bookings", booker.token, { time_slot_id: slot.body.id });
    const waiting = await call<{ id: number; status: string }>("POST", "/bookings", waiter.token, { time_slot_id: slot.body.id, waitlist: true });
    expect(waiting.body.status).toBe("WAITLISTED");

    // The admin moves the slot into the past, then cancels the booking: the place stays free.
    const moved = await call("PUT", `/admin/slots/${slot.body.id}`, admin, {
      start_time: new Date(Date.now() - 600_000).toISOString(),
      end_time: new Date(Date.now() + 3_000_000).toISOString(),
    });
    expect(moved.status).toBe(200);
    expect((await call("DELETE", `/bookings/${booked.body.id}`, admin)).status).toBe(200);
    expect(await statusOf(waiter.token, waiting.body.id)).toBe("WAITLISTED");

    await fireCron(server.baseUrl);
    expect(await statusOf(waiter.token, waiting.body.id)).toBe("CANCELLED");
    const deadline = Date.now() + 20_000;
    while (!received.some((event) => event.type === "waitlist.closed") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received.map((event) => [event.type, event.data.id, event.data.status])).toEqual([["waitlist.closed", waiting.body.id, "CANCELLED"]]);
  });
});
