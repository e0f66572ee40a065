import { z } from "@hono/zod-openapi";
import { Temporal } from "temporal-polyfill";

// IANA time zones: validation through Intl, and local wall-clock times (a series' "09:00 in
// Europe/Berlin") as UTC instants across DST changes through Temporal (temporal-polyfill, which
// reads the zone rules from the runtime's Intl), not hand-written offset arithmetic.

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

/**
 * The UTC instant (ms) at which clocks in `zone` show `wallClockMs` (a local time written as if
 * it were UTC), as RFC 5545 (3.3.5) reads a local time with a zone, through Temporal
 * (temporal-polyfill) with its "compatible" disambiguation: a time that a forward switch skips is
 * moved forward by the length of the gap (02:30 on the spring switch in New York is 03:30 EDT), and
 * a time that a backward switch repeats is its first occurrence (01:30 on the autumn switch in
 * New York is 01:30 EDT).
 */
export function wallClockToUtc(zone: string, wallClockMs: number): number {
  const wallClock = new Date(wallClockMs);
  return Temporal.PlainDateTime.from({
    year: wallClock.getUTCFullYear(),
    month: wallClock.getUTCMonth() + 1,
    day: wallClock.getUTCDate(),
    hour: wallClock.getUTCHours(),
    minute: wallClock.getUTCMinutes(),
    second: wallClock.getUTCSeconds(),
  }).toZonedDateTime(zone, { disambiguation: "compatible" }).epochMilliseconds;
}
