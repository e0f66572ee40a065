// The workerd processes that this script's dev servers run (scripts/dev-server.ts): miniflare
// spawns each runtime as a child of this process, so a server can be crashed by their ids.
import { readdirSync, readFileSync } from "node:fs";

/** The ids of this process's workerd children (the runtimes that wrangler's dev servers start). */
export function workerdChildren(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return ppid === process.pid && stat.includes("(workerd)");
      } catch {
        return false; // it ended meanwhile
      }
    })
    .map(Number);
}
