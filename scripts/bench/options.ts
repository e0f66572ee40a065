// The benchmark's command line: its usage text, and the options it parses.
import { parseArgs } from "node:util";
import { LIVE_LIMITS } from "../../src/slots/live-limits";
import { watchedSlices } from "./measurement";
import { SEED_API_SCENARIOS } from "./seed-api-scenarios";
import { HOT_CAPACITY, SCENARIO_NAMES, type ScenarioName } from "./scenarios";

export const USAGE = `Usage: npm run bench [-- options]

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
  book-hot        POST /bookings on one slot with room for all, each request a user that never booked
                  before (--hot-users of them, inserted into D1 with tokens signed by the bench): all 201.
                  Besides the booking, each request pays for its token's check and a D1 read of its
                  caller in the Worker (a new user is never in the caller cache); the slot object's
                  D1 batches are what --d1-latency-ms delays
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
  --watchers <n>      WebSockets watching the slot in cancel-rebook-watched (default 200, at most
                      1000: a slot's limit; 10 per client address, each 10 from an address of their own)
  --hot-users <n>     users for book-hot, at most 10000, the slot's capacity (default 10000)
  --d1-latency-ms <n> delays every D1 call that slot objects make by n ms (default 0), simulating
                      an object far from D1's primary; only the benchmark's own server does this
                      (build/bench-worker.ts), the deployed Worker neither contains nor honours it
  --only <a,b>        run only these scenarios (health always runs: it is the baseline)
  --against <url>     also run the seed API's scenarios (${SEED_API_SCENARIOS.join(", ")}) against
                      another server that speaks the original's API (../shared/SEED_API.md), seeded
                      through that API alone (a fresh admin and users, 100 slots, deleted at the end),
                      each scenario right after ours; prints both servers' rows and ours ÷ theirs.
                      Without --only, only those scenarios run (and health, on ours)
  --promote-command <cmd>
                      with --against: a shell command (sh -c) that makes the bench's admin an ADMIN on
                      that server, which has no API for it; the email is $1 and $BENCH_ADMIN_EMAIL,
                      e.g. './promote.sh' running psql with UPDATE users SET role = 'ADMIN' WHERE email = ...
  --json              print the results as JSON on stdout instead of the table (progress stays on stderr);
                      each row of results has server "ours" or "theirs"; with --against, comparison
                      holds each scenario's rates and ratio
  --verbose           wrangler logs at level "log" instead of "warn" (never "info": a line per
                      request, printed by this process, would skew the results)
  --help              show this help

Targets: book-full ≥ 0.5 × health, slots ≥ 0.8 × health, book-spread ≥ 0.2 × health (requests/s);
book-hot ≥ 0.6 × book-spread and ≥ 100 req/s with --d1-latency-ms 30, ≥ 0.7 × book-spread at 0 ms;
cancel-rebook-watched ≥ 0.8 × the same load on an unwatched slot, interleaved (watchers must not
slow booking down);
p99 ≤ 2 × health's p99 for every scenario but login. A MISS does not change the exit code; the
exit code is 1 only if the benchmark could not run.`;

export type Options = {
  duration: number;
  warmup: number;
  connections: number;
  users: number;
  watchers: number;
  hotUsers: number;
  d1LatencyMs: number;
  only: Set<ScenarioName>;
  /** Another server speaking the seed API, and the command that makes its admin (see against.ts). */
  against?: { url: string; promoteCommand: string };
  json: boolean;
  verbose: boolean;
};

/** The options, or undefined after --help; exits with 2 on a usage error. */
export function parseCommandLine(): Options | undefined {
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
        "hot-users": { type: "string", default: "10000" },
        "d1-latency-ms": { type: "string", default: "0" },
        only: { type: "string" },
        against: { type: "string" },
        "promote-command": { type: "string" },
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
  if (values.against !== undefined && !/^https?:\/\/[^/]/.test(values.against)) usageError(`--against must be an http(s) URL, got ${values.against}`);
  if ((values.against === undefined) !== (values["promote-command"] === undefined)) usageError("--against and --promote-command go together");
  for (const name of values.only?.split(",").map((s) => s.trim()) ?? (values.against ? SEED_API_SCENARIOS : SCENARIO_NAMES)) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) usageError(`Unknown scenario in --only: ${name}`);
    only.add(name as ScenarioName);
  }
  const options: Options = {
    duration: positive("duration", values.duration, { integer: true, min: 1 }),
    warmup: positive("warmup", values.warmup, { integer: true, min: 0 }),
    connections: positive("connections", values.connections),
    users: positive("users", values.users),
    watchers: positive("watchers", values.watchers, { min: 0 }),
    hotUsers: positive("hot-users", values["hot-users"]),
    d1LatencyMs: positive("d1-latency-ms", values["d1-latency-ms"], { min: 0 }),
    only,
    against: values.against === undefined ? undefined : { url: values.against.replace(/\/$/, ""), promoteCommand: values["promote-command"]! },
    json: values.json,
    verbose: values.verbose,
  };
  // cancel-rebook and cancel-rebook-watched give each connection of each run (warm-ups and slices) a user of its own.
  const churnRuns = (only.has("cancel-rebook") ? 2 : 0) + (only.has("cancel-rebook-watched") ? 2 * (1 + watchedSlices(options.duration)) : 0);
  if (options.watchers > LIVE_LIMITS.perSlot) usageError(`--watchers must be at most ${LIVE_LIMITS.perSlot} (a slot's limit of live sockets), got ${options.watchers}`);
  if (options.hotUsers > HOT_CAPACITY) usageError(`--hot-users must be at most ${HOT_CAPACITY} (a slot's largest capacity), got ${options.hotUsers}`);
  if (options.users < options.connections * churnRuns + 1) {
    usageError(`--users must be at least ${options.connections * churnRuns + 1} (${churnRuns} runs of cancel-rebook × connections + 1) for the scenarios chosen`);
  }
  return options;
}
