import { z } from "@hono/zod-openapi";
import { toUtcIso } from "../db/time";
import { invalidTimeRange } from "../errors/catalogue";

// ISO 8601 date and time with an optional fraction and an optional zone (Z or ±HH:MM / ±HHMM).
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** The years whose instants have the stored shape (db/time.ts), which orders them as text. */
const YEARS = { first: 1970, last: 9999 };

/**
 * Parses an ISO 8601 instant; a value without a zone is taken as UTC. Fractions of a second are
 * dropped. Returns undefined for anything that is not a real calendar instant (2024-02-30, 25:00),
 * and for one whose UTC year is outside 1970 to 9999 (9999-12-31T23:00:00-05:00 is in 10000).
 */
export function parseInstant(text: string): string | undefined {
  const match = ISO_INSTANT.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second = 0] = match.slice(1, 7).map(Number);
  const zone = match[7] ?? "Z";
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const realDate = utc.getUTCFullYear() === year && utc.getUTCMonth() === month - 1 && utc.getUTCDate() === day;
  if (!realDate || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const [offsetHours, offsetMins] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = sign * (offsetHours * 60 + offsetMins);
  }
  const instant = new Date(utc.getTime() - offsetMinutes * 60_000);
  if (instant.getUTCFullYear() < YEARS.first || instant.getUTCFullYear() > YEARS.last) return undefined;
  return toUtcIso(instant);
}

/** A request field holding an instant, normalized to the stored UTC shape. */
export const InstantInput = z
  .string()
  .transform((text, ctx) => {
    const instant = parseInstant(text);
    if (instant === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `Expected an ISO 8601 date-time from ${YEARS.first} to ${YEARS.last} in UTC, e.g. 2030-01-01T10:00:00Z`,
      });
      return z.NEVER;
    }
    return instant;
  })
  .openapi({
    type: "string",
    format: "date-time",
    example: "2030-01-01T10:00:00Z",
    description: `ISO 8601; Z or an offset; without one the time is taken as UTC. In UTC, from ${YEARS.first} to ${YEARS.last}.`,
  });

/** An instant in a response: always UTC with `Z`. */
export const InstantOutput = z.string().openapi({ format: "date-time", example: "2030-01-01T10:00:00Z" });

/** A list's `from`/`to` window (start in [from, to)): refused with 422 invalid_time_range unless from < to. */
export function refuseEmptyWindow(from: string | undefined, to: string | undefined): void {
  if (from && to && from >= to) throw invalidTimeRange("from", "must be before to");
}
