// A webhook endpoint on 127.0.0.1 for local development: prints every event it receives and checks
// its signature with the `standardwebhooks` package, as a real receiver would. The tests start the
// same receiver (test/global-setup.ts) and read back what it recorded.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Webhook } from "standardwebhooks";
import type { ReceivedWebhook } from "../test/webhook-receiver";
import { fail } from "./wrangler";

const USAGE = `Usage: npm run webhook-receiver -- [--port 8790] [--secret whsec_...] [--fail-first]

Listens on http://127.0.0.1:<port>/ and prints each webhook it receives: its webhook-id, type and
data, and whether its signature verifies with --secret (the secret POST /admin/webhooks answered).

  --port <n>       the port to listen on (default 8790)
  --secret <s>     verify signatures with this secret; without it they are printed unchecked
  --fail-first     answer 503 to the first attempt of each event, to watch a retry arrive 5 s later
  --help           show this help

Register it with the API started by \`npm start\` (local development accepts http://127.0.0.1):
  curl -s -X POST http://localhost:8787/admin/webhooks -H "Authorization: Bearer $ADMIN" \\
    -H 'Content-Type: application/json' -d '{"url": "http://127.0.0.1:8790/", "events": ["booking.created"]}'`;

export type ReceiverOptions = {
  port: number;
  /** Verify each signature with this secret and print the outcome. */
  secret?: string;
  /** Print each webhook as it arrives. */
  print?: boolean;
  /**
   * Answer 503 to the first attempt of each event (by webhook-id and path), for all paths; for the tests,
   * paths starting /fail-first/ do so anyway, and paths starting /fail/ always answer 500.
   */
  failFirst?: boolean;
  /** Answer each webhook this many ms after it arrived (a slow endpoint, to build a backlog). Default 0. */
  answerAfterMs?: number;
};

export type Receiver = { origin: string; server: Server };

const SIGNATURE_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type"];

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts the receiver on 127.0.0.1. Besides taking webhooks (any POST), it answers
 * GET /received?path=<path> with the webhooks received on that path, oldest first.
 */
export function startReceiver({ port, secret, print = false, failFirst = false, answerAfterMs = 0 }: ReceiverOptions): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const verifier = secret === undefined ? undefined : new Webhook(secret);
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (request.method === "GET" && url.pathname === "/received") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(received.filter(({ path }) => path === url.searchParams.get("path"))));
      return;
    }
    if (request.method !== "POST") {
      response.writeHead(405).end();
      return;
    }
    const body = await readBody(request);
    const headers = Object.fromEntries(SIGNATURE_HEADERS.map((name) => [name, String(request.headers[name] ?? "")]));
    const id = headers["webhook-id"];
    const isRepeat = received.some((earlier) => earlier.path === url.pathname && earlier.headers["webhook-id"] === id);
    const answered = url.pathname.startsWith("/fail/") ? 500 : (failFirst || url.pathname.startsWith("/fail-first/")) && !isRepeat ? 503 : 204;
    received.push({ path: url.pathname, headers, body, answered });
    if (answerAfterMs > 0) await new Promise((resolve) => setTimeout(resolve, answerAfterMs));
    response.writeHead(answered).end();
    if (!print) return;
    let verdict = "signature not checked (no --secret)";
    if (verifier) {
      try {
        verifier.verify(body, headers);
        verdict = "signature verified";
      } catch (error) {
        verdict = `SIGNATURE REJECTED: ${(error as Error).message}`;
      }
    }
    console.log(`${new Date().toISOString()} ${id} ${isRepeat ? "(repeat) " : ""}answered ${answered}, ${verdict}\n  ${body}`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const boundPort = typeof address === "object" && address !== null ? address.port : port;
      resolve({ origin: `http://127.0.0.1:${boundPort}`, server });
    });
  });
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        help: { type: "boolean", short: "h" },
        port: { type: "string", default: "8790" },
        secret: { type: "string" },
        "fail-first": { type: "boolean" },
      },
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`, 2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) fail(`Not a port: ${values.port}`, 2);
  if (values.secret !== undefined && !values.secret.startsWith("whsec_")) fail("The secret starts with whsec_", 2);
  const { origin } = await startReceiver({ port, secret: values.secret, print: true, failFirst: values["fail-first"] });
  console.log(`Receiving webhooks at ${origin}/ (Ctrl-C to stop)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
