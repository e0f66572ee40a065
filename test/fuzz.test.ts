import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { WEBHOOK_EVENT_TYPES } from "../src/db/schema";
import { MAX_BODY_BYTES } from "../src/http/app";
import type { ErrorBody } from "../src/errors/catalogue";
import { api, type ApiResponse } from "./support/client";
import { book } from "./support/bookings";
import { createSlot } from "./support/slots";
import { createUser, type TestUser } from "./support/users";
import { propertyRunSettings } from "./support/properties";

// "Bad input never hurts": arbitrary bodies, path segments, query strings and headers sent to
// every route that takes input. No answer may be a 5xx; every refusal is JSON with a string
// `detail` and `code`; and a refused request (4xx) leaves users, categories, time_slots,
// bookings and user_preferences exactly as they were.
//
// The seed is random and printed; fast-check prints the seed and path of a failure. Replay:
//   VITE_FC_SEED=<seed> VITE_FC_PATH="<path>" npx vitest run test/fuzz.test.ts

type Method = "GET" | "POST" | "PUT" | "DELETE";
type Caller = "none" | "user" | "admin" | "malformed";
type FuzzRequest = { method: Method; path: string; caller: Caller; headers: Record<string, string>; body?: string };

/**
 * The data a refused request must not change. idempotency_keys is left out: it records refusals by
 * design; so are the columns of webhooks that deliveries update in the background.
 */
const GUARDED_TABLES = ["users", "categories", "time_slots", "bookings", "user_preferences", "webhooks", "booking_moves"] as const;
const GUARDED_COLUMNS: Partial<Record<(typeof GUARDED_TABLES)[number], string>> = { webhooks: "id, url, events, secret, created_at" };
type Fingerprint = Record<(typeof GUARDED_TABLES)[number], { rows: number; sha256: string }>;

async function fingerprint(): Promise<Fingerprint> {
  const results = await env.DB.batch<Record<string, unknown>>(GUARDED_TABLES.map((table) => env.DB.prepare(`SELECT ${GUARDED_COLUMNS[table] ?? "*"} FROM ${table} ORDER BY rowid`)));
  const entries = await Promise.all(
    results.map(async ({ results: rows }, i) => {
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(rows)));
      const sha256 = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
      return [GUARDED_TABLES[i], { rows: rows.length, sha256 }] as const;
    }),
  );
  return Object.fromEntries(entries) as Fingerprint;
}

let user: TestUser;
let admin: TestUser;
const stats = { requests: 0, statuses: {} as Record<number, number> };

beforeAll(async () => {
  // Something for ids in paths to hit: slots 1..3 and a booking on each (ids are small: storage is fresh per file).
  [user, admin] = await Promise.all([createUser(), createUser("ADMIN")]);
  for (const capacity of [1, 2, 3]) await book(user, await createSlot({ capacity }));
});

afterAll(() => {
  const errors = Object.entries(stats.statuses).reduce((sum, [status, n]) => sum + (Number(status) >= 500 ? n : 0), 0);
  console.log(`fuzz: ${stats.requests} requests, statuses ${JSON.stringify(stats.statuses)}, ${errors} × 5xx`);
});

function authorization(caller: Caller): Record<string, string> {
  switch (caller) {
    case "none":
      return {};
    case "user":
      return { Authorization: `Bearer ${user.token}` };
    case "admin":
      return { Authorization: `Bearer ${admin.token}` };
    case "malformed":
      return { Authorization: `Bearer ${admin.token.slice(0, -3)}abc` };
  }
}

/** Sends one request; asserts the rules every answer obeys, whatever was sent. */
async function expectHarmless(request: FuzzRequest): Promise<ApiResponse<Partial<ErrorBody>>> {
  const { method, path, caller, headers, body } = request;
  const before = await fingerprint();
  const response = await api<Partial<ErrorBody>>(method, path, { headers: { ...headers, ...authorization(caller) }, rawBody: body });
  stats.requests += 1;
  stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
  const what = `${method} ${path.slice(0, 200)} as ${caller} answered ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`;

  expect(response.status, `no 5xx: ${what}`).toBeLessThan(500);
  expect(response.status, what).toBeGreaterThanOrEqual(200);
  if (response.status >= 300) {
    expect(response.headers.get("Content-Type"), `a refusal is JSON: ${what}`).toMatch(/^application\/json\b/);
    expect(response.body, `a refusal has a string detail and code: ${what}`).toMatchObject({ detail: expect.any(String), code: expect.any(String) });
  }
  if (response.status >= 300 || method === "GET") {
    expect(await fingerprint(), `a refused request (or a read) changes nothing: ${what}`).toEqual(before);
  }
  return response;
}

// ---- Generators ------------------------------------------------------------------------------

/** Strings that have broken parsers before: unicode, %-encodings, numbers in disguise, very long ones. */
const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "", " ", "0", "-1", "1", "2", "3", "01", "1.0", "1e3", "0x1F", "1_000", "NaN", "Infinity", "-0", "null", "true", "undefined",
    "9".repeat(15), "9".repeat(16), "9007199254740993", "１", "٣", "1,2", "1,,2", ",", "1 ", " 1", "\u00001", "__proto__", "constructor",
    "..", "../admin/slots", "%", "%%", "%zz", "%00", "%2F", "%2e%2e", "%C0%AF", "%E0%A4", "%FF%FE", "%u0041", "%25", "%F0%9F%98%80",
    "2030-01-01T10:00:00Z", "2030-02-30T10:00:00Z", "2030-01-01T24:00:00+00:00", "2030-01-01T10:00:00+99:99", "2030-01-01 10:00",
    "9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z", "+275760-09-13T00:00:00Z",
  ),
  fc.array(fc.oneof(fc.stringMatching(/^%[0-9A-Fa-f]{2}$/), fc.constantFrom("%", "%z", "%E2%82", "/", "?", "#", "&", "=", "+", ";")), { minLength: 1, maxLength: 12 }).map((parts) => parts.join("")),
  fc.oneof(fc.integer(), fc.double(), fc.bigInt()).map(String),
  fc.tuple(fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 }), fc.integer({ min: 200, max: 3_000 })).map(([piece, times]) => piece.repeat(times)),
);

/** A JSON value of any kind, or one that looks like a field of this API. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  nastyString,
  fc.integer({ min: -2, max: 6 }),
  fc.oneof(fc.integer(), fc.double(), fc.maxSafeInteger()),
  fc.array(fc.oneof(fc.integer({ min: -1, max: 6 }), fc.jsonValue()), { maxLength: 120 }),
  fc.emailAddress(),
);

/** Mostly a valid value for a field, sometimes an odd one, sometimes anything at all. */
const plausible = (valid: fc.Arbitrary<unknown>, ...odd: fc.Arbitrary<unknown>[]) =>
  fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: fc.oneof(...odd, nastyString) }, { weight: 1, arbitrary: fieldValue });

const isoBetween = (from: string, to: string) => fc.date({ min: new Date(from), max: new Date(to), noInvalidDate: true }).map((date) => date.toISOString());
const oddInstant = fc.oneof(
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc
    .tuple(isoBetween("2030-01-01", "2031-01-01"), fc.stringMatching(/^([+-]\d{2}:?\d{2}|Z|z|)$/))
    .map(([iso, zone]) => iso.slice(0, 19) + zone),
);
const id = plausible(fc.integer({ min: 1, max: 4 }), fc.integer({ min: -1, max: 6 }));
/** Valid start times mostly (7 in 9) come before valid end times. */
const SLOT_FIELDS = {
  category_id: id,
  start_time: plausible(isoBetween("2030-01-01", "2030-01-04"), oddInstant),
  end_time: plausible(isoBetween("2030-01-02", "2030-01-05"), oddInstant),
  max_capacity: plausible(fc.integer({ min: 1, max: 20 }), fc.integer({ min: -1, max: 10_001 })),
};
const CREDENTIALS = {
  email: plausible(
    fc.tuple(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.constantFrom("example.com", "test.example")).map(([local, domain]) => `${local}@${domain}`),
    fc.emailAddress(),
    fc.constantFrom("fuzz@example.com", " FUZZ@Example.COM ", `${"a".repeat(250)}@example.com`),
  ),
  password: plausible(fc.string({ minLength: 8, maxLength: 40 }), fc.string({ maxLength: 130 }), fc.string({ unit: "grapheme", minLength: 8, maxLength: 40 })),
};

const WEBHOOK_FIELDS = {
  // The test receiver (test/global-setup.ts), so that events sent to fuzzed webhooks are answered.
  url: plausible(
    fc.constant(`${inject("webhookReceiver")}/ok/fuzz`),
    fc.constantFrom("http://example.com/", "https://10.0.0.1/", "https://[::1]/", "ftp://example.com/", `https://example.com/${"a".repeat(2050)}`),
  ),
  events: plausible(fc.subarray([...WEBHOOK_EVENT_TYPES], { minLength: 1 }), fc.array(nastyString, { maxLength: 3 })),
};

type Route = { method: Method; path: (id: string) => string; fields: Record<string, fc.Arbitrary<unknown>> };
const BODY_ROUTES: Route[] = [
  { method: "POST", path: () => "/register", fields: CREDENTIALS },
  { method: "POST", path: () => "/login", fields: CREDENTIALS },
  {
    method: "POST",
    path: () => "/user/preferences",
    fields: {
      preferred_categories: plausible(
        fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 1, maxLength: 8 }),
        fc.array(id, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 120 }),
      ),
    },
  },
  // The callers' stored hashes verify no password, so these are always refused.
  { method: "PUT", path: () => "/user/password", fields: { current_password: CREDENTIALS.password, new_password: CREDENTIALS.password } },
  { method: "DELETE", path: () => "/user", fields: { password: CREDENTIALS.password } },
  { method: "POST", path: () => "/bookings", fields: { time_slot_id: id } },
  { method: "POST", path: (id) => `/bookings/${id}/reschedule`, fields: { time_slot_id: id } },
  { method: "POST", path: () => "/admin/webhooks", fields: WEBHOOK_FIELDS },
  { method: "POST", path: () => "/admin/categories", fields: { name: plausible(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom("Fitness", " fitness ", "Yoga", "x".repeat(201))) } },
  { method: "POST", path: () => "/admin/slots", fields: SLOT_FIELDS },
  { method: "PUT", path: (id) => `/admin/slots/${id}`, fields: SLOT_FIELDS },
];

/** The route's fields (all, or any subset) with plausible values, plus sometimes keys of no route. */
const shapedObject = (fields: Route["fields"]) =>
  fc
    .tuple(
      fc.oneof(fc.record(fields), fc.record(fields, { requiredKeys: [] })),
      fc.option(fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "role", "id", "user_id")), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }), { nil: {} }),
    )
    .map(([values, extra]) => JSON.stringify({ ...extra, ...values }));

/** A body of about MAX_BODY_BYTES bytes, either side of the limit. */
const bodyNearLimit = fc
  .integer({ min: MAX_BODY_BYTES - 64, max: MAX_BODY_BYTES + 64 })
  .map((bytes) => JSON.stringify({ name: "x".repeat(Math.max(0, bytes - 11)) }));

const ALL_FIELDS = Object.assign({}, ...BODY_ROUTES.map((route) => route.fields)) as Route["fields"];

/** Any body: shaped like `fields`, shaped like another route's, any JSON, anything serialised, or not JSON at all. */
const bodyFor = (fields: Route["fields"]): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 5, arbitrary: shapedObject(fields) },
    { weight: 1, arbitrary: shapedObject(ALL_FIELDS) },
    { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
    {
      weight: 1,
      arbitrary: fc
        .anything({ withBoxedValues: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withSparseArray: true, withDate: true, withTypedArray: true })
        .map((value) => JSON.stringify(value) ?? String(value)),
    },
    { weight: 1, arbitrary: nastyString },
    { weight: 1, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.bigInt()).map(String) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        undefined,
        "{",
        '{"time_slot_id": 1,}',
        '{"__proto__": {"role": "ADMIN"}, "time_slot_id": 1}',
        '{"time_slot_id": 1, "time_slot_id": "x"}',
        '{"max_capacity": 1e400}',
        "\uFEFF{}",
      ),
    },
    { weight: 1, arbitrary: bodyNearLimit },
  );

/** Visible ASCII and spaces (workerd re-encodes other header bytes as UTF-8 and warns). */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 });

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "application/json; charset=latin1",
      "application/problem+json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
    ),
  },
  { weight: 1, arbitrary: headerValue },
);

/** Sometimes an Idempotency-Key (the booking routes read it), valid or not. */
const extraHeaders = fc.option(
  fc.oneof(fc.uuid(), headerValue, fc.constantFrom("", " ", "x".repeat(256))).map((key): Record<string, string> => ({ "Idempotency-Key": key })),
  { nil: {} },
);

const caller = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Caller>("user", "admin") },
  { weight: 1, arbitrary: fc.constantFrom<Caller>("none", "malformed") },
);

/** A path segment, %-encoded or raw (raw '/', '?', '#' and '..' reshape the URL: also fair game). */
const segment = fc.oneof(
  { weight: 2, arbitrary: nastyString.map(encodeURIComponent) },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map(String) },
);

const ID_ROUTES: Omit<Route, "fields">[] = [
  { method: "PUT", path: (id) => `/admin/slots/${id}` },
  { method: "DELETE", path: (id) => `/bookings/${id}` },
  { method: "DELETE", path: (id) => `/admin/slots/${id}` },
  { method: "POST", path: (id) => `/bookings/${id}/reschedule` },
  { method: "DELETE", path: (id) => `/admin/webhooks/${id}` },
  { method: "GET", path: (id) => `/admin/webhooks/${id}/deliveries` },
];

/** ?categories=&from=&to= with arbitrary values (each %-encoded or raw, any subset), or a whole arbitrary query string. */
const slotsQuery = fc.oneof(
  fc
    .tuple(
      fc.subarray(["categories", "from", "to", "categories", "x"]),
      fc.array(fc.tuple(nastyString, fc.boolean()), { minLength: 5, maxLength: 5 }),
    )
    .map(([keys, values]) => keys.map((key, i) => `${key}=${values[i][1] ? encodeURIComponent(values[i][0]) : values[i][0]}`).join("&")),
  nastyString,
);

/** Usually nothing; sometimes one more path segment or a query string, which no body route takes. */
const pathSuffix = fc.oneof(
  { weight: 8, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: segment.map((extra) => `/${extra}`) },
  { weight: 1, arbitrary: slotsQuery.map((query) => `?${query}`) },
);

const bodyRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  ...BODY_ROUTES.map((route) =>
    fc
      .record({ id: fc.integer({ min: 1, max: 4 }), suffix: pathSuffix, caller, contentType, extra: extraHeaders, body: bodyFor(route.fields) })
      .map(({ id, suffix, caller, contentType, extra, body }) => ({
        method: route.method,
        path: route.path(String(id)) + suffix,
        caller,
        headers: { "Content-Type": contentType, ...extra },
        body,
      })),
  ),
);

const pathRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({ route: fc.constantFrom(...ID_ROUTES), segment, caller, extra: extraHeaders, body: fc.option(bodyFor(SLOT_FIELDS), { nil: undefined }) })
  .map(({ route, segment, caller, extra, body }) => ({
    method: route.method,
    path: route.path(segment),
    caller,
    headers: { "Content-Type": "application/json", ...extra },
    body: route.method === "GET" ? undefined : body,
  }));

const slotsRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({ query: slotsQuery, caller })
  .map(({ query, caller }) => ({ method: "GET" as const, path: `/slots?${query}`, caller, headers: {} }));

/**
 * Runs `numRuns` requests through `expectHarmless`, then checks that the fuzzing was not vacuous:
 * at least a fifth of the requests got past authentication to validation or beyond.
 */
function property(requests: fc.Arbitrary<FuzzRequest>, numRuns: number) {
  return async () => {
    const settings = propertyRunSettings(numRuns);
    console.log(`fuzz seed ${settings.seed}`);
    let sent = 0;
    let pastAuthentication = 0;
    await fc.assert(
      fc.asyncProperty(requests, async (request) => {
        const { status } = await expectHarmless(request);
        sent += 1;
        if (status !== 401 && status !== 403) pastAuthentication += 1;
      }),
      settings,
    );
    expect(pastAuthentication, `requests past authentication, of ${sent}`).toBeGreaterThanOrEqual(sent / 5);
  };
}

describe("bad input never hurts", () => {
  it("is sent by real callers: the user's token reaches user routes and the admin's reaches admin validation", async () => {
    expect((await api("GET", "/user/preferences", { token: user.token })).status).toBe(200);
    expect((await api("PUT", "/admin/slots/1", { token: admin.token, body: {} })).status).toBe(422);
  });

  it(
    "POST /register, /login, /user/preferences, /bookings, /bookings/{id}/reschedule, /admin/categories, /admin/slots, /admin/webhooks and PUT /admin/slots/{id} answer any body, content type, caller, Idempotency-Key and stray path or query with no 5xx, and refuse with a JSON {detail, code} that changed no data",
    property(bodyRequest, 1_500),
    120_000,
  );

  it(
    "PUT and DELETE /admin/slots/{x}, DELETE /bookings/{x}, POST /bookings/{x}/reschedule, DELETE /admin/webhooks/{x} and GET /admin/webhooks/{x}/deliveries answer any path segment (unicode, %-encodings, long, reshaping the URL) with no 5xx, and refuse with a JSON {detail, code} that changed no data",
    property(pathRequest, 300),
    120_000,
  );

  it(
    "GET /slots answers any categories, from and to (or any query string), from anyone, with no 5xx and a JSON {detail, code} for every refusal",
    property(slotsRequest, 300),
    120_000,
  );
});
