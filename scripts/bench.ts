// Load benchmark of the main routes against the Worker in local workerd with fresh state, with autocannon.
// Absolute numbers depend on the machine and on whatever else runs on it; the ratios to `health`,
// measured in the same run, are what the targets are about.
import { join } from "node:path";
import { ApiClient } from "./api-client";
import { compare, removeTheirSlots, seedTheirs } from "./bench/against";
import { measure, type Measured, type ScenarioResult } from "./bench/measurement";
import { parseCommandLine, type Options } from "./bench/options";
import { report, statusesText, targetChecks, warnings } from "./bench/report";
import { progress, scenarios, seed, SLOT_COUNT } from "./bench/scenarios";
import { seedApiScenarios } from "./bench/seed-api-scenarios";
import { buildWorker, randomSecret, runScript, sleep, startDevServer, temporaryDirectory } from "./dev-server";

// The parts: bench/options.ts (command line), bench/scenarios.ts (seeding, scenarios),
// bench/measurement.ts (autocannon runs, watchers in watchers.ts), bench/report.ts (targets, table),
// bench/seed-api-scenarios.ts (the scenarios any server of the original's API can run), and
// bench/against.ts (--against: that other server, seeded through the seed API, and the comparison).

async function main(options: Options): Promise<void> {
  const scratch = temporaryDirectory("slotbook-bench-");
  const persistTo = join(scratch.path, "state");
  // A snapshot of src/: an edit during the run must not reload the Worker under load.
  // build/bench-worker.ts: the Worker as deployed, with slot objects that honour D1_LATENCY_MS.
  const worker = await buildWorker(join(scratch.path, "worker"), "build/bench-worker.ts");
  // wrangler's side of the server runs in this process, next to autocannon, but does no work per
  // request (workerd serves them), so it does not take CPU from the load generator.
  const jwtSecret = randomSecret();
  const vars = { D1_LATENCY_MS: String(options.d1LatencyMs) };
  const server = await startDevServer({ persistTo, worker, jwtSecret, vars, logLevel: options.verbose ? "log" : undefined });
  progress(`Server up at ${server.baseUrl} (state in ${persistTo}).`);
  const api = new ApiClient(server.baseUrl);
  const seeded = await seed(api, persistTo, options.users, options.only.has("book-hot") ? { jwtSecret, count: options.hotUsers } : undefined);

  const theirSeed = options.against && (await seedTheirs(options.against.url, options.users, options.against.promoteCommand));
  const theirList = theirSeed ? seedApiScenarios(theirSeed, { ownCodes: false }) : [];

  const list = scenarios(seeded, options, api).filter((scenario) => options.only.has(scenario.name));
  const measured: Measured[] = [];
  const theirs: Measured[] = [];
  const run = async (baseUrl: string, scenario: (typeof list)[number], into: Measured[]) => {
    const result = await measure(baseUrl, scenario, options);
    progress(`  ${baseUrl}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms} ms, ${statusesText({ ...result, ratioToHealth: 0 })}`);
    into.push(result);
    await sleep(500); // let requests cut off at the end settle before the next scenario
  };
  for (const scenario of list) {
    progress(`Running ${scenario.name}: ${options.warmup} s warm-up, ${options.duration} s measured...`);
    await run(server.baseUrl, scenario, measured);
    // The other server right after ours, so that both see the machine as it is now.
    const their = theirList.find((candidate) => candidate.name === scenario.name);
    if (options.against && their) await run(options.against.url, their, theirs);
  }
  if (theirSeed) await removeTheirSlots(theirSeed);
  await server.stop();
  scratch.remove();

  const healthRate = measured.find((r) => r.scenario === "health")?.requestsPerSecond ?? Number.NaN;
  const results: ScenarioResult[] = measured.map((r) => ({ ...r, ratioToHealth: r.requestsPerSecond / healthRate }));
  const checks = targetChecks(results, options.d1LatencyMs);
  const notes = warnings(results, list);
  const comparison = compare(measured, theirs);
  if (options.json) {
    const { duration, warmup, connections, users, watchers, d1LatencyMs, hotUsers } = options;
    const config = { duration, warmup, connections, users, watchers, d1LatencyMs, hotUsers, slots: SLOT_COUNT, against: options.against?.url };
    // Their rows have no ratio to health: the seed API has no such route.
    const rows = [...results.map((row) => ({ server: "ours" as const, ...row })), ...theirs.map((row) => ({ server: "theirs" as const, ...row }))];
    console.log(JSON.stringify({ config, results: rows, ...(options.against ? { comparison } : {}), targets: checks, warnings: notes }, null, 2));
  } else {
    console.log(report(results, checks, notes, options, { comparison, theirs }));
  }
}

const options = parseCommandLine();
if (options) await runScript(() => main(options));
