// --against URL: another server that speaks the original's API (../shared/SEED_API.md), seeded
// through that API alone, and the comparison of its rows with ours. Not our AppType: this is the
// one place where the seed API's JSON shapes are typed, by hand, and called with plain fetch.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { clientAddress, hoursFromNow, mapLimit } from "../api-client";
import type { Measured } from "./measurement";
import { SLOT_COUNT, progress, type ScenarioName } from "./scenarios";
import { PASSWORD, type SeedApiData } from "./seed-api-scenarios";

/** The seed API's shapes, as SEED_API.md gives them (only the fields the bench reads). */
type SeedApi = {
  token: { access_token: string; token_type: string };
  category: { id: number; name: string };
  slot: { id: number; category_id: number; start_time: string; end_time: string; max_capacity: number; available_spots: number };
  booking: { id: number; user_id: number; time_slot_id: number; status: string };
};

/** SEED_API.md names no status for its creations: FastAPI's default is 200, ours answer 201. Both count. */
const CREATED = [200, 201];

/** The seed API's requests, with plain fetch; any status but the expected ones throws. */
class SeedApiClient {
  constructor(readonly baseUrl: string) {}

  async #call<T>(method: string, path: string, expected: number[], options: { token?: string; json?: unknown; address?: string } = {}): Promise<T> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.json !== undefined) headers["content-type"] = "application/json";
    // Harmless to a server that ignores it; ours throttles registrations and logins per address.
    if (options.address) headers["cf-connecting-ip"] = options.address;
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    const response = await fetch(new URL(path, this.baseUrl), { method, headers, body, signal: AbortSignal.timeout(60_000) });
    const text = await response.text();
    if (!expected.includes(response.status)) throw new Error(`${method} ${path} on ${this.baseUrl}: expected HTTP ${expected.join(" or ")}, got ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  register = (email: string, address?: string) => this.#call<SeedApi["token"]>("POST", "/register", CREATED, { json: { email, password: PASSWORD }, address });
  login = (email: string) => this.#call<SeedApi["token"]>("POST", "/login", [200], { json: { email, password: PASSWORD } });
  categories = () => this.#call<SeedApi["category"][]>("GET", "/categories", [200]);
  createSlot = (admin: string, slot: Omit<SeedApi["slot"], "id" | "available_spots">) => this.#call<SeedApi["slot"]>("POST", "/admin/slots", CREATED, { token: admin, json: slot });
  book = (token: string, slotId: number) => this.#call<SeedApi["booking"]>("POST", "/bookings", CREATED, { token, json: { time_slot_id: slotId } });
  deleteSlot = (admin: string, slotId: number) => this.#call<unknown>("DELETE", `/admin/slots/${slotId}`, [200], { token: admin });
}

/** The seed API's times have no zone (SEED_API.md): UTC, without the Z. */
const naive = (iso: string) => iso.replace(/Z$/, "");

/**
 * Runs `command` with sh, the email as $1 and in BENCH_ADMIN_EMAIL, to make that user an ADMIN:
 * the original has no API for it (its README: an UPDATE in its database).
 */
async function promote(command: string, email: string): Promise<void> {
  // Not spawnSync: a blocked event loop would miss the server closing idle keep-alive connections,
  // and the next request would go out on a closed one. Its output goes to stderr, as progress does.
  const child = spawn("sh", ["-c", command, "sh", email], { stdio: ["ignore", 2, 2], env: { ...process.env, BENCH_ADMIN_EMAIL: email } });
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  if (code !== 0) throw new Error(`--promote-command exited with ${code ?? signal} for ${email}`);
}

export type TheirSeed = SeedApiData & { admin: string; slotIds: number[] };

/**
 * Seeds the other server through the seed API: an admin (registered, promoted by `promoteCommand`,
 * logged in again), `userCount` users, and 100 slots over its first 5 categories (it must have
 * one: the seed API cannot make categories), the first of capacity 1 and booked. Emails carry the
 * run's time, since that server keeps what earlier runs registered.
 */
export async function seedTheirs(baseUrl: string, userCount: number, promoteCommand: string): Promise<TheirSeed & { client: SeedApiClient }> {
  const client = new SeedApiClient(baseUrl);
  const run = Date.now().toString(36);
  const adminEmail = `bench-${run}-admin@bench.test`;
  await client.register(adminEmail);
  await promote(promoteCommand, adminEmail);
  const admin = (await client.login(adminEmail)).access_token;
  const categoryIds = (await client.categories()).map((category) => category.id).slice(0, 5);
  if (categoryIds.length === 0) throw new Error(`${baseUrl} has no categories, and the seed API cannot make one`);
  const now = Date.now();
  const slots = await mapLimit(Array.from({ length: SLOT_COUNT }, (_, i) => i), 10, (i) =>
    client.createSlot(admin, {
      category_id: categoryIds[i % categoryIds.length],
      start_time: naive(hoursFromNow(24 + i, now)),
      end_time: naive(hoursFromNow(25 + i, now)),
      max_capacity: i === 0 ? 1 : Math.max(userCount, 10),
    }),
  );
  const users = await mapLimit(Array.from({ length: userCount }, (_, i) => `bench-${run}-user-${i}@bench.test`), 20, async (email, i) => ({
    email,
    token: (await client.register(email, clientAddress(i))).access_token,
  }));
  const [fullSlot, ...spreadSlots] = slots;
  await client.book(users[0].token, fullSlot.id);
  progress(`Seeded ${baseUrl}: ${SLOT_COUNT} slots in ${categoryIds.length} categories, ${userCount} users.`);
  return { client, admin, users, categoryIds, fullSlot, spreadSlots, slotIds: slots.map((slot) => slot.id) };
}

/** Deletes the slots the run made on the other server, so that the next run lists as many. */
export async function removeTheirSlots(seed: TheirSeed & { client: SeedApiClient }): Promise<void> {
  await mapLimit(seed.slotIds, 10, (slotId) => seed.client.deleteSlot(seed.admin, slotId));
}

/** One scenario on both servers: their rates and p99s, and ours ÷ theirs. */
export type Comparison = { scenario: ScenarioName; oursRequestsPerSecond: number; theirsRequestsPerSecond: number; ratio: number; oursP99Ms: number; theirsP99Ms: number };

export function compare(ours: Measured[], theirs: Measured[]): Comparison[] {
  return theirs.flatMap((their) => {
    const our = ours.find((row) => row.scenario === their.scenario);
    if (!our) return [];
    const ratio = our.requestsPerSecond / their.requestsPerSecond;
    return [{ scenario: their.scenario, oursRequestsPerSecond: our.requestsPerSecond, theirsRequestsPerSecond: their.requestsPerSecond, ratio, oursP99Ms: our.p99Ms, theirsP99Ms: their.p99Ms }];
  });
}
