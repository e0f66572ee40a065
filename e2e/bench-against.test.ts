// `npm run bench -- --against URL --promote-command CMD` against a second instance of our own
// server, which speaks the original's API (the original is not on this machine): both servers'
// rows and the ratios come out of one run. Tiny durations: this proves the wiring, not speed.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildWorker, randomSecret, startDevServer, temporaryDirectory, type DevServer } from "../scripts/dev-server";
import { projectRoot } from "../scripts/wrangler";

const scratch = temporaryDirectory("slotbook-bench-against-");
let other: DevServer | undefined;
afterAll(async () => {
  await other?.stop();
  scratch.remove();
});

/** Runs the bench with `args`; resolves with its stdout once it exits 0. */
function bench(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench.ts", ...args], { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    child.on("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`bench exited with ${code}:\n${stderr}`))));
  });
}

type Row = { server: "ours" | "theirs"; scenario: string; requestsPerSecond: number; p99Ms: number; statuses: Record<string, number> };
type Comparison = { scenario: string; oursRequestsPerSecond: number; theirsRequestsPerSecond: number; ratio: number };

describe("npm run bench -- --against", () => {
  it("runs the seed API's scenarios on both servers in one run, seeding the other through the seed API, and reports both rows and ours ÷ theirs", async () => {
    const persistTo = join(scratch.path, "state");
    other = await startDevServer({ persistTo, worker: await buildWorker(join(scratch.path, "worker")), jwtSecret: randomSecret() });
    // The other server's admin is made as the original's README says: an UPDATE in its database.
    const promote = `node node_modules/wrangler/bin/wrangler.js d1 execute slotbook --local --persist-to '${persistTo}' --command "UPDATE users SET role = 'ADMIN' WHERE email = '$1'"`;
    const common = ["--against", other.baseUrl, "--promote-command", promote, "--duration", "1", "--warmup", "0", "--connections", "2", "--users", "4"];

    // wrangler prints "[wrangler:info] ✨ Parsed 1 valid header rule." on stdout when the bench's server starts: the JSON follows.
    const json = (await bench([...common, "--json"])).replace(/^[^]*?^\{/m, "{");
    const { results, comparison, config } = JSON.parse(json) as { results: Row[]; comparison: Comparison[]; config: { against: string } };
    const scenarios = ["slots", "slots-filtered", "login", "book-full", "book-spread"];
    expect(config.against).toBe(other.baseUrl);
    expect(results.filter((row) => row.server === "ours").map((row) => row.scenario)).toEqual(["health", "slots", "slots-filtered", "login", "book-full", "book-spread"]);
    expect(results.filter((row) => row.server === "theirs").map((row) => row.scenario)).toEqual(scenarios);
    for (const row of results) expect(row.requestsPerSecond, `${row.server} ${row.scenario}`).toBeGreaterThan(0);
    // Seeded right on the other server: its full slot answers 409, its spread bookings 201, its logins 200.
    const theirs = (scenario: string) => results.find((row) => row.server === "theirs" && row.scenario === scenario)!.statuses;
    expect(Object.keys(theirs("book-full"))).toEqual(["409"]);
    expect(Object.keys(theirs("book-spread"))).toEqual(["201"]);
    expect(Object.keys(theirs("login"))).toEqual(["200"]);
    expect(comparison.map((row) => row.scenario)).toEqual(scenarios);
    for (const row of comparison) expect(row.ratio).toBeCloseTo(row.oursRequestsPerSecond / row.theirsRequestsPerSecond, 6);
    // The run deleted the slots it made there.
    expect(await (await fetch(`${other.baseUrl}/slots`, { headers: { "Cache-Control": "no-cache" } })).json()).toEqual([]);

    // The table, as printed without --json (one scenario: the wiring is the same).
    const table = await bench(["--only", "slots", ...common]);
    expect(table).toContain(`Against ${other.baseUrl}`);
    expect(table).toMatch(/ours req\/s\s+theirs req\/s\s+ours ÷ theirs/);
    expect(table).toMatch(/^slots\s+[\d,]+\s+[\d,]+\s+\d+\.\d\d\s/m);
  }, 600_000);
});
