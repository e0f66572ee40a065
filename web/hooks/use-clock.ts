// The page's one clock, for what it shows that changes with time alone: a hold's countdown, a slot's
// "Started", its booking window and cancellation deadline (../policy-text.ts). A component renders
// again when its next such change is due, not on a fixed tick: a week of cards whose rules change
// hours from now stays idle, and a countdown still ticks every second.
import { useEffect, useState } from "hono/jsx/dom";

/** The longest delay setTimeout takes (a signed 32-bit count of ms); a later instant is reached in steps. */
const LONGEST_DELAY_MS = 2 ** 31 - 1;
/** Woken a little after the instant, so that the render sees it passed whatever the timer's rounding. */
const LATE_MS = 25;

/**
 * The current time, read at every render. The component renders again at `wakeAt(now)`: the next
 * instant at which what it shows differs (undefined: none, until something else renders it).
 */
export function useClock(wakeAt: (now: number) => number | undefined): number {
  const [wakings, setWakings] = useState(0);
  const now = Date.now();
  const next = wakeAt(now);
  useEffect(() => {
    if (next === undefined) return;
    const timer = setTimeout(() => setWakings((count) => count + 1), Math.min(LONGEST_DELAY_MS, Math.max(0, next - Date.now()) + LATE_MS));
    return () => clearTimeout(timer);
    // `wakings`: a waking that finds the same instant still ahead (a step of a long wait) waits again.
  }, [next, wakings]);
  return now;
}

/** The first of several instants to wake at, any of them possibly none. */
export function earliest(instants: readonly (number | undefined)[]): number | undefined {
  const known = instants.filter((at): at is number => at !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}
