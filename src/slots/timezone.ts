import { z } from "@hono/zod-openapi";

// IANA time zones through Intl: validation, and the offset in force at an instant, from which
// local wall-clock times (a series' "09:00 in Europe/Berlin") become UTC instants across DST.

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter that writes an instant's wall-clock fields in `zone`; undefined if Intl does not know the zone. */
function formatterFor(zone: string): Intl.DateTimeFormat | undefined {
  let formatter = formatters.get(zone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      return undefined;
    }
    formatters.set(zone, formatter);
  }
  return formatter;
}

/**
 * The zone as stored: its IANA name with Intl's spelling when they differ only in case
 * (`europe/berlin` → `Europe/Berlin`), else as given, since Intl resolves some current names to
 * older aliases (`Asia/Kolkata` → `Asia/Calcutta`); undefined if Intl does not know it.
 */
export function canonicalTimeZone(zone: string): string | undefined {
  // Offsets such as "+05:00" are accepted by Intl but are not IANA zones.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) return undefined;
  const resolved = formatterFor(zone)?.resolvedOptions().timeZone;
  if (resolved === undefined) return undefined;
  return resolved.toLowerCase() === zone.toLowerCase() ? resolved : zone;
}

/** A request field naming an IANA time zone, normalized to its canonical name. */
export const TimeZoneInput = z
  .string()
  .max(64)
  .transform((text, ctx) => {
    const zone = canonicalTimeZone(text);
    if (!zone) {
      ctx.addIssue({ code: "custom", message: "Expected an IANA time zone, e.g. Europe/Berlin" });
      return z.NEVER;
    }
    return zone;
  })
  .openapi({ type: "string", example: "Europe/Berlin", description: "IANA time zone, for display; instants stay UTC" });

/** The zone's offset from UTC at the instant `utcMs`, in ms (Berlin in summer: +7,200,000). */
function offsetAt(zone: string, utcMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(zone)!.formatToParts(utcMs)) fields[part.type] = Number(part.value);
  const wallClock = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
  return wallClock - Math.floor(utcMs / 1000) * 1000;
}

/**
 * The UTC instant (ms) at which clocks in `zone` show `wallClockMs` (a local time written as if
 * it were UTC). A time skipped by a DST change (02:30 on the spring switch in Berlin) is taken
 * with the offset before the change, as RFC 5545 does (03:30 summer time).
 */
export function wallClockToUtc(zone: string, wallClockMs: number): number {
  const first = wallClockMs - offsetAt(zone, wallClockMs);
  const offset = offsetAt(zone, first);
  return wallClockMs - offset;
}
