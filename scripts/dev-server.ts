// Starts and stops throw-away `wrangler dev` servers for scripts (restart check, benchmark):
// a free loopback port, its own state directory, its own JWT secret, and nothing left running
// afterwards, also when the script fails or is interrupted (Ctrl-C).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { DATABASE, localTarget, projectRoot, sqlString, wranglerCommand } from "./wrangler";

export const LOOPBACK = "127.0.0.1";

export type DevServerOptions = {
  /** The state directory (D1 and Durable Object storage), passed as --persist-to. */
  persistTo: string;
  /**
   * A Worker built by `buildWorker`, served as it is (--no-bundle). Without it, wrangler dev builds
   * src/ itself and reloads the Worker whenever a file there changes, also in the middle of a run.
   */
  worker?: string;
  /** The JWT_SECRET the Worker signs tokens with, passed as --var JWT_SECRET:<secret>. */
  jwtSecret: string;
  /**
   * wrangler's --log-level. Default "warn": at "info" wrangler logs every request, which costs CPU
   * in the wrangler process and skews a benchmark.
   */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** How long to wait for GET /health to answer, in ms. Default 90 s. */
  readyTimeoutMs?: number;
  /** Also copy wrangler's output to stderr as it arrives (it is always kept for error messages). */
  echo?: boolean;
};

export type DevServer = {
  /** e.g. http://127.0.0.1:40123 */
  baseUrl: string;
  port: number;
  persistTo: string;
  /** The last lines wrangler printed. */
  output(): string;
  /** Stops the whole process group (wrangler, workerd) and waits until it is gone. Idempotent. */
  stop(): Promise<void>;
};

/** Process groups started here and still running (with how to stop each), and temporary directories not yet removed. */
const runningGroups = new Map<number, () => Promise<void>>();
const temporaryDirectories = new Set<string>();
let handlersInstalled = false;
/** Set by Ctrl-C and friends: nothing new may start while the script winds down. */
let interrupted = false;

/** A random secret for --var JWT_SECRET:<secret> (hex, so no ':' or shell-special characters). */
export function randomSecret(): string {
  return randomBytes(32).toString("hex");
}

/** A TCP port on the loopback address that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : undefined;
      server.close(() => (port === undefined ? reject(new Error("could not read the port of a listening socket")) : resolve(port)));
    });
  });
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
 */
export async function buildWorker(outdir: string): Promise<string> {
  const { status, output } = await runWrangler(["deploy", "--dry-run", "--outdir", outdir]);
  if (status !== 0) throw new Error(`Building the Worker failed (wrangler exited with ${status}):\n${output}`);
  return join(outdir, "index.js");
}

/** Applies the D1 migrations to the local database in `persistTo`. Throws with wrangler's output on failure. */
export async function applyMigrations(persistTo: string): Promise<void> {
  const { status, stdout, output } = await runWrangler(["d1", "migrations", "apply", DATABASE, ...localTarget(persistTo)]);
  if (status !== 0) throw new Error(`Applying the D1 migrations failed (wrangler exited with ${status}):\n${output || stdout}`);
}

/** Runs SQL on the local database in `persistTo` and returns the rows of its result sets. */
export async function executeSql<Row>(persistTo: string, sql: string): Promise<Row[]> {
  const { status, stdout, output } = await runWrangler(["d1", "execute", DATABASE, ...localTarget(persistTo), "--json", "--command", sql]);
  if (status !== 0) throw new Error(`wrangler d1 execute failed (exit code ${status}):\n${output}`);
  return (JSON.parse(stdout) as { results: Row[] }[]).flatMap((resultSet) => resultSet.results);
}

/** Gives an existing user the ADMIN role, directly in D1 (registration never grants it). */
export async function promoteToAdmin(persistTo: string, email: string): Promise<void> {
  const changed = await executeSql<{ id: number }>(persistTo, `UPDATE users SET role='ADMIN' WHERE email=${sqlString(email)} RETURNING id`);
  if (changed.length !== 1) throw new Error(`Promoting ${email} changed ${changed.length} users, expected 1`);
}

/**
 * Applies the migrations to `persistTo`, then starts `wrangler dev` on a free loopback port with
 * that state and secret, and resolves once GET /health answers. If the port was taken in the
 * meantime (wrangler exits with "Address already in use"), tries another one.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  installHandlers();
  await applyMigrations(options.persistTo);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(port, options);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

/** Stops every server started here that is still running, and removes the temporary directories. */
export async function stopEverything(): Promise<void> {
  await Promise.all([...runningGroups.values()].map((stop) => stop()));
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
    if (interrupted) return; // the signal handler is cleaning up and sets the exit code
    console.error(`\nFAILED: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.DEBUG && error instanceof Error) console.error(error.stack);
  } finally {
    await stopEverything();
  }
}

class PortTaken extends Error {}

async function launch(port: number, options: DevServerOptions): Promise<DevServer> {
  const { persistTo, worker, jwtSecret, logLevel = "warn", readyTimeoutMs = 90_000, echo = false } = options;
  // A script path given, wrangler would look for the configuration next to it: name ours.
  const source = worker === undefined ? [] : [worker, "--no-bundle", "--config", join(projectRoot, "wrangler.toml")];
  const args = [
    "dev",
    ...source,
    "--ip",
    LOOPBACK,
    "--port",
    String(port),
    "--persist-to",
    persistTo,
    "--var",
    `JWT_SECRET:${jwtSecret}`,
    "--log-level",
    logLevel,
    "--show-interactive-dev-session=false",
  ];
  const wranglerDev = spawnWrangler(args, echo);
  let exited = false;
  const markExited = () => (exited = true);
  void wranglerDev.exit.then(markExited, markExited);

  const baseUrl = `http://${LOOPBACK}:${port}`;
  try {
    await waitForHealth(baseUrl, readyTimeoutMs, () => exited);
  } catch (error) {
    await wranglerDev.stop();
    const log = wranglerDev.output();
    if (/address already in use/i.test(log)) throw new PortTaken(`port ${port} was taken`);
    throw new Error(`${(error as Error).message}\n--- wrangler output ---\n${log || "(none)"}\n-----------------------`);
  }
  return { baseUrl, port, persistTo, output: wranglerDev.output, stop: wranglerDev.stop };
}

type WranglerProcess = {
  /** Resolves with the exit code (1 if killed by a signal) once the process has exited. */
  exit: Promise<number>;
  /** Everything written to stdout. */
  stdout(): string;
  /** The last 200 lines written to stdout and stderr. */
  output(): string;
  /** Stops the whole process group and waits until it is gone. Idempotent. */
  stop(): Promise<void>;
};

/**
 * Starts `wrangler <args>` in its own process group (detached), so that stopping it stops
 * wrangler and workerd at once, and registers it so that nothing outlives the script.
 */
function spawnWrangler(args: string[], echo = false): WranglerProcess {
  if (interrupted) throw new Error("interrupted"); // the script is winding down: start nothing new
  const { command, args: commandArgs, cwd } = wranglerCommand(args);
  const child = spawn(command, commandArgs, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const exit = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code ?? 1));
  });
  const pgid = child.pid;
  let stdout = "";
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    if (echo) process.stderr.write(chunk);
    lines.push(...chunk.toString("utf8").split("\n"));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    keep(chunk);
  });
  child.stderr.on("data", keep);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= pgid === undefined ? Promise.resolve() : stopGroup(pgid, exit).finally(() => runningGroups.delete(pgid)));
  if (pgid !== undefined) {
    runningGroups.set(pgid, stop);
    // A group whose leader exited may still hold children (workerd): stop() makes sure of it.
    void exit.then(stop, stop);
  }
  return { exit, stdout: () => stdout, output: () => lines.join("\n").trim(), stop };
}

/** Runs a short wrangler command (migrations, SQL) to completion and returns its exit code and output. */
async function runWrangler(args: string[]): Promise<{ status: number; stdout: string; output: string }> {
  const run = spawnWrangler(args);
  const status = await run.exit;
  await run.stop();
  return { status, stdout: run.stdout(), output: run.output() };
}

async function waitForHealth(baseUrl: string, timeoutMs: number, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited()) throw new Error("wrangler dev exited before the API answered GET /health");
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = await response.text();
      if (response.status === 200 && body.includes('"ok"')) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`GET ${baseUrl}/health did not answer within ${timeoutMs / 1000} s`);
    await sleep(150);
  }
}

/** SIGTERM to the group, SIGKILL if it is still there after 10 s; resolves when the whole group is gone. */
async function stopGroup(pgid: number, leaderExit: Promise<unknown>): Promise<void> {
  if (signalGroup(pgid, "SIGTERM") && !(await groupGone(pgid, 10_000))) {
    signalGroup(pgid, "SIGKILL");
    if (!(await groupGone(pgid, 5_000))) console.error(`warning: process group ${pgid} (wrangler) is still there after SIGKILL`);
  }
  await leaderExit.catch(() => undefined);
}

/** Sends a signal to a process group; false if the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (signalGroup(pgid, 0)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Ctrl-C, SIGTERM and SIGHUP stop the servers gracefully and then exit; a second signal, or an
 * exit through process.exit() with servers still up, kills their groups at once.
 */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      const code = 128 + constants.signals[signal];
      if (interrupted) process.exit(code); // the "exit" handler below kills what is left
      interrupted = true;
      console.error(`\n${signal}: stopping the dev server(s) and cleaning up...`);
      void stopEverything().finally(() => process.exit(code));
    });
  }
  process.on("exit", () => {
    for (const pgid of runningGroups.keys()) {
      try {
        signalGroup(pgid, "SIGKILL");
      } catch {
        // Best effort: the process is exiting.
      }
    }
    for (const path of temporaryDirectories) rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  });
}
