// What the benchmark loads: the seeded data (a category, 100 slots, the users) and each scenario's
// requests, as autocannon options.
import type autocannon from "autocannon";
import { ApiClient, clientAddress, hoursFromNow, mapLimit, type Slot, type Token } from "../api-client";
import { issueToken } from "../../src/auth/jwt";
import { executeSql, promoteToAdmin } from "../dev-server";
import type { Options } from "./options";
import { JSON_HEADERS, PASSWORD, seedApiScenarios, type SeedApiData } from "./seed-api-scenarios";

export const SCENARIO_NAMES = ["health", "slots", "slots-filtered", "slots-week", "login", "book-full", "book-spread", "book-hot", "cancel-rebook", "cancel-rebook-watched"] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const SLOT_COUNT = 100;
const CATEGORY_COUNT = 5;
const REGISTRATION_CONCURRENCY = 20;
/** A slot's largest capacity (slots/schemas.ts): book-hot's slot has room for every one of its users. */
export const HOT_CAPACITY = 10_000;

/** Progress and notes go to stderr, so that stdout carries only the results (table or JSON). */
export const progress = (message: string) => console.error(message);

/** Our server's seed: what the seed API's scenarios need (seed-api-scenarios.ts), and what ours alone use. */
export type Seed = SeedApiData & {
  admin: Token;
  churnSlot: Slot;
  /** book-hot's slot and its users' tokens, if it runs. */
  hot?: { slot: Slot; tokens: Token[] };
};

/**
 * book-hot's users: `count` rows inserted into D1 at once (registering them through the API would
 * take minutes of PBKDF2; none of them ever logs in), each with a token signed with the server's
 * secret, as POST /login would have issued it.
 */
async function insertHotUsers(persistTo: string, jwtSecret: string, count: number): Promise<Token[]> {
  const createdAt = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const ids = await executeSql<{ id: number }>(
    persistTo,
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
     INSERT INTO users (email, password_hash, role, created_at)
     SELECT 'bench-hot-' || i || '@bench.test', 'no-login', 'USER', '${createdAt}' FROM n RETURNING id`,
  );
  const env = { JWT_SECRET: jwtSecret } as Env;
  return Promise.all(ids.map(({ id }) => issueToken(env, { id, role: "USER" })));
}

export async function seed(api: ApiClient, persistTo: string, userCount: number, hotUsers?: { jwtSecret: string; count: number }): Promise<Seed> {
  const started = Date.now();
  const adminEmail = "bench-admin@bench.test";
  await api.register(adminEmail, PASSWORD);
  await promoteToAdmin(persistTo, adminEmail);
  const admin = await api.login(adminEmail, PASSWORD);

  await api.createCategory(admin, "Bench");
  const categoryIds = (await api.categories()).map((category) => category.id);
  if (categoryIds.length !== CATEGORY_COUNT) throw new Error(`Expected ${CATEGORY_COUNT} categories, found ${categoryIds.length}`);

  // Slot 0: capacity 1, booked below, for book-full. Slot 1: cancel-rebook, room for every connection.
  // The other 98: book-spread, never full (a slot gets at most one booking per user).
  const now = Date.now();
  const slots = await mapLimit(Array.from({ length: SLOT_COUNT }, (_, i) => i), 10, (i) =>
    api.createSlot(admin, {
      category_id: categoryIds[i % CATEGORY_COUNT],
      start_time: hoursFromNow(24 + i, now),
      end_time: hoursFromNow(25 + i, now),
      max_capacity: i === 0 ? 1 : Math.max(userCount, 10),
    }),
  );
  progress(`Seeded 1 category and ${SLOT_COUNT} slots in ${CATEGORY_COUNT} categories.`);

  const registrationStarted = Date.now();
  let lastReport = registrationStarted;
  const users = await mapLimit(
    Array.from({ length: userCount }, (_, i) => `bench-user-${i}@bench.test`),
    REGISTRATION_CONCURRENCY,
    async (email, i) => ({ email, token: await api.register(email, PASSWORD, clientAddress(i)) }),
    (finished) => {
      if (finished === userCount || finished % 100 === 0 || Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        const seconds = (Date.now() - registrationStarted) / 1000;
        progress(`  registered ${finished}/${userCount} users (${seconds.toFixed(0)} s, ${(finished / seconds).toFixed(1)}/s)`);
      }
    },
  );

  const [fullSlot, churnSlot, ...spreadSlots] = slots;
  await api.book(users[0].token, fullSlot.id);
  const hot = hotUsers && {
    slot: await api.createSlot(admin, { category_id: categoryIds[0], start_time: hoursFromNow(24 + SLOT_COUNT + 1, now), end_time: hoursFromNow(25 + SLOT_COUNT + 1, now), max_capacity: HOT_CAPACITY }),
    tokens: await insertHotUsers(persistTo, hotUsers.jwtSecret, hotUsers.count),
  };
  if (hot) progress(`Inserted ${hot.tokens.length} users for book-hot.`);
  progress(`Seeding done in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  return { admin, users, categoryIds, fullSlot, churnSlot, spreadSlots, hot };
}

export type Scenario = {
  name: ScenarioName;
  /** Statuses a correct server answers in this scenario; anything else is reported. */
  expected: number[];
  /** autocannon options for one run (called once for the warm-up and once for the measurement). */
  load: () => Omit<autocannon.Options, "url" | "duration" | "connections">;
  /** A note on how far the scenario got through its unique inputs, if that matters. */
  note?: () => string | undefined;
  /**
   * A comparison with watchers: `count` WebSockets watch the slot `prepare` creates while the
   * scenario runs, in slices alternating with `unwatched`, the same load on an unwatched slot.
   */
  watched?: { count: number; prepare: () => Promise<void>; slotId: () => number; unwatched: Scenario };
};

export function scenarios(seed: Seed, options: Options, api: ApiClient): Scenario[] {
  const { users } = seed;
  const bearer = (token: Token) => ({ ...JSON_HEADERS, authorization: `Bearer ${token}` });

  // Request n is hot user n: none books twice, so every answer is 201 until the users run out.
  let hotTurn = 0;
  const hotTokens = seed.hot?.tokens ?? [];
  const bookHot: Scenario = {
    name: "book-hot",
    expected: [201],
    load: () => ({
      requests: [
        {
          method: "POST",
          path: "/bookings",
          body: JSON.stringify({ time_slot_id: seed.hot?.slot.id }),
          setupRequest: (request) => ({ ...request, headers: bearer(hotTokens[hotTurn++ % hotTokens.length]) }),
        },
      ],
    }),
    note: () => (hotTurn > hotTokens.length ? `book-hot wrapped around its ${hotTokens.length} users: repeats answer 409` : undefined),
  };

  // Each connection is one user: POST a booking (remember its id), DELETE it, again. Users come
  // from the end of the list, a new one per connection (warm-up and run use different ones, as a
  // connection cut at the end of the warm-up may leave its booking live).
  let churnUsers = 0;
  const churn = (name: ScenarioName, slotId: () => number): Scenario => ({
    name,
    expected: [200, 201],
    load: () => ({
      setupClient: (client) => {
        const user = users[users.length - 1 - (churnUsers++ % (users.length - 1))];
        let bookingId: number | undefined;
        client.setRequests([
          {
            method: "POST",
            path: "/bookings",
            headers: bearer(user.token),
            body: JSON.stringify({ time_slot_id: slotId() }),
            onResponse: (status, body) => {
              bookingId = status === 201 ? (JSON.parse(body) as { id: number }).id : undefined;
            },
          },
          {
            method: "DELETE",
            headers: { authorization: `Bearer ${user.token}` },
            // No booking to cancel (the POST failed): a falsy request makes autocannon go back to the POST.
            setupRequest: (request) => (bookingId === undefined ? (null as unknown as autocannon.Request) : { ...request, path: `/bookings/${bookingId}` }),
            onResponse: () => {
              bookingId = undefined;
            },
          },
        ]);
      },
    }),
    note: () => (churnUsers > users.length - 1 ? `${name} ran out of fresh users: some connections shared one` : undefined),
  });

  // Its slot is made when it runs, so that the other scenarios see 100 slots. Its unwatched half
  // runs on cancel-rebook's slot, which no one watches.
  let watchedSlot: Slot | undefined;
  const cancelRebookWatched: Scenario = {
    ...churn("cancel-rebook-watched", () => watchedSlot!.id),
    watched: {
      count: options.watchers,
      prepare: async () => {
        const start = hoursFromNow(24 + SLOT_COUNT);
        watchedSlot = await api.createSlot(seed.admin, { category_id: seed.categoryIds[0], start_time: start, end_time: hoursFromNow(25 + SLOT_COUNT), max_capacity: 10_000 });
      },
      slotId: () => watchedSlot!.id,
      unwatched: churn("cancel-rebook-watched", () => seed.churnSlot.id),
    },
  };

  const weekStart = hoursFromNow(0);
  const slotsWeek: Scenario = {
    name: "slots-week",
    expected: [200],
    load: () => ({ requests: [{ method: "GET", path: `/slots?categories=${seed.categoryIds[0]}&from=${weekStart}&to=${hoursFromNow(7 * 24, Date.parse(weekStart))}` }] }),
  };
  const health: Scenario = { name: "health", expected: [200], load: () => ({ requests: [{ method: "GET", path: "/health" }] }) };
  const own = [health, slotsWeek, bookHot, churn("cancel-rebook", () => seed.churnSlot.id), cancelRebookWatched];
  const byName = new Map([...seedApiScenarios(seed, { ownCodes: true }), ...own].map((scenario) => [scenario.name, scenario]));
  const all = SCENARIO_NAMES.map((name) => byName.get(name)!);
  return all;
}
