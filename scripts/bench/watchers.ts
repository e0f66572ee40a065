// The watchers of cancel-rebook-watched, in a process of their own (started by measurement.ts), so
// that taking in their messages does not slow the load generator down: plain Node with `ws`.
// argv: the URL of a slot's live availability and how many sockets to open. Prints "ready" once
// every socket has its first message; each line read from stdin makes it print how many messages
// arrived since connecting; exits when stdin closes.
import { createRequire } from "node:module";

/** What this uses of a `ws` socket (the package has no types installed). */
type Socket = { on(event: "message", listener: () => void): void; on(event: "error", listener: (error: Error) => void): void };
const WebSocket = createRequire(import.meta.url)("ws") as new (url: string) => Socket;

const [url, count] = [process.argv[2], Number(process.argv[3])];
let received = 0;
let greeted = 0;
for (let i = 0; i < count; i++) {
  const socket = new WebSocket(url);
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
