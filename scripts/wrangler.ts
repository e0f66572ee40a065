// What the scripts share: running wrangler (against the slotbook D1 database) without its calls home,
// as a command (`wrangler()`, `wranglerCommand()`) or in this process (`startWorker()`).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// The offline switches, the one place they are set: no telemetry, and no fetch of Cloudflare's
// request metadata (miniflare's `cf` object) at startup. Set on this process, before wrangler is
// loaded (startWorker imports it only when called), and inherited by every wrangler it spawns.
// wrangler.toml's `send_metrics = false` covers `npx wrangler` typed by hand.
process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

/** The D1 database name in wrangler.toml. */
export const DATABASE = "slotbook";

/** The repository root, so the scripts work from any working directory. */
export const projectRoot = fileURLToPath(new URL("..", import.meta.url));

/** wrangler's command-line entry point, run with this Node (no npx in between, so signals reach wrangler). */
const wranglerBin = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");

/**
 * How every script runs a wrangler command: the command, its arguments and working directory.
 * `wrangler()` below runs it to completion; scripts/dev-server.ts runs it without blocking.
 */
export function wranglerCommand(args: string[]): { command: string; args: string[]; cwd: string } {
  return { command: process.execPath, args: [wranglerBin, ...args], cwd: projectRoot };
}

/**
 * Runs `wrangler <args>` in the project root and waits for it. Its output goes to the terminal,
 * except stdout when `captureStdout` is set, which is then returned.
 */
export function wrangler(args: string[], { captureStdout = false } = {}): { status: number; stdout: string } {
  const { command, args: commandArgs, cwd } = wranglerCommand(args);
  const result = spawnSync(command, commandArgs, {
    cwd,
    encoding: "utf8",
    stdio: ["inherit", captureStdout ? "pipe" : "inherit", "inherit"],
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout ?? "" };
}

type WranglerApi = typeof import("wrangler");
export type StartWorkerInput = Parameters<WranglerApi["unstable_startWorker"]>[0];
export type Worker = Awaited<ReturnType<WranglerApi["unstable_startWorker"]>>;

/** wrangler's `unstable_startWorker` (what `wrangler dev` runs on), loaded on first use. */
export async function startWorker(input: StartWorkerInput): Promise<Worker> {
  const { unstable_startWorker } = await import("wrangler");
  return unstable_startWorker(input);
}

/** Where a local D1 command works: the default state directory (.wrangler/state) or another one. */
export function localTarget(persistTo?: string): string[] {
  return persistTo === undefined ? ["--local"] : ["--local", "--persist-to", persistTo];
}

export { sqlString } from "./sql";

/** Prints the message to stderr and ends the process with the exit code. */
export function fail(message: string, exitCode = 1): never {
  console.error(message);
  process.exit(exitCode);
}
