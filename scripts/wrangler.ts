// What setup.ts and admin.ts share: running wrangler against the slotbook D1 database.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The D1 database name in wrangler.toml. */
export const DATABASE = "slotbook";

/** The repository root, so the scripts work from any working directory. */
export const projectRoot = fileURLToPath(new URL("..", import.meta.url));

/** Keeps wrangler off the network for telemetry and for Cloudflare's request metadata. */
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

/**
 * Runs `npx wrangler <args>` in the project root and waits for it. Its output goes to the terminal,
 * except stdout when `captureStdout` is set, which is then returned.
 */
export function wrangler(args: string[], { captureStdout = false } = {}): { status: number; stdout: string } {
  const result = spawnSync("npx", ["wrangler", ...args], {
    cwd: projectRoot,
    env: wranglerEnv,
    encoding: "utf8",
    stdio: ["inherit", captureStdout ? "pipe" : "inherit", "inherit"],
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout ?? "" };
}

/** A SQL string literal: single quotes doubled. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Prints the message to stderr and ends the process with the exit code. */
export function fail(message: string, exitCode = 1): never {
  console.error(message);
  process.exit(exitCode);
}
