// What the scripts share: running wrangler (against the slotbook D1 database) without its calls home.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The D1 database name in wrangler.toml. */
export const DATABASE = "slotbook";

/** The repository root, so the scripts work from any working directory. */
export const projectRoot = fileURLToPath(new URL("..", import.meta.url));

/** Keeps wrangler off the network for telemetry and for Cloudflare's request metadata. */
const wranglerEnv: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

/**
 * How every script starts wrangler: the command, its arguments, working directory and environment.
 * `wrangler()` below runs it to completion; scripts/dev-server.ts spawns it in the background.
 */
export function wranglerCommand(args: string[]): { command: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv } {
  return { command: "npx", args: ["wrangler", ...args], cwd: projectRoot, env: wranglerEnv };
}

/**
 * Runs `npx wrangler <args>` in the project root and waits for it. Its output goes to the terminal,
 * except stdout when `captureStdout` is set, which is then returned.
 */
export function wrangler(args: string[], { captureStdout = false } = {}): { status: number; stdout: string } {
  const { command, args: commandArgs, cwd, env } = wranglerCommand(args);
  const result = spawnSync(command, commandArgs, {
    cwd,
    env,
    encoding: "utf8",
    stdio: ["inherit", captureStdout ? "pipe" : "inherit", "inherit"],
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout ?? "" };
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
