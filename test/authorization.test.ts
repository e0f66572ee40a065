import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import { registered } from "./account-helpers";
import { api } from "./support/client";
import { book, hold } from "./support/bookings";
import { createSlot } from "./support/slots";
import { createUser, login, PASSWORD, uniqueEmail, type TestUser } from "./support/users";

// Who may call what: every route of the API against every kind of caller. The same table is in
// the README. "another user" is a USER other than the owner, only for routes scoped to an owner.

const CALLERS = ["anonymous", "user", "another user", "admin", "demoted admin"] as const;
type Caller = (typeof CALLERS)[number];

type Request = { method: string; path: string; body?: unknown };
/** What a row's request may use: the signed-in callers (made once) and the user it acts for. */
type Fixtures = { user: TestUser; password: string; email: string };

type Row = {
  route: string;
  /** Builds the request, creating what it acts on afresh, so that no cell depends on another. */
  request: (fixtures: Fixtures) => Promise<Request>;
  expected: Partial<Record<Caller, number>>;
  /**
   * The route changes the caller's own account (its password, tokens, existence): each cell calls
   * it as a caller of its kind made for that cell alone, registered with the password PASSWORD.
   */
  ownAccount?: true;
};

const anyone = (status: number) => ({ anonymous: status, user: status, admin: status, "demoted admin": status });
const signedIn = (status: number) => ({ anonymous: 401, user: status, admin: status, "demoted admin": status });
const adminOnly = (status: number) => ({ anonymous: 401, user: 403, admin: status, "demoted admin": 403 });


/** A caller of the kind `caller` made for one cell, with a real password: for the rows marked `ownAccount`. */
async function ownAccountCaller(caller: Caller): Promise<string | undefined> {
  if (caller === "anonymous") return undefined;
  const account = await registered("matrix");
  if (caller === "user") return account.token;
  await env.DB.prepare("UPDATE users SET role = 'ADMIN' WHERE id = ?").bind(account.id).run();
  // A token issued while an admin; "demoted admin" then loses the role.
  const token = (await login(account.email)).body.access_token;
  if (caller === "demoted admin") await env.DB.prepare("UPDATE users SET role = 'USER' WHERE id = ?").bind(account.id).run();
  return token;
}

/** A webhook written straight to D1, for the routes that act on one. */
async function insertWebhook(): Promise<number> {
  const row = await env.DB.prepare(
    "INSERT INTO webhooks (url, events, secret, created_at) VALUES ('https://example.com/hook', '[\"booking.expired\"]', 'whsec_AAAA', '2030-01-01T00:00:00Z') RETURNING id",
  ).first<{ id: number }>();
  return row!.id;
}

/** A category no slot names, written straight to D1, for the routes that rename or remove one. */
async function insertCategory(): Promise<number> {
  const name = `Matrix ${uniqueEmail()}`;
  const row = await env.DB.prepare("INSERT INTO categories (name, name_key) VALUES (?, ?) RETURNING id").bind(name, name.toLowerCase()).first<{ id: number }>();
  return row!.id;
}

const MATRIX: Row[] = [
  { route: "GET /health", request: async () => ({ method: "GET", path: "/health" }), expected: anyone(200) },
  { route: "GET /openapi.json", request: async () => ({ method: "GET", path: "/openapi.json" }), expected: anyone(200) },
  { route: "GET /docs", request: async () => ({ method: "GET", path: "/docs" }), expected: anyone(200) },
  {
    route: "POST /register",
    request: async () => ({ method: "POST", path: "/register", body: { email: uniqueEmail(), password: "correct horse battery" } }),
    expected: anyone(201),
  },
  {
    route: "POST /login",
    request: async ({ email, password }) => ({ method: "POST", path: "/login", body: { email, password } }),
    expected: anyone(200),
  },
  { route: "GET /categories", request: async () => ({ method: "GET", path: "/categories" }), expected: anyone(200) },
  { route: "GET /slots", request: async () => ({ method: "GET", path: "/slots" }), expected: anyone(200) },
  {
    // Public: a WebSocket upgrade is 101 for anyone (test/live.test.ts); a plain request is 426 for anyone.
    route: "GET /slots/{slot_id}/live (without Upgrade: websocket)",
    request: async () => ({ method: "GET", path: `/slots/${await createSlot()}/live` }),
    expected: anyone(426),
  },
  { route: "GET /user/preferences", request: async () => ({ method: "GET", path: "/user/preferences" }), expected: signedIn(200) },
  {
    route: "POST /user/preferences",
    request: async () => ({ method: "POST", path: "/user/preferences", body: { preferred_categories: [1] } }),
    expected: signedIn(200),
  },
  {
    route: "POST /bookings",
    request: async () => ({ method: "POST", path: "/bookings", body: { time_slot_id: await createSlot() } }),
    expected: signedIn(201),
  },
  { route: "GET /bookings", request: async () => ({ method: "GET", path: "/bookings" }), expected: signedIn(200) },
  {
    route: "POST /bookings/{booking_id}/reschedule (the user's booking)",
    request: async ({ user }) => {
      const booking = await book(user, await createSlot());
      expect(booking.status).toBe(201);
      return { method: "POST", path: `/bookings/${booking.body.id}/reschedule`, body: { time_slot_id: await createSlot() } };
    },
    expected: { anonymous: 401, user: 200, "another user": 404, admin: 200, "demoted admin": 404 },
  },
  {
    route: "DELETE /bookings/{booking_id} (the user's booking)",
    request: async ({ user }) => {
      const booking = await book(user, await createSlot());
      expect(booking.status).toBe(201);
      return { method: "DELETE", path: `/bookings/${booking.body.id}` };
    },
    // Someone else's booking is not found, rather than forbidden: its existence is not revealed.
    expected: { anonymous: 401, user: 200, "another user": 404, admin: 200, "demoted admin": 404 },
  },
  {
    route: "POST /bookings/{booking_id}/confirm (the user's hold)",
    request: async ({ user }) => {
      const held = await hold(user, await createSlot());
      expect(held.status).toBe(201);
      return { method: "POST", path: `/bookings/${held.body.id}/confirm` };
    },
    // Only the holder confirms: to anyone else, even an admin, the hold is not found.
    expected: { anonymous: 401, user: 200, "another user": 404, admin: 404, "demoted admin": 404 },
  },
  {
    route: "POST /admin/categories",
    request: async () => ({ method: "POST", path: "/admin/categories", body: { name: `Matrix ${uniqueEmail()}` } }),
    expected: adminOnly(201),
  },
  {
    route: "POST /admin/slots",
    request: async () => ({
      method: "POST",
      path: "/admin/slots",
      body: { category_id: 1, start_time: "2040-05-01T10:00:00Z", end_time: "2040-05-01T11:00:00Z", max_capacity: 5 },
    }),
    expected: adminOnly(201),
  },
  {
    route: "PUT /admin/slots/{slot_id}",
    request: async () => ({ method: "PUT", path: `/admin/slots/${await createSlot()}`, body: { max_capacity: 20 } }),
    expected: adminOnly(200),
  },
  {
    route: "DELETE /admin/slots/{slot_id}",
    request: async () => ({ method: "DELETE", path: `/admin/slots/${await createSlot()}` }),
    expected: adminOnly(200),
  },
  {
    route: "PUT /admin/users/{user_id}/role",
    request: async () => ({ method: "PUT", path: `/admin/users/${(await createUser()).id}/role`, body: { role: "ADMIN" } }),
    expected: adminOnly(200),
  },
  { route: "GET /admin/audit", request: async () => ({ method: "GET", path: "/admin/audit" }), expected: adminOnly(200) },
  { route: "GET /admin/users", request: async () => ({ method: "GET", path: "/admin/users?email=user-" }), expected: adminOnly(200) },
  {
    route: "PATCH /admin/categories/{category_id}",
    request: async () => ({ method: "PATCH", path: `/admin/categories/${await insertCategory()}`, body: { name: `Renamed ${uniqueEmail()}` } }),
    expected: adminOnly(200),
  },
  {
    route: "PATCH /admin/categories/{category_id} (a booking policy)",
    request: async () => ({
      method: "PATCH",
      path: `/admin/categories/${await insertCategory()}`,
      body: { booking_opens_hours_before: 168, booking_closes_minutes_before: 60, cancel_until_minutes_before: 720, max_active_per_user: 3 },
    }),
    expected: adminOnly(200),
  },
  {
    route: "DELETE /admin/categories/{category_id}",
    request: async () => ({ method: "DELETE", path: `/admin/categories/${await insertCategory()}` }),
    expected: adminOnly(200),
  },
  {
    route: "GET /admin/slots/{slot_id}/bookings",
    request: async () => ({ method: "GET", path: `/admin/slots/${await createSlot()}/bookings` }),
    expected: adminOnly(200),
  },
  {
    route: "POST /admin/bookings/{booking_id}/check-in",
    request: async ({ user }) => ({ method: "POST", path: `/admin/bookings/${(await book(user, await createSlot())).body.id}/check-in` }),
    expected: adminOnly(200),
  },
  {
    route: "DELETE /admin/bookings/{booking_id}/check-in",
    request: async ({ user }) => ({ method: "DELETE", path: `/admin/bookings/${(await book(user, await createSlot())).body.id}/check-in` }),
    expected: adminOnly(200),
  },
  {
    route: "POST /admin/webhooks",
    // An event type that no request of this file causes, so that no delivery is attempted.
    request: async () => ({ method: "POST", path: "/admin/webhooks", body: { url: "https://example.com/hook", events: ["booking.expired"] } }),
    expected: adminOnly(201),
  },
  { route: "GET /admin/webhooks", request: async () => ({ method: "GET", path: "/admin/webhooks" }), expected: adminOnly(200) },
  {
    route: "DELETE /admin/webhooks/{webhook_id}",
    request: async () => ({ method: "DELETE", path: `/admin/webhooks/${await insertWebhook()}` }),
    expected: adminOnly(200),
  },
  {
    route: "GET /admin/webhooks/{webhook_id}/deliveries",
    request: async () => ({ method: "GET", path: `/admin/webhooks/${await insertWebhook()}/deliveries` }),
    expected: adminOnly(200),
  },
  { route: "GET /slots/{slot_id}", request: async () => ({ method: "GET", path: `/slots/${await createSlot()}` }), expected: anyone(200) },
  { route: "GET /slots/{slot_id}/event.ics", request: async () => ({ method: "GET", path: `/slots/${await createSlot()}/event.ics` }), expected: anyone(200) },
  {
    route: "POST /admin/slots/series",
    request: async () => ({
      method: "POST",
      path: "/admin/slots/series",
      body: { category_id: 1, timezone: "UTC", first_start_local: "2040-06-04T10:00", duration_minutes: 60, rrule: "FREQ=DAILY;COUNT=2", max_capacity: 5 },
    }),
    expected: adminOnly(201),
  },
  { route: "GET /user/calendar-feed", request: async () => ({ method: "GET", path: "/user/calendar-feed" }), expected: signedIn(200) },
  { route: "POST /user/calendar-feed/rotate", request: async () => ({ method: "POST", path: "/user/calendar-feed/rotate" }), expected: signedIn(200) },
  {
    // The URL is the credential: whoever holds it reads the feed, with or without a token.
    route: "GET /calendar/{feed_secret}.ics",
    request: async ({ user }) => {
      const { body } = await api<{ url: string }>("GET", "/user/calendar-feed", { token: user.token });
      return { method: "GET", path: new URL(body.url).pathname };
    },
    expected: anyone(200),
  },
  {
    route: "PUT /user/password",
    request: async () => ({ method: "PUT", path: "/user/password", body: { current_password: PASSWORD, new_password: "a brand new passphrase" } }),
    expected: signedIn(200),
    ownAccount: true,
  },
  { route: "POST /user/sessions/revoke", request: async () => ({ method: "POST", path: "/user/sessions/revoke" }), expected: signedIn(200), ownAccount: true },
  { route: "GET /user/export", request: async () => ({ method: "GET", path: "/user/export" }), expected: signedIn(200) },
  {
    // An admin may leave while another admin remains (the one made in beforeAll).
    route: "DELETE /user",
    request: async () => ({ method: "DELETE", path: "/user", body: { password: PASSWORD } }),
    expected: signedIn(200),
    ownAccount: true,
  },
];

/** The error code that goes with each refusal in the table. */
const REFUSAL_CODES: Record<number, string> = { 401: "not_authenticated", 403: "forbidden", 404: "booking_not_found" };

const tokens = {} as Record<Caller, string | undefined>;
const fixtures = {} as Fixtures;

beforeAll(async () => {
  const [user, another, admin, demoted] = [await createUser(), await createUser(), await createUser("ADMIN"), await createUser("ADMIN")];
  await env.DB.prepare("UPDATE users SET role = 'USER' WHERE id = ?").bind(demoted.id).run();
  Object.assign(tokens, { anonymous: undefined, user: user.token, "another user": another.token, admin: admin.token, "demoted admin": demoted.token });
  const email = uniqueEmail();
  const password = "matrix password 1";
  expect((await api("POST", "/register", { body: { email, password } })).status).toBe(201);
  Object.assign(fixtures, { user, email, password });
});

const cells = MATRIX.flatMap(({ route, request, expected, ownAccount }) =>
  CALLERS.filter((caller) => expected[caller] !== undefined).map((caller) => [route, caller, expected[caller]!, request, ownAccount ?? false] as const),
);

describe("authorization matrix", () => {
  it("covers every operation in the OpenAPI document", async () => {
    const { body } = await api<{ paths: Record<string, Record<string, unknown>> }>("GET", "/openapi.json");
    const documented = Object.entries(body.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    const covered = MATRIX.map(({ route }) => route.split(" (")[0]);
    expect(documented.filter((operation) => !covered.includes(operation))).toEqual([]);
  });

  it.each(cells)("%s as %s answers %i", async (_route, caller, status, request, ownAccount) => {
    const { method, path, body } = await request(fixtures);
    const token = ownAccount ? await ownAccountCaller(caller) : tokens[caller];
    const response = await api<Partial<ErrorBody>>(method, path, { token, body });
    expect(response.status).toBe(status);
    if (REFUSAL_CODES[status]) expect(response.body.code).toBe(REFUSAL_CODES[status]);
  });
});
