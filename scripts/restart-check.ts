// "Durable across restarts": bookings and available spots survive a crash of the server, the
// per-slot Durable Objects rebuild their counts from D1 afterwards, and every webhook event of an
// acknowledged change arrives, also those in the local queue's backlog when it crashed.
import { join } from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { RESEND_AFTER_MS } from "../src/webhooks/dispatch";
import type { ReceivedWebhook } from "../test/webhook-receiver";
import { ApiClient, errorCode, hoursFromNow, type CalendarBooking, type Slot, type Token } from "./api-client";
import {
  buildWorker,
  executeSql,
  promoteToAdmin,
  randomSecret,
  runScript,
  sleep,
  startDevServer,
  temporaryDirectory,
  type DevServer,
} from "./dev-server";
import { startReceiver } from "./webhook-receiver";

const PASSWORD = "restart-check-password";
/** The receiver answers this long after each POST: the queue falls behind, so the crash finds a backlog. */
const RECEIVER_DELAY_MS = 3_000;
/** Slots created besides the five checked, for events enough to build the backlog. */
const EXTRA_SLOTS = 30;

const USAGE = `Usage: npm run test:restart [-- --help] [-- --keep-state] [-- --verbose]

Checks that the API's state is durable across a restart of the server:
  1. builds the Worker once, then serves it with wrangler's dev server (unstable_startWorker:
     workerd, as \`wrangler dev\`) on a free loopback port with a fresh, temporary state directory
  2. through the API: registers users and an admin (promoted with wrangler d1 execute), subscribes
     a slow webhook receiver on 127.0.0.1 (it answers each POST after ${RECEIVER_DELAY_MS / 1000} s) to slot and
     booking events, creates slots, books (a slot to full, others partly), cancels some bookings,
     and records GET /slots and every user's GET /bookings
  3. kills the server while the queue still holds undelivered events (SIGKILL to its workerd
     processes; the old address must stop answering) and starts it again on the same state
     directory and JWT secret, firing its cron every minute as npm start does
  4. checks that every booking and every available_spots is unchanged, that booking the full slot
     still answers 409 slot_full (its Durable Object rebuilt the count from D1), and that booking
     a slot with room still succeeds
  5. waits until the receiver has got every event written before the crash (a delivery handed
     over but not recorded is sent again by the cron ${RESEND_AFTER_MS / 60_000} minutes later, with the same
     webhook-id), and checks that none is left pending

  --keep-state   keep the state directory (its path is printed) instead of deleting it
  --verbose      wrangler logs at level "info" (every request) instead of "warn"
  --help         show this help

Exit code 0 when everything matches, 1 with a description of the first mismatch otherwise.`;


type Options = { keepState: boolean; verbose: boolean };

function parseCommandLine(): Options | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      options: { help: { type: "boolean", short: "h" }, "keep-state": { type: "boolean" }, verbose: { type: "boolean" } },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  return { keepState: values["keep-state"] ?? false, verbose: values.verbose ?? false };
}

class Mismatch extends Error {}

function sameOrFail(what: string, before: unknown, after: unknown): void {
  if (!isDeepStrictEqual(before, after)) {
    throw new Mismatch(
      `${what} changed across the restart.\n  before: ${JSON.stringify(before)}\n  after:  ${JSON.stringify(after)}`,
    );
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Mismatch(message);
}

/** Expects a 409 with the given code for booking `slotId` as `token`. */
async function expectConflict(api: ApiClient, token: Token, slotId: number, code: string, when: string): Promise<void> {
  const response = await api.send("POST", "/bookings", { token, json: { time_slot_id: slotId } });
  check(
    response.status === 409 && errorCode(response.body) === code,
    `${when}: booking slot ${slotId} should answer 409 ${code}, got ${response.status} ${JSON.stringify(response.body)}`,
  );
}

async function main(options: Options): Promise<void> {
  const scratch = temporaryDirectory("slotbook-restart-");
  if (options.keepState) scratch.keep();
  const persistTo = join(scratch.path, "state");
  // Both servers run the same build of the Worker, whatever happens to src/ meanwhile.
  const worker = await buildWorker(join(scratch.path, "worker"));
  const jwtSecret = randomSecret();
  const serverOptions = {
    persistTo,
    worker,
    jwtSecret,
    vars: { WEBHOOKS_ALLOW_LOOPBACK: "true" },
    cron: true,
    logLevel: options.verbose ? ("info" as const) : undefined,
  };
  const receiver = await startReceiver({ port: 0, answerAfterMs: RECEIVER_DELAY_MS });
  const received = async (): Promise<ReceivedWebhook[]> => (await fetch(`${receiver.origin}/received?path=/restart`)).json();
  const log = (message: string) => console.log(message);
  const run = `${Date.now().toString(36)}`;
  const emailOf = (name: string) => `${name}-${run}@restart-check.test`;

  log(`Built the Worker once (${worker}); state directory: ${persistTo}${options.keepState ? " (kept)" : ""}`);
  let server: DevServer = await startDevServer(serverOptions);
  log(`Server 1 up at ${server.baseUrl}`);
  let api = new ApiClient(server.baseUrl);

  // An admin: registered like anyone, promoted in D1, then logged in again.
  const adminEmail = emailOf("admin");
  await api.register(adminEmail, PASSWORD);
  await promoteToAdmin(persistTo, adminEmail);
  const admin = await api.login(adminEmail, PASSWORD);
  await api.createWebhook(admin, `${receiver.origin}/restart`, ["slot.created", "booking.created", "booking.cancelled"]);

  const names = ["ada", "ben", "cy", "dee"] as const;
  type Name = (typeof names)[number];
  const tokens = {} as Record<Name, Token>;
  for (const name of names) tokens[name] = await api.register(emailOf(name), PASSWORD);

  const categories = await api.categories();
  check(categories.length >= 2, `expected the migrations' default categories, got ${JSON.stringify(categories)}`);
  const newSlot = (hoursAhead: number, categoryIndex: number, maxCapacity: number) =>
    api.createSlot(admin, {
      category_id: categories[categoryIndex].id,
      start_time: hoursFromNow(hoursAhead),
      end_time: hoursFromNow(hoursAhead + 1),
      max_capacity: maxCapacity,
    });
  const full = await newSlot(24, 0, 2); // booked to capacity
  const partial = await newSlot(25, 1, 3); // two booked, one of them cancelled: room left
  const busy = await newSlot(26, 0, 5); // three booked
  const emptied = await newSlot(27, 1, 1); // booked to capacity, then cancelled: room again
  const untouched = await newSlot(28, 0, 4); // never booked
  for (let i = 0; i < EXTRA_SLOTS; i++) await newSlot(30 + i, i % 2, 1);

  await api.book(tokens.ada, full.id);
  await api.book(tokens.ben, full.id);
  await api.book(tokens.ada, partial.id);
  const toCancel = await api.book(tokens.cy, partial.id);
  await api.cancel(tokens.cy, toCancel.id);
  for (const name of ["ben", "cy", "dee"] as const) await api.book(tokens[name], busy.id);
  const emptiedBooking = await api.book(tokens.dee, emptied.id);
  await api.cancel(admin, emptiedBooking.id); // an admin may cancel anyone's booking
  await expectConflict(api, tokens.cy, full.id, "slot_full", "Before the restart");

  const slotsBefore: Slot[] = await api.slots();
  const bookingsBefore = {} as Record<Name, CalendarBooking[]>;
  for (const name of names) bookingsBefore[name] = await api.bookings(tokens[name]);
  const expectedSpots = new Map([
    [full.id, 0],
    [partial.id, 2],
    [busy.id, 2],
    [emptied.id, 1],
    [untouched.id, 4],
  ]);
  for (const [id, spots] of expectedSpots) {
    const slot = slotsBefore.find((s) => s.id === id);
    check(slot?.available_spots === spots, `Before the restart: slot ${id} should have ${spots} available spots, got ${JSON.stringify(slot)}`);
  }
  const bookingCount = Object.values(bookingsBefore).reduce((sum, list) => sum + list.length, 0);
  const liveCount = Object.values(bookingsBefore).reduce((sum, list) => sum + list.filter((b) => b.status === "BOOKED").length, 0);
  log(`Before the restart: ${slotsBefore.length} slots, ${bookingCount} bookings (${liveCount} live, ${bookingCount - liveCount} cancelled).`);

  const receivedBeforeCrash = new Set((await received()).map(({ headers }) => headers["webhook-id"])).size;
  await server.kill();
  // A real crash: nothing may answer on the old address any more.
  const stillUp = await fetch(`${server.baseUrl}/health`, { signal: AbortSignal.timeout(5_000) }).then(() => true, () => false);
  check(!stillUp, `Server 1 still answers at ${server.baseUrl} after it was killed`);
  const events = (await executeSql<{ id: number }>(persistTo, "SELECT id FROM webhook_events ORDER BY id")).map(({ id }) => `evt_${id}`);
  check(receivedBeforeCrash < events.length, `No backlog to lose: all ${events.length} events had arrived before the crash`);
  log(`Server 1 killed (its address no longer answers) with ${events.length - receivedBeforeCrash} of ${events.length} webhook events not yet delivered.`);

  server = await startDevServer(serverOptions);
  log(`Server 2 up at ${server.baseUrl} (same state directory, same JWT secret)`);
  api = new ApiClient(server.baseUrl);

  // Tokens issued before the restart still work: same secret, same users.
  sameOrFail("GET /slots", slotsBefore, await api.slots());
  for (const name of names) sameOrFail(`GET /bookings of ${name}`, bookingsBefore[name], await api.bookings(tokens[name]));
  log("After the restart: GET /slots and every user's GET /bookings are identical.");

  // The object of the full slot has no memory now; it must rebuild its count from D1.
  await expectConflict(api, tokens.cy, full.id, "slot_full", "After the restart");
  await expectConflict(api, tokens.ada, partial.id, "already_booked", "After the restart");
  const rebooked = await api.book(tokens.dee, partial.id);
  const again = await api.book(tokens.cy, partial.id); // cy's earlier booking there was cancelled
  await expectConflict(api, tokens.ada, partial.id, "slot_full", "After the restart, with partial now full");
  const refilled = await api.book(tokens.ada, emptied.id);
  await api.login(emailOf("ada"), PASSWORD);
  log(`After the restart: full slot answers 409 slot_full; bookings ${rebooked.id}, ${again.id} (slot ${partial.id}) and ${refilled.id} (slot ${emptied.id}) succeeded.`);

  const slotsAfter = await api.slots();
  const spotsAfter = new Map(expectedSpots).set(partial.id, 0).set(emptied.id, 0);
  for (const [id, spots] of spotsAfter) {
    const slot = slotsAfter.find((s) => s.id === id);
    check(slot?.available_spots === spots, `After the new bookings: slot ${id} should have ${spots} available spots, got ${JSON.stringify(slot)}`);
  }

  // Every event of before the crash arrives: the cron sends again what the lost queue held.
  const deadline = Date.now() + RESEND_AFTER_MS + 3 * 60_000;
  let missing = events;
  while (missing.length > 0 && Date.now() < deadline) {
    await sleep(2_000);
    const ids = new Set((await received()).map(({ headers }) => headers["webhook-id"]));
    missing = events.filter((id) => !ids.has(id));
  }
  check(missing.length === 0, `After the restart, ${missing.length} webhook events never arrived: ${missing.join(", ")}`);
  log(`After the restart: all ${events.length} webhook events arrived (${(await received()).length} POSTs in all, repeats with the same webhook-id).`);
  // ...and each counts as done once its delivery is recorded, a moment after the receiver answers.
  const lastEventId = events.at(-1)!.slice("evt_".length);
  let pending = Infinity;
  while (pending > 0 && Date.now() < deadline + RECEIVER_DELAY_MS * 5) {
    await sleep(1_000);
    [{ n: pending }] = await executeSql<{ n: number }>(persistTo, `SELECT count(*) AS n FROM webhook_pending WHERE event_id <= ${lastEventId}`);
  }
  check(pending === 0, `${pending} deliveries of events before the crash are still pending`);

  await server.stop();
  receiver.server.close();
  log("Server 2 stopped.");
  if (options.keepState) log(`State kept in ${persistTo}`);
  else scratch.remove();
  log(`\nPASS: ${bookingCount} bookings and ${slotsBefore.length} slots' available_spots survived the crash; the full slot still refused, slots with room still booked; all ${events.length} webhook events arrived.`);
}

const options = parseCommandLine();
if (options) {
  await runScript(async () => {
    try {
      await main(options);
    } catch (error) {
      if (error instanceof Mismatch) throw new Error(`MISMATCH: ${error.message}`);
      throw error;
    }
  });
}
