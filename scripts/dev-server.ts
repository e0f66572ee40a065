// Starts and stops throw-away local servers for scripts (restart check, benchmark) with wrangler's
// own API, `unstable_startWorker` (what `wrangler dev` runs on): a free loopback port, its own state
// directory and JWT secret, and nothing left running afterwards, also when the script fails or is
// interrupted (Ctrl-C).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { basename, extname, join } from "node:path";
import { fireCronEveryMinute } from "./cron";
import { workerdChildren } from "./workerd-processes";
import { DATABASE, localTarget, projectRoot, sqlString, startWorker, wranglerCommand } from "./wrangler";

export const LOOPBACK = "127.0.0.1";

export type DevServerOptions = {
  /** The state directory (D1 and Durable Object storage), as `wrangler dev --persist-to`. */
  persistTo: string;
  /** A Worker built by `buildWorker`, served as it is: later edits to src/ do not reach it. */
  worker: string;
  /** The JWT_SECRET the Worker signs tokens with. */
  jwtSecret: string;
  /**
   * wrangler's log level. Default "warn" (warnings and errors, to stderr). At "info" wrangler logs
   * every request, which costs CPU in this process and skews a benchmark.
   */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** How long to wait for the server to answer GET /health, in ms. Default 90 s. */
  readyTimeoutMs?: number;
  /** Variables besides JWT_SECRET, e.g. WEBHOOKS_ALLOW_LOOPBACK. */
  vars?: Record<string, string>;
  /** Fire the scheduled maintenance at every full minute, as `npm start` and production do. Default false. */
  cron?: boolean;
};

export type DevServer = {
  /** e.g. http://127.0.0.1:40123 */
  baseUrl: string;
  persistTo: string;
  /** Stops the server (workerd exits; the state stays on disk). Idempotent. */
  stop(): Promise<void>;
  /**
   * Crashes the server: SIGKILL to its workerd processes (what is in memory, such as the local
   * queue's backlog, is lost; D1 and Durable Object storage stay on disk), then cleans up as stop().
   */
  kill(): Promise<void>;
};

/** Servers still running, wrangler commands still running, temporary directories not yet removed. */
const runningServers = new Set<DevServer>();
const runningCommands = new Set<ChildProcess>();
const temporaryDirectories = new Set<string>();
let handlersInstalled = false;

/** A random secret for JWT_SECRET. */
export function randomSecret(): string {
  return randomBytes(32).toString("hex");
}

/**
 * A new, empty directory under the OS temp directory, removed when the script ends (also on
 * error or Ctrl-C), earlier with `remove()`, or never after `keep()`.
 */
export function temporaryDirectory(prefix: string): { path: string; remove(): void; keep(): void } {
  installHandlers();
  const path = mkdtempSync(join(tmpdir(), prefix));
  temporaryDirectories.add(path);
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      temporaryDirectories.delete(path);
    },
    keep() {
      temporaryDirectories.delete(path);
    },
  };
}

/**
 * Builds the Worker as `wrangler deploy --dry-run` does (same bundling and minification) into
 * `outdir` and returns the path of its entry module: a snapshot of src/ that later edits do not touch.
 * `entry` replaces wrangler.toml's main (the benchmark's build/bench-worker.ts).
 */
export async function buildWorker(outdir: string, entry?: string): Promise<string> {
  const { status, output } = await runWrangler(["deploy", "--dry-run", "--outdir", outdir, ...(entry ? [entry] : [])]);
  if (status !== 0) throw new Error(`Building the Worker failed (wrangler exited with ${status}):\n${output}`);
  return join(outdir, entry ? `${basename(entry, extname(entry))}.js` : "index.js");
}

/** Applies the D1 migrations to the local database in `persistTo`. Throws with wrangler's output on failure. */
export async function applyMigrations(persistTo: string): Promise<void> {
  const { status, output } = await runWrangler(["d1", "migrations", "apply", DATABASE, ...localTarget(persistTo)]);
  if (status !== 0) throw new Error(`Applying the D1 migrations failed (wrangler exited with ${status}):\n${output}`);
}

/** How often executeSql tries a statement that finds the database locked, and the pause after the first try. */
const LOCKED_ATTEMPTS = 8;
const LOCKED_FIRST_PAUSE_MS = 100;

/**
 * Runs SQL on the local database in `persistTo` and returns the rows of its result sets.
 * A running server writes the same SQLite file (its cron every minute, its queue consumer), and
 * `wrangler d1 execute` opens it without a busy timeout: a statement that meets one of those writes
 * fails with SQLITE_BUSY having changed nothing, so it is tried again after a growing pause.
 */
export async function executeSql<Row>(persistTo: string, sql: string): Promise<Row[]> {
  for (let attempt = 1; ; attempt++) {
    const { status, stdout, output } = await runWrangler(["d1", "execute", DATABASE, ...localTarget(persistTo), "--json", "--command", sql]);
    if (status === 0) return (JSON.parse(stdout) as { results: Row[] }[]).flatMap((resultSet) => resultSet.results);
    if (!output.includes("SQLITE_BUSY") || attempt === LOCKED_ATTEMPTS) {
      throw new Error(`wrangler d1 execute failed (exit code ${status}, attempt ${attempt}):\n${output}`);
    }
    await sleep(LOCKED_FIRST_PAUSE_MS * 2 ** (attempt - 1));
  }
}

/** Gives an existing user the ADMIN role, directly in D1 (registration never grants it). */
export async function promoteToAdmin(persistTo: string, email: string): Promise<void> {
  const changed = await executeSql<{ id: number }>(persistTo, `UPDATE users SET role='ADMIN' WHERE email=${sqlString(email)} RETURNING id`);
  if (changed.length !== 1) throw new Error(`Promoting ${email} changed ${changed.length} users, expected 1`);
}

/**
 * Applies the migrations to `persistTo`, then serves `worker` with that state and secret on a
 * loopback port the system picks, and resolves once GET /health answers.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  installHandlers();
  const { persistTo, worker: entrypoint, jwtSecret, logLevel = "warn", readyTimeoutMs = 90_000, vars = {} } = options;
  await applyMigrations(persistTo);
  const workerdBefore = new Set(workerdChildren());
  const worker = await startWorker({
    config: join(projectRoot, "wrangler.toml"),
    entrypoint,
    // Bundled again only for the cron: wrangler adds /__scheduled (scripts/cron.ts) while bundling.
    build: { bundle: options.cron === true },
    bindings: Object.fromEntries(
      Object.entries({ ...vars, JWT_SECRET: jwtSecret }).map(([name, value]) => [name, { type: "plain_text" as const, value }]),
    ),
    dev: { server: { hostname: LOOPBACK, port: 0 }, inspector: false, persist: persistTo, logLevel, watch: false, testScheduled: options.cron },
  }).catch((error: Error) => {
    throw new Error(`Starting the server failed: ${error.message}`); // wrangler has stopped what it started
  });
  let workerd: number[] = [];
  let stopping: Promise<void> | undefined;
  let cron: { stop(): void } | undefined;
  // teardown(), not dispose(): dispose() first waits for the server to be ready, forever if it never is.
  const stop = () => {
    cron?.stop();
    return (stopping ??= worker.raw.teardown().finally(() => runningServers.delete(server)));
  };
  const kill = async () => {
    cron?.stop();
    for (const pid of workerd) process.kill(pid, "SIGKILL");
    await stop().catch(() => undefined); // wrangler may report the processes it lost
  };
  const server: DevServer = { baseUrl: "", persistTo, stop, kill };
  runningServers.add(server);

  // wrangler reports failures (the Worker throws at startup, say) as events, and logs them only at
  // "debug": while starting they fail the start, afterwards they are printed.
  let starting = true;
  let failStart: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (failStart = reject));
  worker.raw.on("error", (event: { reason?: string; cause?: { message?: string } }) => {
    const message = `${event.reason ?? "wrangler reported an error"}${event.cause?.message ? `: ${event.cause.message}` : ""}`;
    if (starting) failStart(new Error(message));
    else console.error(`wrangler: ${message}`);
  });
  const timer = setTimeout(() => failStart(new Error(`not ready within ${readyTimeoutMs / 1000} s`)), readyTimeoutMs);
  try {
    server.baseUrl = (await Promise.race([worker.url, failed])).origin;
    const health = await Promise.race([fetch(`${server.baseUrl}/health`), failed]);
    const body = await health.text();
    if (health.status !== 200 || !body.includes('"ok"')) throw new Error(`GET /health answered ${health.status} ${body}`);
  } catch (error) {
    await stop().catch(() => undefined); // teardown rethrows the failure we are about to report
    throw new Error(`Starting the server failed: ${(error as Error).message}`);
  } finally {
    starting = false;
    clearTimeout(timer);
    failed.catch(() => undefined);
  }
  // Its runtimes: the workerd processes that appeared while it started.
  workerd = workerdChildren().filter((pid) => !workerdBefore.has(pid));
  if (options.cron) cron = fireCronEveryMinute(server.baseUrl, (error) => console.error(`scheduled maintenance not run this minute: ${error.message}`));
  return server;
}


/** Stops every server started here that is still running, and removes the temporary directories. */
export async function stopEverything(): Promise<void> {
  await Promise.allSettled([...runningServers].map((server) => server.stop()));
  for (const path of temporaryDirectories) rmSync(path, { recursive: true, force: true });
  temporaryDirectories.clear();
}

/**
 * Runs a script's main function: on success the exit code is 0, on an error its message is
 * printed and the exit code is 1. Either way every server and temporary directory is cleaned up.
 */
export async function runScript(main: () => Promise<void>): Promise<void> {
  installHandlers();
  try {
    await main();
  } catch (error) {
    process.exitCode = 1;
    console.error(`\nFAILED: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.DEBUG && error instanceof Error) console.error(error.stack);
  } finally {
    await stopEverything();
  }
}

/** Runs a short wrangler command (build, migrations, SQL) to completion; returns its exit code, stdout, and stdout and stderr together. */
async function runWrangler(args: string[]): Promise<{ status: number; stdout: string; output: string }> {
  const { command, args: commandArgs, cwd } = wranglerCommand(args);
  const child = spawn(command, commandArgs, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  runningCommands.add(child);
  let stdout = "";
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => (output += chunk));
  try {
    const status = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => resolve(code ?? 1));
    });
    return { status, stdout, output: output.trim() };
  } finally {
    runningCommands.delete(child);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Ctrl-C, SIGTERM and SIGHUP end the script at once (exit code 128 + the signal's number); on
 * exit, wrangler's own exit hook kills the servers' workerd processes, and the handler below ends
 * the wrangler commands still running and removes the temporary directories.
 */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping the server(s) and cleaning up...`);
      process.exit(128 + constants.signals[signal]);
    });
  }
  process.on("exit", () => {
    for (const child of runningCommands) child.kill("SIGTERM"); // wrangler stops its own workerd on SIGTERM
    for (const path of temporaryDirectories) rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  });
}
