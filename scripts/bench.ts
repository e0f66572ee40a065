// Load benchmark of the main routes against the Worker in local workerd with fresh state, with autocannon.
// Absolute numbers depend on the machine and on whatever else runs on it; the ratios to `health`,
// measured in the same run, are what the targets are about.
import autocannon from "autocannon";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ApiClient, clientAddress, hoursFromNow, mapLimit, type Slot, type Token } from "./api-client";
import { buildWorker, promoteToAdmin, randomSecret, runScript, sleep, startDevServer, temporaryDirectory } from "./dev-server";

const SCENARIO_NAMES = ["health", "slots", "slots-filtered", "slots-week", "login", "book-full", "book-spread", "cancel-rebook", "cancel-rebook-watched"] as const;
type ScenarioName = (typeof SCENARIO_NAMES)[number];

const USAGE = `Usage: npm run bench [-- options]

Builds the Worker once and serves it with wrangler's dev server (unstable_startWorker: workerd,
as \`wrangler dev\`, without the DevTools inspector) on a free loopback port with a fresh,
temporary state (edits to src/ during the run do not reload it); seeds it through the API
(1 extra category, 100 slots in 5 categories, 1,000 users); then loads each scenario with
autocannon after a warm-up, and prints one table with each scenario's requests/s as a ratio to
\`health\` in the same run, and the performance targets as PASS/MISS.

Scenarios:
  health          GET /health
  slots           GET /slots (all 100 slots)
  slots-filtered  GET /slots?categories=<first two category ids>
  slots-week      GET /slots?categories=<one id>&from=<now>&to=<now + 7 days>, as a calendar client asks
  login           POST /login, each request another user from another address (PBKDF2: expected to be slow)
  book-full       POST /bookings on one full slot (capacity 1), a different user's token each request: all 409
  book-spread     POST /bookings, a new (user, slot) pair each request over 98 slots: all 201
  cancel-rebook   each connection is one user alternating POST /bookings and DELETE /bookings/{id} on one slot
  cancel-rebook-watched
                  cancel-rebook on a slot of its own that --watchers WebSockets watch (GET /slots/{id}/live,
                  from a separate process), in 2 s slices alternating with the same load on a slot
                  nobody watches, so that both see the same machine load; reports both rates

Options:
  --duration <s>      seconds of measurement per scenario (default 10)
  --warmup <s>        seconds of warm-up per scenario, not measured (default 2)
  --connections <n>   concurrent connections (default 50)
  --users <n>         users to register (default 1000)
  --watchers <n>      WebSockets watching the slot in cancel-rebook-watched (default 200)
  --only <a,b>        run only these scenarios (health always runs: it is the baseline)
  --json              print the results as JSON on stdout instead of the table (progress stays on stderr)
  --verbose           wrangler logs at level "log" instead of "warn" (never "info": a line per
                      request, printed by this process, would skew the results)
  --help              show this help

Targets: book-full ≥ 0.5 × health, slots ≥ 0.6 × health, book-spread ≥ 0.2 × health (requests/s);
cancel-rebook-watched ≥ 0.8 × the same load on an unwatched slot, interleaved (watchers must not
slow booking down);
p99 ≤ 2 × health's p99 for every scenario but login. A MISS does not change the exit code; the
exit code is 1 only if the benchmark could not run.`;

const PASSWORD = "bench-password-1";
const SLOT_COUNT = 100;
const CATEGORY_COUNT = 5;
const REGISTRATION_CONCURRENCY = 20;

type Options = {
  duration: number;
  warmup: number;
  connections: number;
  users: number;
  watchers: number;
  only: Set<ScenarioName>;
  json: boolean;
  verbose: boolean;
};

function parseCommandLine(): Options | undefined {
  const usageError = (message: string): never => {
    console.error(`${message}\n\n${USAGE}`);
    process.exit(2);
  };
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        help: { type: "boolean", short: "h" },
        duration: { type: "string", default: "10" },
        warmup: { type: "string", default: "2" },
        connections: { type: "string", default: "50" },
        users: { type: "string", default: "1000" },
        watchers: { type: "string", default: "200" },
        only: { type: "string" },
        json: { type: "boolean", default: false },
        verbose: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const positive = (name: string, raw: string, { integer = true, min = 1 } = {}): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      usageError(`--${name} must be ${integer ? "an integer" : "a number"} ≥ ${min}, got ${raw}`);
    }
    return value;
  };
  const only = new Set<ScenarioName>(["health"]);
  for (const name of values.only?.split(",").map((s) => s.trim()) ?? SCENARIO_NAMES) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) usageError(`Unknown scenario in --only: ${name}`);
    only.add(name as ScenarioName);
  }
  const options: Options = {
    duration: positive("duration", values.duration, { integer: true, min: 1 }),
    warmup: positive("warmup", values.warmup, { integer: true, min: 0 }),
    connections: positive("connections", values.connections),
    users: positive("users", values.users),
    watchers: positive("watchers", values.watchers, { min: 0 }),
    only,
    json: values.json,
    verbose: values.verbose,
  };
  // cancel-rebook and cancel-rebook-watched give each connection of each run (warm-ups and slices) a user of its own.
  const churnRuns = (only.has("cancel-rebook") ? 2 : 0) + (only.has("cancel-rebook-watched") ? 2 * (1 + watchedSlices(options.duration)) : 0);
  if (options.users < options.connections * churnRuns + 1) {
    usageError(`--users must be at least ${options.connections * churnRuns + 1} (${churnRuns} runs of cancel-rebook × connections + 1) for the scenarios chosen`);
  }
  return options;
}

/** Progress and notes go to stderr, so that stdout carries only the results (table or JSON). */
const progress = (message: string) => console.error(message);

// ---------------------------------------------------------------------------------------------
// Seeding

type Seed = {
  admin: Token;
  users: { email: string; token: Token }[];
  categoryIds: number[];
  fullSlot: Slot;
  churnSlot: Slot;
  spreadSlots: Slot[];
};

async function seed(api: ApiClient, persistTo: string, userCount: number): Promise<Seed> {
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
  progress(`Seeding done in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  return { admin, users, categoryIds, fullSlot, churnSlot, spreadSlots };
}

// ---------------------------------------------------------------------------------------------
// Scenarios

type Scenario = {
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

const JSON_HEADERS = { "content-type": "application/json" };

function scenarios(seed: Seed, options: Options, api: ApiClient): Scenario[] {
  const { users } = seed;
  const bearer = (token: Token) => ({ ...JSON_HEADERS, authorization: `Bearer ${token}` });

  let fullTurn = 0;
  let loginTurn = 0;
  let notSlotFull = 0;
  const bookFull: Scenario = {
    name: "book-full",
    expected: [409],
    load: () => ({
      requests: [
        {
          method: "POST",
          path: "/bookings",
          body: JSON.stringify({ time_slot_id: seed.fullSlot.id }),
          // A different user each request, so that every answer is slot_full, not already_booked.
          setupRequest: (request) => ({ ...request, headers: bearer(users[fullTurn++ % users.length].token) }),
          onResponse: (status, body) => {
            if (status === 409 && !body.includes('"slot_full"')) notSlotFull++;
          },
        },
      ],
    }),
    note: () => (notSlotFull > 0 ? `book-full: ${notSlotFull} 409 answers (warm-up included) had another code than slot_full` : undefined),
  };

  // Pair n is (user ⌊n / slots⌋, slot n mod slots): consecutive requests hit different slots, and
  // no pair repeats before users × slots requests.
  let spreadTurn = 0;
  const spreadPairs = users.length * seed.spreadSlots.length;
  const bookSpread: Scenario = {
    name: "book-spread",
    expected: [201],
    load: () => ({
      requests: [
        {
          method: "POST",
          path: "/bookings",
          setupRequest: (request) => {
            const turn = spreadTurn++ % spreadPairs;
            const slot = seed.spreadSlots[turn % seed.spreadSlots.length];
            const user = users[Math.floor(turn / seed.spreadSlots.length)];
            return { ...request, headers: bearer(user.token), body: JSON.stringify({ time_slot_id: slot.id }) };
          },
        },
      ],
    }),
    note: () =>
      spreadTurn > spreadPairs ? `book-spread wrapped around its ${spreadPairs} (user, slot) pairs: repeats answer 409` : undefined,
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
  const get = (name: ScenarioName, path: string): Scenario => ({ name, expected: [200], load: () => ({ requests: [{ method: "GET", path }] }) });
  const all: Scenario[] = [
    get("health", "/health"),
    get("slots", "/slots"),
    get("slots-filtered", `/slots?categories=${seed.categoryIds.slice(0, 2).join(",")}`),
    get("slots-week", `/slots?categories=${seed.categoryIds[0]}&from=${weekStart}&to=${hoursFromNow(7 * 24, Date.parse(weekStart))}`),
    {
      name: "login",
      expected: [200],
      load: () => ({
        requests: [
          {
            method: "POST",
            path: "/login",
            // Each request a different user from a different address, as real logins are: one
            // address hammering one account is what the login throttle exists to refuse.
            setupRequest: (request) => {
              const turn = loginTurn++ % users.length;
              const body = JSON.stringify({ email: users[turn].email, password: PASSWORD });
              return { ...request, headers: { ...JSON_HEADERS, "cf-connecting-ip": clientAddress(turn) }, body };
            },
          },
        ],
      }),
    },
    bookFull,
    bookSpread,
    churn("cancel-rebook", () => seed.churnSlot.id),
    cancelRebookWatched,
  ];
  return all;
}

// ---------------------------------------------------------------------------------------------
// Running and reporting

type ScenarioResult = {
  scenario: ScenarioName;
  requestsPerSecond: number;
  /** cancel-rebook-watched: the same load's rate on an unwatched slot, in the slices between. */
  unwatchedRequestsPerSecond?: number;
  ratioToHealth: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses by HTTP status. */
  statuses: Record<string, number>;
  /** Connection errors (including timeouts) and timeouts, as autocannon counts them. */
  errors: number;
  timeouts: number;
  responses: number;
};

type TargetCheck = { target: string; value: string; pass: boolean | null };

function runAutocannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * The watchers run in a process of their own (plain Node with `ws`), so that taking in their
 * messages does not slow the load generator down: argv is the `ws` module's path, the URL and
 * the count. It prints "ready" once every socket has its first message; each line read from
 * stdin makes it print how many messages arrived since; it exits when stdin closes.
 */
const WATCHERS_SCRIPT = `
const WebSocket = require(process.argv[1]);
const [url, count] = [process.argv[2], Number(process.argv[3])];
let received = 0, first = 0;
for (let i = 0; i < count; i++) {
  const socket = new WebSocket(url);
  socket.on("message", () => (received++, socket.greeted || ((socket.greeted = true), ++first === count && console.log("ready"))));
  socket.on("error", (error) => (console.error(error.message), process.exit(1)));
}
process.stdin.on("data", () => console.log(String(received)));
process.stdin.on("end", () => process.exit(0));
`;

/** Opens `count` WebSockets on a slot's live availability in a child process; resolves once all are connected. */
async function watchSlot(baseUrl: string, slotId: number, count: number) {
  const url = `${baseUrl.replace(/^http/, "ws")}/slots/${slotId}/live`;
  const wsPath = createRequire(import.meta.url).resolve("ws");
  const child = spawn(process.execPath, ["-e", WATCHERS_SCRIPT, wsPath, url, String(count)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const line = await lines.next();
    if (line.done) throw new Error("the watchers' process ended early");
    return line.value;
  };
  await nextLine(); // "ready"
  return {
    /** Messages received since connecting (each watcher's first one included). */
    received: async () => {
      child.stdin!.write("\n");
      return Number(await nextLine());
    },
    close: () => child.stdin!.end(),
  };
}

/** A watched comparison alternates this many slices of each half, 2 s each (1 if the duration is shorter). */
function watchedSlices(duration: number): number {
  return Math.max(1, Math.floor(duration / 2));
}

type Measured = Omit<ScenarioResult, "ratioToHealth">;

async function run(baseUrl: string, scenario: Scenario, options: Options, duration: number): Promise<Measured> {
  const result = await runAutocannon({ url: baseUrl, connections: options.connections, timeout: 30, ...scenario.load(), duration });
  const statuses: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = stats.count ?? 0;
  return {
    scenario: scenario.name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    responses: Object.values(statuses).reduce((sum, n) => sum + n, 0),
  };
}

/** Slices of one load as one result: the mean rate and p50, the worst p99, everything counted summed. */
function combine(slices: Measured[]): Measured {
  const sum = (pick: (slice: Measured) => number) => slices.reduce((total, slice) => total + pick(slice), 0);
  const statuses: Record<string, number> = {};
  for (const slice of slices) for (const [status, n] of Object.entries(slice.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
  return {
    scenario: slices[0].scenario,
    requestsPerSecond: sum((slice) => slice.requestsPerSecond) / slices.length,
    p50Ms: Math.round(sum((slice) => slice.p50Ms) / slices.length),
    p99Ms: Math.max(...slices.map((slice) => slice.p99Ms)),
    statuses,
    errors: sum((slice) => slice.errors),
    timeouts: sum((slice) => slice.timeouts),
    responses: sum((slice) => slice.responses),
  };
}

async function measure(baseUrl: string, scenario: Scenario, options: Options): Promise<Measured> {
  if (!scenario.watched) {
    if (options.warmup > 0) await run(baseUrl, scenario, options, options.warmup);
    return run(baseUrl, scenario, options, options.duration);
  }
  const { count, prepare, slotId, unwatched } = scenario.watched;
  await prepare();
  const watchers = await watchSlot(baseUrl, slotId(), count);
  try {
    if (options.warmup > 0) {
      await run(baseUrl, unwatched, options, options.warmup);
      await run(baseUrl, scenario, options, options.warmup);
    }
    const slices = watchedSlices(options.duration);
    const sliceSeconds = options.duration / slices;
    const [withWatchers, without]: Measured[][] = [[], []];
    const pushedBefore = await watchers.received();
    for (let i = 0; i < slices; i++) {
      without.push(await run(baseUrl, unwatched, options, sliceSeconds));
      withWatchers.push(await run(baseUrl, scenario, options, sliceSeconds));
    }
    const pushed = (await watchers.received()) - pushedBefore;
    progress(`  ${count} watchers received ${pushed} messages (${(pushed / Math.max(count, 1)).toFixed(0)} each)`);
    return { ...combine(withWatchers), unwatchedRequestsPerSecond: combine(without).requestsPerSecond };
  } finally {
    watchers.close();
  }
}

function targetChecks(results: ScenarioResult[]): TargetCheck[] {
  const byName = new Map(results.map((result) => [result.scenario, result]));
  const health = byName.get("health");
  const checks: TargetCheck[] = [];
  for (const [name, factor] of [
    ["book-full", 0.5],
    ["slots", 0.6],
    ["book-spread", 0.2],
  ] as const) {
    const result = byName.get(name);
    checks.push({
      target: `${name} req/s ≥ ${factor} × health`,
      value: result ? `${result.ratioToHealth.toFixed(2)} × health` : "not run",
      pass: result ? result.ratioToHealth >= factor : null,
    });
  }
  const watched = byName.get("cancel-rebook-watched");
  const unwatchedRate = watched?.unwatchedRequestsPerSecond;
  checks.push({
    target: "cancel-rebook-watched req/s ≥ 0.8 × unwatched",
    value: unwatchedRate
      ? `${(watched!.requestsPerSecond / unwatchedRate).toFixed(2)} × (${watched!.requestsPerSecond.toFixed(0)} vs ${unwatchedRate.toFixed(0)} req/s)`
      : "not run",
    pass: unwatchedRate ? watched!.requestsPerSecond / unwatchedRate >= 0.8 : null,
  });
  const limit = (health?.p99Ms ?? 0) * 2;
  for (const result of results) {
    if (result.scenario === "health" || result.scenario === "login") continue;
    checks.push({
      target: `${result.scenario} p99 ≤ 2 × health p99 (${limit} ms)`,
      value: `${result.p99Ms} ms`,
      pass: result.p99Ms <= limit,
    });
  }
  return checks;
}

function warnings(results: ScenarioResult[], list: Scenario[]): string[] {
  const out: string[] = [];
  for (const result of results) {
    const scenario = list.find((s) => s.name === result.scenario)!;
    const unexpected = Object.entries(result.statuses).filter(([status]) => !scenario.expected.includes(Number(status)));
    if (unexpected.length > 0) {
      out.push(`${result.scenario}: unexpected responses ${unexpected.map(([s, n]) => `${s}:${n}`).join(" ")} (expected only ${scenario.expected.join(", ")})`);
    }
    if (result.errors > 0) out.push(`${result.scenario}: ${result.errors} connection errors (${result.timeouts} timeouts)`);
  }
  for (const scenario of list) {
    const note = scenario.note?.();
    if (note) out.push(note);
  }
  return out;
}

function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]) => row.map((cell, column) => (column === 0 || column === row.length - 1 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ").trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

function statusesText(result: ScenarioResult): string {
  const parts = Object.entries(result.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, count]) => `${status}:${count}`);
  if (result.errors > 0) parts.push(`errors:${result.errors}`);
  if (result.timeouts > 0) parts.push(`timeouts:${result.timeouts}`);
  return parts.join(" ") || "-";
}

function report(results: ScenarioResult[], checks: TargetCheck[], notes: string[], options: Options): string {
  const number = (value: number, digits = 0) => value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const table = formatTable([
    ["scenario", "req/s", "× health", "p50 ms", "p99 ms", "responses by status"],
    ...results.map((r) => [r.scenario, number(r.requestsPerSecond), r.ratioToHealth.toFixed(2), String(r.p50Ms), String(r.p99Ms), statusesText(r)]),
  ]);
  const mark = (pass: boolean | null) => (pass === null ? "n/a " : pass ? "PASS" : "MISS");
  return [
    `${options.duration} s per scenario after ${options.warmup} s warm-up, ${options.connections} connections, ${options.users} users, ${SLOT_COUNT} slots, ${options.watchers} watchers`,
    "",
    table,
    "",
    "Targets:",
    ...checks.map((check) => `  ${mark(check.pass)}  ${check.target.padEnd(44)} ${check.value}`),
    ...(notes.length > 0 ? ["", "Warnings:", ...notes.map((note) => `  ${note}`)] : []),
  ].join("\n");
}

async function main(options: Options): Promise<void> {
  const scratch = temporaryDirectory("slotbook-bench-");
  const persistTo = join(scratch.path, "state");
  // A snapshot of src/: an edit during the run must not reload the Worker under load.
  const worker = await buildWorker(join(scratch.path, "worker"));
  // wrangler's side of the server runs in this process, next to autocannon, but does no work per
  // request (workerd serves them), so it does not take CPU from the load generator.
  const server = await startDevServer({ persistTo, worker, jwtSecret: randomSecret(), logLevel: options.verbose ? "log" : undefined });
  progress(`Server up at ${server.baseUrl} (state in ${persistTo}).`);
  const api = new ApiClient(server.baseUrl);
  const seeded = await seed(api, persistTo, options.users);

  const list = scenarios(seeded, options, api).filter((scenario) => options.only.has(scenario.name));
  const measured: Omit<ScenarioResult, "ratioToHealth">[] = [];
  for (const scenario of list) {
    progress(`Running ${scenario.name}: ${options.warmup} s warm-up, ${options.duration} s measured...`);
    const result = await measure(server.baseUrl, scenario, options);
    progress(`  ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms} ms, ${statusesText({ ...result, ratioToHealth: 0 })}`);
    measured.push(result);
    await sleep(500); // let requests cut off at the end settle before the next scenario
  }
  await server.stop();
  scratch.remove();

  const healthRate = measured.find((r) => r.scenario === "health")?.requestsPerSecond ?? Number.NaN;
  const results: ScenarioResult[] = measured.map((r) => ({ ...r, ratioToHealth: r.requestsPerSecond / healthRate }));
  const checks = targetChecks(results);
  const notes = warnings(results, list);
  if (options.json) {
    const { duration, warmup, connections, users, watchers } = options;
    const config = { duration, warmup, connections, users, watchers, slots: SLOT_COUNT };
    console.log(JSON.stringify({ config, results, targets: checks, warnings: notes }, null, 2));
  } else {
    console.log(report(results, checks, notes, options));
  }
}

const options = parseCommandLine();
if (options) await runScript(() => main(options));
