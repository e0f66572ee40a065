import { tooManyWatchers } from "../errors/catalogue";

/**
 * The bounds on a slot's watchers (GET /slots/{slot_id}/live), so that no client can take its
 * object's sockets, memory or CPU: owns the limits, what each socket keeps through hibernation
 * (its tag and attachment: memory is lost when the object hibernates), who may open one more,
 * which incoming message is too big, and which sockets are idle. README, "Live availability".
 */

export const LIVE_LIMITS = {
  /** Open sockets on one slot (the runtime's own ceiling is 32,768 per object). */
  perSlot: 1_000,
  /** Open sockets on one slot from one client address (an IPv4 address, an IPv6 /64: auth/client-address.ts). */
  perAddress: 10,
  /** The largest message a watcher may send, in bytes (UTF-8 for text): its messages are "ping" or a refresh. */
  messageBytes: 1_024,
  /** A socket without any message from its watcher (a "ping" included) for this long is closed. */
  idleMs: 10 * 60_000,
} as const;

/** Close codes: RFC 6455's "message too big", and one of the 4000-4999 range kept for applications. */
export const CLOSE_CODES = { messageTooBig: 1009, idle: 4408 } as const;

/** A refused watcher is told to try again this much later: a socket frees its place when it closes. */
const RETRY_AFTER_SECONDS = 60;

/** What a socket carries through hibernation: its client address and when its watcher last sent a message (ms). */
type WatcherRecord = { address: string; heardAt: number };

const addressTag = (address: string) => `address:${address}`;

/**
 * Accepts `socket` for a watcher from `address` (an addressKey), heard at `now`, or throws 429 too_many_watchers
 * when the slot or that address has all the sockets it may have. Counted from the runtime's own
 * list of the object's sockets (which survives hibernation), checked and accepted without a
 * pause in between, so that concurrent upgrades cannot both take the last place.
 */
export function acceptWithinLimits(ctx: DurableObjectState, socket: WebSocket, address: string, now: number): void {
  if (ctx.getWebSockets().length >= LIVE_LIMITS.perSlot) {
    throw tooManyWatchers(`This slot has ${LIVE_LIMITS.perSlot} watchers, the most it takes; try again later`, RETRY_AFTER_SECONDS);
  }
  if (ctx.getWebSockets(addressTag(address)).length >= LIVE_LIMITS.perAddress) {
    throw tooManyWatchers(`Your address already watches this slot on ${LIVE_LIMITS.perAddress} sockets, the most it may; close one first`, RETRY_AFTER_SECONDS);
  }
  ctx.acceptWebSocket(socket, [addressTag(address)]);
  socket.serializeAttachment({ address, heardAt: now } satisfies WatcherRecord);
}

/** The size of a message in bytes: a string's UTF-8 encoding is at least as long as its UTF-16 length. */
function tooBig(message: string | ArrayBuffer): boolean {
  if (typeof message !== "string") return message.byteLength > LIVE_LIMITS.messageBytes;
  return message.length > LIVE_LIMITS.messageBytes || new TextEncoder().encode(message).byteLength > LIVE_LIMITS.messageBytes;
}

/**
 * A watcher's message arrived: false, with the socket closed (1009), if it is too big to be
 * answered; else true, with the time noted for the idle check.
 */
export function heard(socket: WebSocket, message: string | ArrayBuffer): boolean {
  if (tooBig(message)) {
    close(socket, CLOSE_CODES.messageTooBig, "message too big");
    return false;
  }
  const record = socket.deserializeAttachment() as WatcherRecord | null;
  if (record) socket.serializeAttachment({ ...record, heardAt: Date.now() } satisfies WatcherRecord);
  return true;
}

/**
 * Closes (4408) every open socket whose watcher sent nothing for `LIVE_LIMITS.idleMs`: neither a
 * message nor a "ping" (answered by the runtime without waking the object, which notes its time).
 * Returns when the next open socket becomes idle, for the object's alarm, or null if none is open.
 */
export function closeIdle(ctx: DurableObjectState, now = Date.now()): number | null {
  let next: number | null = null;
  for (const socket of ctx.getWebSockets()) {
    // A socket closed earlier but not yet by its watcher needs no second close.
    if (socket.readyState !== WebSocket.OPEN) continue;
    const record = socket.deserializeAttachment() as WatcherRecord | null;
    const heardAt = Math.max(record?.heardAt ?? 0, ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime() ?? 0);
    const idleAt = heardAt + LIVE_LIMITS.idleMs;
    if (idleAt <= now) close(socket, CLOSE_CODES.idle, "idle");
    else next = next === null ? idleAt : Math.min(next, idleAt);
  }
  return next;
}

/** Closes a socket that may already be closed. */
export function close(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closed: nothing left to release.
  }
}
