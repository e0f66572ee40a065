// iCalendar (RFC 5545, with RFC 7986's REFRESH-INTERVAL) for the feeds: CRLF line ends, TEXT
// escaping, and lines folded at 75 octets without splitting a UTF-8 character. Hand-written
// rather than `ical-generator` (+9 KiB gzipped, README "Bundle"): the feeds need one component
// type and a dozen properties; tests parse every feed with ical.js, an independent parser.

/** One event: times are UTC instants as stored ('YYYY-MM-DDTHH:MM:SSZ'). */
export type IcsEvent = {
  uid: string;
  start: string;
  end: string;
  summary: string;
  /** Plain text shown with the event (its cancellation deadline, calendar/cancellation-note.ts). */
  description?: string;
  status: "CONFIRMED" | "TENTATIVE" | "CANCELLED";
  /** Increases whenever the event changes, so that calendars replace their copy. */
  sequence: number;
  lastModified: string;
};

/** `refreshInterval` only for a subscribed feed: a one-off file has nothing to refresh (RFC 7986 §5.7). */
export type IcsCalendar = { name: string; refreshInterval?: string; events: IcsEvent[] };

const MAX_LINE_OCTETS = 75;

/** TEXT value escaping (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks. */
export function escapeText(text: string): string {
  return text.replace(/[\\;,]/g, (special) => `\\${special}`).replace(/\r\n|\r|\n/g, "\\n");
}

const utf8Octets = (codePoint: number) => (codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4);

/**
 * Folds a content line (RFC 5545 §3.1): no line longer than 75 octets, a continuation line
 * starting with one space, breaks only between characters (code points), never inside one.
 */
export function foldLine(line: string): string {
  // Fast path: even at 3 octets per UTF-16 unit (4 per surrogate pair) it fits.
  if (line.length * 3 <= MAX_LINE_OCTETS) return line;
  let folded = "";
  let octets = 0;
  for (const character of line) {
    const size = utf8Octets(character.codePointAt(0)!);
    if (octets + size > MAX_LINE_OCTETS) {
      folded += "\r\n ";
      octets = 1;
    }
    folded += character;
    octets += size;
  }
  return folded;
}

/** '2030-01-01T10:00:00Z' → '20300101T100000Z' (DATE-TIME in UTC). */
const dateTime = (instant: string) => instant.replace(/[-:]/g, "");

/** The whole calendar, CRLF-terminated lines. */
export function serializeCalendar({ name, refreshInterval, events }: IcsCalendar): string {
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//slotbook//calendar//EN",
    "CALSCALE:GREGORIAN",
    `NAME:${escapeText(name)}`,
    `X-WR-CALNAME:${escapeText(name)}`,
    ...(refreshInterval ? [`REFRESH-INTERVAL;VALUE=DURATION:${refreshInterval}`, `X-PUBLISHED-TTL:${refreshInterval}`] : []),
  ];
  for (const event of events) {
    lines.push(
      "BEGIN:VEVENT",
      `UID:${escapeText(event.uid)}`,
      // Without METHOD, DTSTAMP is when the event was last revised (RFC 5545 §3.8.7.2): the same
      // on every request, so an unchanged feed keeps its ETag.
      `DTSTAMP:${dateTime(event.lastModified)}`,
      `DTSTART:${dateTime(event.start)}`,
      `DTEND:${dateTime(event.end)}`,
      `SEQUENCE:${event.sequence}`,
      `LAST-MODIFIED:${dateTime(event.lastModified)}`,
      `STATUS:${event.status}`,
      `SUMMARY:${escapeText(event.summary)}`,
      ...(event.description === undefined ? [] : [`DESCRIPTION:${escapeText(event.description)}`]),
      "END:VEVENT",
    );
  }
  lines.push("END:VCALENDAR");
  return lines.map(foldLine).join("\r\n") + "\r\n";
}
