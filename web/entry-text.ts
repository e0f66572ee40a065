// How the person's own entry on a slot is put into words, the same in the week and in My bookings.
import type { Booking } from "./api";

/** "4:05" for 245 seconds. */
function countdown(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** When a hold's countdown (above) next shows another second, after `now`; undefined for anything else. */
export function nextCountdownChange(entry: Booking, now: number): number | undefined {
  if (entry.status !== "HELD" || !entry.expires_at) return undefined;
  const expires = new Date(entry.expires_at).getTime();
  return expires > now ? expires - (Math.ceil((expires - now) / 1000) - 1) * 1000 : undefined;
}

/** "Booked", "On the waitlist (position 2)", "Held for you" (with the time left to confirm, given `now`). */
export function entryText(entry: Booking, now?: number): string {
  if (entry.status === "WAITLISTED") return entry.position ? `On the waitlist (position ${entry.position})` : "On the waitlist";
  if (entry.status === "HELD") {
    return now !== undefined && entry.expires_at ? `Held for you: ${countdown(new Date(entry.expires_at).getTime() - now)} left to confirm` : "Held for you";
  }
  return "Booked";
}

/** The label of the button that gives the entry up. */
export function cancelLabel(entry: Booking): string {
  return entry.status === "WAITLISTED" ? "Leave waitlist" : entry.status === "HELD" ? "Release hold" : "Cancel booking";
}
