// The watchers of cancel-rebook-watched, in a process of their own (started by measurement.ts), so
// that taking in their messages does not slow the load generator down: plain Node with `ws`.
// argv: the URL of a slot's live availability and how many sockets to open. Prints "ready" once
// every socket has its first message; each line read from stdin makes it print how many messages
// arrived since connecting; exits when stdin closes. The server takes at most 10 sockets per
// client address on a slot (src/slots/live-limits.ts): every 10 sockets get an address of their own.
import { createRequire } from "node:module";
import { LIVE_LIMITS } from "../../src/slots/live-limits";
import { clientAddress } from "../api-client";

/** What this uses of a `ws` socket (the package has no types installed). */
type Socket = { on(event: "message", listener: () => void): void; on(event: "error", listener: (error: Error) => void): void };
const WebSocket = createRequire(import.meta.url)("ws") as new (url: string, options: { headers: Record<string, string> }) => Socket;

const [url, count] = [process.argv[2], Number(process.argv[3])];
let received = 0;
let greeted = 0;
for (let i = 0; i < count; i++) {
  // Addresses counted from the end of the range, apart from the users' (registered from clientAddress(0...)).
  const address = clientAddress(0xffff - Math.floor(i / LIVE_LIMITS.perAddress));
  const socket = new WebSocket(url, { headers: { "cf-connecting-ip": address } });
  let first = true;
  socket.on("message", () => {
    received++;
    if (!first) return;
    first = false;
    if (++greeted === count) console.log("ready");
  });
  socket.on("error", (error) => {
    console.error(error.message);
    process.exit(1);
  });
}
process.stdin.on("data", () => console.log(String(received)));
process.stdin.on("end", () => process.exit(0));
