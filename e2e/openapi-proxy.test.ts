// Every documented operation through Prism's validating proxy (@stoplight/prism-cli), in front of
// the real `wrangler dev`: each answer the Worker gives must match what /openapi.json says of it
// (status, headers, body), as spec-driven tools and generated clients read it. Runs offline.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../scripts/wrangler";
import { baseUrl, call, demoAdmin, freshAddress } from "./helpers";

type Violation = { location: string[]; severity: string; code: string | number; message: string };
type Checked = { request: string; status: number; violations: Violation[] };
type Send = { token?: string; json?: unknown; body?: string; headers?: Record<string, string> };
type OpenApi = { paths: Record<string, Record<string, unknown>> };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Prism's validating proxy for `documentFile` in front of `upstream`, once it answers. */
async function startPrism(documentFile: string, upstream: string): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = spawn(join(projectRoot, "node_modules", ".bin", "prism"), ["proxy", documentFile, upstream, "--port", String(port), "--host", "127.0.0.1", "--errors", "false"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let attempt = 0; ; attempt++) {
    try {
      await fetch(`${url}/health`);
      return { url, process };
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const violationsOf = (response: Response) => JSON.parse(response.headers.get("sl-violations") ?? "[]") as Violation[];

/** A path of the document with its parameters filled in: `/slots/{slot_id}` → `/slots/12`. */
const fill = (template: string, values: Record<string, string | number>) => template.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name]));

describe("the OpenAPI document through Prism's validating proxy", () => {
  let prism: ChildProcess;
  let proxy: string;
  let document: OpenApi;
  const scratch = mkdtempSync(join(tmpdir(), "slotbook-prism-"));
  const documentFile = join(scratch, "openapi.json");
  const checked: Checked[] = [];

  beforeAll(async () => {
    document = (await call<OpenApi>("GET", "/openapi.json")).body;
    writeFileSync(documentFile, JSON.stringify(document));
    ({ url: proxy, process: prism } = await startPrism(documentFile, baseUrl));
  });

  afterAll(() => {
    prism?.kill();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("reports an answer that contradicts the document (the check can fail)", async () => {
    // An upstream that answers GET /health with a number where the document says "ok", and an undocumented 418.
    const liar = createHttpServer((request, response) => {
      response.writeHead(request.url === "/health" ? 200 : 418, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ status: 5 }));
    });
    await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
    const address = liar.address();
    const lying = await startPrism(documentFile, `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`);
    try {
      const health = await fetch(`${lying.url}/health`);
      expect(violationsOf(health).map((violation) => violation.location.join("."))).toContain("response.body.status");
      const login = await fetch(`${lying.url}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: "a@example.com", password: "long enough password" }) });
      expect(violationsOf(login).some((violation) => violation.location[0] === "response")).toBe(true);
    } finally {
      lying.process.kill();
      liar.close();
    }
  });

  /** What wrangler dev's own proxy answers when its local worker restarted under a request: its words, not the API's. */
  const DEV_SERVER_RESTART = /^Your worker restarted mid-request/;
  let devServerRetries = 0;

  /** Sends one request through the proxy; records the status and Prism's violations of it. */
  async function send<T = unknown>(method: string, path: string, { token, json, body, headers = {} }: Send = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const sent: Record<string, string> = { "CF-Connecting-IP": "192.0.2.7", ...headers };
    if (token) sent.Authorization = `Bearer ${token}`;
    if (json !== undefined) sent["Content-Type"] = "application/json";
    const attempt = () => fetch(`${proxy}${path}`, { method, headers: sent, body: json === undefined ? body : JSON.stringify(json) });
    let response = await attempt();
    let text = await response.text();
    // Seen now and then under load, always on a request with a body: wrangler asks to send it again.
    if (response.status === 503 && DEV_SERVER_RESTART.test(text)) {
      devServerRetries += 1;
      response = await attempt();
      text = await response.text();
    }
    const violations = violationsOf(response);
    checked.push({ request: `${method} ${path}`, status: response.status, violations });
    return { status: response.status, body: (response.headers.get("Content-Type")?.includes("json") && text ? JSON.parse(text) : text) as T, headers: response.headers };
  }

  it("finds no violation of the document in any answer, for every documented operation", async () => {
    const expectStatus = async (pending: Promise<{ status: number; body: unknown }>, status: number) => {
      const answer = await pending;
      expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    };
    const stamp = Date.now().toString(36);
    const address = freshAddress();
    await expectStatus(send("GET", "/health"), 200);

    // Accounts.
    const email = `prism-${stamp}@example.com`;
    const registered = await send<{ access_token: string }>("POST", "/register", { json: { email, password: "a fine long password" }, headers: { "CF-Connecting-IP": address } });
    expect(registered.status).toBe(201);
    const user = registered.body.access_token;
    const userId = Number(JSON.parse(atob(user.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub);
    await expectStatus(send("POST", "/register", { json: { email, password: "a fine long password" }, headers: { "CF-Connecting-IP": address } }), 409);
    await expectStatus(send("POST", "/register", { body: "email=x", headers: { "Content-Type": "text/plain" } }), 415);
    await expectStatus(send("POST", "/register", { json: { email: "not an email", password: "x" } }), 422);
    await expectStatus(send("POST", "/login", { json: { email, password: "a wrong password!" }, headers: { "CF-Connecting-IP": address } }), 401);
    const admin = (await send<{ access_token: string }>("POST", "/login", { json: { email: demoAdmin.email, password: demoAdmin.password } })).body.access_token;
    expect(admin).toEqual(expect.any(String));

    // Categories and preferences.
    const categories = await send("GET", "/categories");
    expect(categories.status).toBe(200);
    await expectStatus(send("GET", "/categories", { headers: { "If-None-Match": categories.headers.get("ETag")! } }), 304);
    const category = await send<{ id: number }>("POST", "/admin/categories", { token: admin, json: { name: `Prism ${stamp}` } });
    expect(category.status).toBe(201);
    await expectStatus(send("POST", "/admin/categories", { token: user, json: { name: `Prism user ${stamp}` } }), 403);
    await expectStatus(send("POST", "/admin/categories", { json: { name: `Prism anonymous ${stamp}` } }), 401);
    await expectStatus(send("POST", "/user/preferences", { token: user, json: { preferred_categories: [category.body.id] } }), 200);
    await expectStatus(send("GET", "/user/preferences", { token: user }), 200);
    await expectStatus(send("PUT", `/admin/users/${userId}/role`, { token: admin, json: { role: "USER" } }), 200);
    await expectStatus(send("PUT", "/admin/users/999999/role", { token: admin, json: { role: "USER" } }), 404);

    // Webhooks, before any booking, so that nothing is delivered to the made-up receiver.
    const webhook = await send<{ id: number }>("POST", "/admin/webhooks", { token: admin, json: { url: "https://hooks.example.com/slotbook", events: ["slot.created"] } });
    expect(webhook.status).toBe(201);
    await expectStatus(send("GET", "/admin/webhooks", { token: admin }), 200);
    await expectStatus(send("GET", `/admin/webhooks/${webhook.body.id}/deliveries`, { token: admin }), 200);
    await expectStatus(send("DELETE", `/admin/webhooks/${webhook.body.id}`, { token: admin }), 200);
    await expectStatus(send("DELETE", `/admin/webhooks/${webhook.body.id}`, { token: admin }), 404);

    // Slots.
    const hour = (hours: number) => new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + hours * 3_600_000).toISOString().replace(".000Z", "Z");
    const newSlot = (capacity: number, hours: number) =>
      send<{ id: number }>("POST", "/admin/slots", { token: admin, json: { category_id: category.body.id, start_time: hour(hours), end_time: hour(hours + 1), max_capacity: capacity } });
    const [open, single, other] = [await newSlot(5, 48), await newSlot(1, 50), await newSlot(5, 52)];
    expect([open.status, single.status, other.status]).toEqual([201, 201, 201]);
    await expectStatus(send("PUT", `/admin/slots/${open.body.id}`, { token: admin, json: { max_capacity: 6 } }), 200);
    await expectStatus(send("PUT", "/admin/slots/999999", { token: admin, json: { max_capacity: 6 } }), 404);
    const series = await send("POST", "/admin/slots/series", {
      token: admin,
      json: { category_id: category.body.id, timezone: "Europe/Berlin", first_start_local: "2031-03-03T09:00", duration_minutes: 60, rrule: "FREQ=WEEKLY;COUNT=2", max_capacity: 3 },
    });
    expect(series.status).toBe(201);
    const slots = await send("GET", `/slots?categories=${category.body.id}&limit=50`);
    expect(slots.status).toBe(200);
    await expectStatus(send("GET", `/slots?categories=${category.body.id}&limit=50`, { headers: { "If-None-Match": slots.headers.get("ETag")! } }), 304);
    await expectStatus(send("GET", "/slots?limit=0"), 422);
    await expectStatus(send("GET", fill("/slots/{slot_id}", { slot_id: open.body.id })), 200);
    await expectStatus(send("GET", "/slots/999999"), 404);
    await expectStatus(send("GET", fill("/slots/{slot_id}/live", { slot_id: open.body.id })), 426);
    const event = await send("GET", fill("/slots/{slot_id}/event.ics", { slot_id: open.body.id }));
    expect(event.status).toBe(200);
    await expectStatus(send("GET", fill("/slots/{slot_id}/event.ics", { slot_id: open.body.id }), { headers: { "If-None-Match": event.headers.get("ETag")! } }), 304);

    // Bookings: book, refuse a second, hold and confirm, wait, move, cancel.
    const booking = await send<{ id: number }>("POST", "/bookings", { token: user, json: { time_slot_id: open.body.id } });
    expect(booking.status).toBe(201);
    await expectStatus(send("POST", "/bookings", { token: user, json: { time_slot_id: open.body.id } }), 409);
    await expectStatus(send("POST", "/bookings", { token: user, json: { time_slot_id: 999999 } }), 404);
    const held = await send<{ id: number }>("POST", "/bookings", { token: admin, json: { time_slot_id: single.body.id, hold: true } });
    expect(held.status).toBe(201);
    await expectStatus(send("POST", `/bookings/${held.body.id}/confirm`, { token: admin }), 200);
    await expectStatus(send("POST", "/bookings", { token: user, json: { time_slot_id: single.body.id } }), 409);
    const waiting = await send<{ id: number }>("POST", "/bookings", { token: user, json: { time_slot_id: single.body.id, waitlist: true }, headers: { "Idempotency-Key": `prism-${stamp}` } });
    expect(waiting.status).toBe(202);
    await expectStatus(send("POST", `/bookings/${waiting.body.id}/confirm`, { token: user }), 409);
    const bookings = await send("GET", "/bookings?limit=100", { token: user });
    expect(bookings.status).toBe(200);
    await expectStatus(send("GET", "/bookings?limit=100", { token: user, headers: { "If-None-Match": bookings.headers.get("ETag")! } }), 304);
    await expectStatus(send("GET", "/bookings"), 401);
    const moved = await send<{ id: number }>("POST", `/bookings/${booking.body.id}/reschedule`, { token: user, json: { time_slot_id: other.body.id } });
    expect(moved.status).toBe(200);
    await expectStatus(send("POST", `/bookings/${moved.body.id}/reschedule`, { token: user, json: { time_slot_id: other.body.id } }), 422);
    await expectStatus(send("DELETE", `/bookings/${waiting.body.id}`, { token: user }), 200);
    await expectStatus(send("DELETE", `/bookings/${waiting.body.id}`, { token: user }), 409);
    await expectStatus(send("DELETE", "/bookings/999999", { token: user }), 404);

    // Calendar feeds.
    const feed = await send<{ url: string }>("GET", "/user/calendar-feed", { token: user });
    expect(feed.status).toBe(200);
    const rotated = await send<{ url: string }>("POST", "/user/calendar-feed/rotate", { token: user });
    expect(rotated.status).toBe(200);
    const ics = await send("GET", new URL(rotated.body.url).pathname);
    expect(ics.status).toBe(200);
    await expectStatus(send("GET", new URL(rotated.body.url).pathname, { headers: { "If-None-Match": ics.headers.get("ETag")! } }), 304);
    await expectStatus(send("GET", new URL(feed.body.url).pathname), 404);

    // The audit log, and the end of a slot.
    await expectStatus(send("GET", "/admin/audit", { token: admin }), 200);
    await expectStatus(send("GET", "/admin/audit", { token: user }), 403);

    // The organizer's side: rosters, check-in, the catalogue, finding users.
    await expectStatus(send("GET", fill("/admin/slots/{slot_id}/bookings", { slot_id: other.body.id }), { token: admin }), 200);
    await expectStatus(send("GET", `${fill("/admin/slots/{slot_id}/bookings", { slot_id: other.body.id })}?format=csv`, { token: admin }), 200);
    await expectStatus(send("GET", "/admin/slots/999999/bookings", { token: admin }), 404);
    await expectStatus(send("POST", `/admin/bookings/${moved.body.id}/check-in`, { token: admin }), 200);
    await expectStatus(send("DELETE", `/admin/bookings/${moved.body.id}/check-in`, { token: admin }), 200);
    await expectStatus(send("POST", `/admin/bookings/${waiting.body.id}/check-in`, { token: admin }), 409);
    await expectStatus(send("GET", "/admin/users?email=prism-", { token: admin }), 200);
    await expectStatus(send("PATCH", `/admin/categories/${category.body.id}`, { token: admin, json: { name: `Prism renamed ${stamp}` } }), 200);
    await expectStatus(send("DELETE", `/admin/categories/${category.body.id}`, { token: admin }), 409);

    await expectStatus(send("DELETE", `/admin/slots/${other.body.id}`, { token: admin }), 200);
    await expectStatus(send("DELETE", `/admin/slots/${other.body.id}`, { token: admin }), 404);

    // The account's own routes, last: they end the user's sessions and one account.
    await expectStatus(send("GET", "/user/export", { token: user }), 200);
    const changed = await send<{ access_token: string }>("PUT", "/user/password", {
      token: user,
      json: { current_password: "a fine long password", new_password: "another fine password" },
      headers: { "CF-Connecting-IP": address },
    });
    expect(changed.status).toBe(200);
    await expectStatus(send("POST", "/user/sessions/revoke", { token: changed.body.access_token }), 200);
    await expectStatus(send("GET", "/user/export", { token: changed.body.access_token }), 401);
    const leaving = await send<{ access_token: string }>("POST", "/register", {
      json: { email: `prism-leaving-${stamp}@example.com`, password: "a fine long password" },
      headers: { "CF-Connecting-IP": freshAddress() },
    });
    expect(leaving.status).toBe(201);
    await expectStatus(send("DELETE", "/user", { token: leaving.body.access_token, json: { password: "a fine long password" } }), 200);

    const documented = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    const pattern = (operation: string) => new RegExp(`^${operation.replace(/\{\w+\}/g, "[^/]+").replace(/\./g, "\\.")}(\\?.*)?$`);
    const unvisited = documented.filter((operation) => !checked.some(({ request }) => pattern(operation).test(request)));
    expect(unvisited, "documented operations no request went to").toEqual([]);
    const answerViolations = checked.flatMap(({ request, status, violations }) =>
      violations.filter((violation) => violation.location[0] === "response").map((violation) => `${request} → ${status}: ${violation.location.join(".")} ${violation.message}`),
    );
    expect(answerViolations, "answers that contradict the document").toEqual([]);
    const requestViolations = checked.filter(({ status, violations }) => status < 400 && violations.some((violation) => violation.location[0] === "request"));
    expect(requestViolations, "accepted requests that the document says are invalid").toEqual([]);
    console.log(`Prism checked ${checked.length} requests over ${documented.length} documented operations: no violations (${devServerRetries} sent again after a wrangler dev restart)`);
  });
});
