// How a scenario is measured: autocannon runs (a warm-up, then the measured run), and for a watched
// scenario slices alternating with the same load on an unwatched slot while the watchers listen.
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { projectRoot } from "../wrangler";
import type { Options } from "./options";
import { progress, type Scenario, type ScenarioName } from "./scenarios";

export type ScenarioResult = {
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

function runAutocannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * Opens `count` WebSockets on a slot's live availability in a process of their own (watchers.ts),
 * so that taking in their messages does not slow the load generator down; resolves once all are connected.
 */
async function watchSlot(baseUrl: string, slotId: number, count: number) {
  const url = `${baseUrl.replace(/^http/, "ws")}/slots/${slotId}/live`;
  const script = fileURLToPath(new URL("./watchers.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, url, String(count)], { cwd: projectRoot, stdio: ["pipe", "pipe", "inherit"] });
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
export function watchedSlices(duration: number): number {
  return Math.max(1, Math.floor(duration / 2));
}

export type Measured = Omit<ScenarioResult, "ratioToHealth">;

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

export async function measure(baseUrl: string, scenario: Scenario, options: Options): Promise<Measured> {
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
