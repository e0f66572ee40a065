import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../src/index";
import { GENERATION_URL } from "../src/http/micro-cache";
import type { SlotView } from "../src/views/slot";
import { api, FRESH } from "./support/client";
import { book } from "./support/bookings";
import { createSlot, hoursFromNow } from "./support/slots";
import { createUser } from "./support/users";

// ETags and 304s, Cache-Control and Vary, the 2-second edge micro-cache (caches.default works in
// workerd as under `wrangler dev`), and CORS.

const FRESHNESS_MS = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A slot alone in its own second far in the future, and the GET /slots query that lists only it. */
async function lonelySlot(hoursAhead: number, capacity = 10) {
  const start = hoursFromNow(hoursAhead);
  const slotId = await createSlot({ start, capacity });
  const to = new Date(Date.parse(start) + 1000).toISOString().slice(0, 19) + "Z";
  return { slotId, listPath: `/slots?from=${start}&to=${to}` };
}

const setCapacity = (slotId: number, capacity: number) => env.DB.prepare("UPDATE time_slots SET max_capacity = ? WHERE id = ?").bind(capacity, slotId).run();

describe("ETag and If-None-Match", () => {
  it.each<[string, () => Promise<{ path: string; token?: string }>]>([
    ["GET /categories", async () => ({ path: "/categories" })],
    ["GET /slots", async () => ({ path: (await lonelySlot(20_001)).listPath })],
    ["GET /slots/{slot_id}", async () => ({ path: `/slots/${await createSlot()}` })],
    ["GET /bookings", async () => ({ path: "/bookings", token: (await createUser()).token })],
  ])("%s: a strong ETag from the body; If-None-Match with it answers 304 without a body", async (_route, setup) => {
    const { path, token } = await setup();
    const first = await api("GET", path, { token, headers: FRESH });
    const etag = first.headers.get("ETag");
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    const again = await api<string>("GET", path, { token, headers: { ...FRESH, "If-None-Match": etag! } });
    expect({ status: again.status, body: again.body, etag: again.headers.get("ETag") }).toEqual({ status: 304, body: "", etag });
    // A list of tags, or a weak form of the same tag, also matches (RFC 9110 weak comparison).
    expect((await api("GET", path, { token, headers: { ...FRESH, "If-None-Match": `"other", W/${etag}` } })).status).toBe(304);
    expect((await api("GET", path, { token, headers: { ...FRESH, "If-None-Match": '"other"' } })).status).toBe(200);
  });

  it("changes the ETag when the data changes", async () => {
    const slotId = await createSlot();
    const before = (await api("GET", `/slots/${slotId}`, { headers: FRESH })).headers.get("ETag");
    await setCapacity(slotId, 11);
    const after = await api<string>("GET", `/slots/${slotId}`, { headers: { ...FRESH, "If-None-Match": before! } });
    expect(after.status).toBe(200);
    expect(after.headers.get("ETag")).not.toBe(before);
  });
});

describe("Cache-Control and Vary", () => {
  it("anonymous reads are public for at most 2 s; GET /slots varies on Authorization", async () => {
    for (const path of ["/categories", "/slots", `/slots/${await createSlot()}`]) {
      expect((await api("GET", path, { headers: FRESH })).headers.get("Cache-Control"), path).toBe("public, max-age=2");
    }
    expect((await api("GET", "/slots", { headers: FRESH })).headers.get("Vary")).toContain("Authorization");
  });

  it("the caller's own answers are private and revalidated: GET /slots signed in, GET /bookings", async () => {
    const user = await createUser();
    for (const path of ["/slots", "/bookings"]) {
      const response = await api("GET", path, { token: user.token });
      expect(response.headers.get("Cache-Control"), path).toBe("private, no-cache");
      expect(response.headers.get("Vary"), path).toContain("Authorization");
    }
  });
});

describe("edge micro-cache", () => {
  it(`serves an anonymous listing at most ${FRESHNESS_MS} ms stale, with Age`, async () => {
    const { slotId, listPath } = await lonelySlot(20_010);
    const capacityListed = async () => (await api<SlotView[]>("GET", listPath)).body[0].max_capacity;
    expect(await capacityListed()).toBe(10);
    const changedAt = Date.now();
    await setCapacity(slotId, 7);
    // Within the bound, the cached answer may still show the old value: that it does shows the cache works.
    const cached = await api<SlotView[]>("GET", listPath);
    expect(cached.body[0].max_capacity).toBe(10);
    expect(Number(cached.headers.get("Age"))).toBeGreaterThanOrEqual(0);
    expect(Number(cached.headers.get("Age"))).toBeLessThanOrEqual(2);
    // Read until the change shows: it must by the bound.
    let seen = 10;
    while (seen !== 7 && Date.now() - changedAt < FRESHNESS_MS + 1_000) {
      await sleep(100);
      seen = await capacityListed();
      if (seen !== 7) expect(Date.now() - changedAt).toBeLessThan(FRESHNESS_MS);
    }
    expect(seen).toBe(7);
  });

  it("a booking shows at once in an anonymous read, as in one with the booking's bookmark or with no-cache", async () => {
    const { slotId } = await lonelySlot(20_020, 5);
    const path = `/slots/${slotId}`;
    expect((await api<SlotView>("GET", path)).body.available_spots).toBe(5);
    const booked = await book(await createUser(), slotId);
    expect(booked.status).toBe(201);
    const bookmark = booked.headers.get("x-d1-bookmark")!;
    expect(bookmark).toBeTruthy();
    expect((await api<SlotView>("GET", path)).body.available_spots).toBe(4);
    expect((await api<SlotView>("GET", path, { headers: { "x-d1-bookmark": bookmark } })).body.available_spots).toBe(4);
    expect((await api<SlotView>("GET", path, { headers: { "Cache-Control": "no-cache" } })).body.available_spots).toBe(4);
  });

  it("a deleted slot disappears from GET /slots and GET /slots/{slot_id} at once", async () => {
    const admin = await createUser("ADMIN");
    const { slotId, listPath } = await lonelySlot(20_030);
    expect((await api<SlotView[]>("GET", listPath)).body.map((slot) => slot.id)).toEqual([slotId]);
    expect((await api("GET", `/slots/${slotId}`)).status).toBe(200);
    expect((await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token })).status).toBe(200);
    expect((await api<SlotView[]>("GET", listPath)).body).toEqual([]);
    expect((await api("GET", `/slots/${slotId}`)).status).toBe(404);
  });

  it("never serves a signed-in caller from it", async () => {
    const { slotId, listPath } = await lonelySlot(20_040);
    const user = await createUser();
    expect((await api<SlotView[]>("GET", listPath)).body[0].max_capacity).toBe(10);
    await setCapacity(slotId, 3);
    expect((await api<SlotView[]>("GET", listPath, { token: user.token })).body[0].max_capacity).toBe(3);
  });

  it("keys entries by the normalized query: parameter order does not matter", async () => {
    const { slotId, listPath } = await lonelySlot(20_050);
    const [from, to] = [...new URL(listPath, "http://x").searchParams.values()];
    expect((await api<SlotView[]>("GET", `/slots?from=${from}&to=${to}`)).body[0].max_capacity).toBe(10);
    await setCapacity(slotId, 4);
    const reordered = await api<SlotView[]>("GET", `/slots?to=${to}&from=${from}`);
    expect(reordered.body[0].max_capacity).toBe(10);
    expect(reordered.headers.get("Age")).not.toBeNull();
  });

  it("stores the answer in caches.default under the URL with sorted parameters and the location's generation, where other isolates find it", async () => {
    const { listPath } = await lonelySlot(20_060);
    const [from, to] = [...new URL(listPath, "http://x").searchParams.values()];
    const answer = await api<SlotView[]>("GET", `/slots?to=${to}&from=${from}`);
    const generation = await (await caches.default.match(GENERATION_URL))!.text();
    const query = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&micro-cache-generation=${generation}`;
    const stored = await caches.default.match(`http://slotbook.test/slots?${query}`);
    expect(stored).toBeDefined();
    expect(stored!.headers.get("ETag")).toBe(answer.headers.get("ETag"));
    expect(await stored!.json()).toEqual(answer.body);
  });

  it("answers a cached entry's ETag with 304 and gives each answer its own X-Request-Id", async () => {
    const slotId = await createSlot();
    const first = await api("GET", `/slots/${slotId}`);
    const cached = await api("GET", `/slots/${slotId}`, { headers: { "If-None-Match": first.headers.get("ETag")! } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get("Age")).not.toBeNull();
    const again = await api("GET", `/slots/${slotId}`);
    expect(again.headers.get("X-Request-Id")).not.toBe(first.headers.get("X-Request-Id"));
  });
});

describe("CORS", () => {
  const ORIGIN = "https://calendar.example";

  it("answers a preflight without auth, for any origin by default, without credentials", async () => {
    const response = await api("OPTIONS", "/bookings", {
      headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, idempotency-key" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    expect(response.headers.get("Access-Control-Allow-Headers")?.replace(/\s/g, "")).toBe("authorization,content-type,idempotency-key");
    expect(response.headers.get("Access-Control-Allow-Credentials")).toBeNull();
  });

  it("exposes the headers clients need", async () => {
    const response = await api("GET", "/slots", { headers: { Origin: ORIGIN } });
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const exposed = response.headers.get("Access-Control-Expose-Headers")!.split(",").map((name) => name.trim().toLowerCase());
    for (const name of ["etag", "link", "retry-after", "x-request-id", "x-d1-bookmark", "idempotent-replayed"]) expect(exposed).toContain(name);
  });

  it("with CORS_ORIGINS a list, allows only those origins", async () => {
    // The Worker's own fetch handler, given an environment whose CORS_ORIGINS is a list.
    const listed = { ...env, CORS_ORIGINS: "https://a.example, https://b.example" } as unknown as Env;
    const fetchFrom = (origin: string) =>
      app.fetch(new Request("http://slotbook.test/health", { headers: { Origin: origin } }), listed, createExecutionContext());
    const allowed = await fetchFrom("https://b.example");
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("https://b.example");
    expect(allowed.headers.get("Vary")).toContain("Origin");
    expect((await fetchFrom("https://evil.example")).headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});
