// An opened slot's roster, for its admin: who booked (each with a check-in box), who holds a place
// and until when, who waits and in which order, and the roster as a CSV file. It loads and
// revalidates itself while the slot is open, and at once when the slot's live counts change.
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { api, asCaller, errorText, ifNoneMatch, ok, okFile, revalidated, saveFile, type Revalidated, type RosterEntry, type Slot } from "./api";
import type { Caller } from "./hooks/use-session";
import { useRevalidated } from "./hooks/use-revalidated";
import "./roster.css";

/** An email that wraps after its "@" where the card is narrow. */
const Email = ({ email }: { email: string }) => {
  const at = email.lastIndexOf("@");
  if (at < 0) return <>{email}</>;
  return (
    <>
      {email.slice(0, at + 1)}
      <wbr />
      {email.slice(at + 1)}
    </>
  );
};

const timeOf = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });

export function Roster({ slot, caller }: { slot: Slot; caller: Caller }) {
  const { asUser, token } = caller;
  const param = { slot_id: String(slot.id) };
  const roster = useRevalidated(`${token} ${slot.id}`, (etag) =>
    asUser(async (token): Promise<Revalidated<RosterEntry[]>> => {
      const answer = await revalidated(api.admin.slots[":slot_id"].bookings.$get({ param, query: {} }, ifNoneMatch(etag, token)));
      // The route's 200 is JSON or CSV; asked without text/csv, it is the JSON list.
      return answer.notModified ? answer : { ...answer, body: Array.isArray(answer.body) ? answer.body : [] };
    }),
  );
  // A booking, a cancellation or a promotion changes the counts the live socket pushes: the roster follows.
  const counts = `${slot.available_spots} ${slot.waitlist_length ?? 0} ${slot.max_capacity}`;
  const countsShown = useRef(counts);
  useEffect(() => {
    if (countsShown.current === counts) return;
    countsShown.current = counts;
    void roster.reload();
  }, [counts]);

  /** Check-ins sent and not yet answered: shown at once, and taken back if refused. */
  const [pending, setPending] = useState<Record<number, boolean>>({});
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");

  async function setAttendance(entry: RosterEntry, present: boolean): Promise<void> {
    setError("");
    setPending((current) => ({ ...current, [entry.id]: present }));
    const booking = { param: { booking_id: String(entry.id) } };
    const checkIn = api.admin.bookings[":booking_id"]["check-in"];
    try {
      await asUser((token) => ok(present ? checkIn.$post(booking, asCaller(token)) : checkIn.$delete(booking, asCaller(token))));
      setMessage(present ? `${entry.email} checked in` : `Check-in of ${entry.email} undone`);
      await roster.reload();
    } catch (failure) {
      setError(errorText(failure));
    }
    setPending(({ [entry.id]: _answered, ...rest }) => rest);
  }

  const filename = `slot-${slot.id}-roster.csv`;
  async function download(): Promise<void> {
    setError("");
    try {
      saveFile(await asUser((token) => okFile(api.admin.slots[":slot_id"].bookings.$get({ param, query: { format: "csv" } }, asCaller(token)))), filename);
      setMessage(`The roster was downloaded as ${filename}`);
    } catch (failure) {
      setError(errorText(failure));
    }
  }

  const entries = roster.data ?? [];
  const booked = entries.filter((entry) => entry.status === "BOOKED");
  const held = entries.filter((entry) => entry.status === "HELD");
  const waiting = entries.filter((entry) => entry.status === "WAITLISTED").sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  const id = `slot-${slot.id}-roster`;
  const arrived = booked.filter((entry) => pending[entry.id] ?? entry.checked_in_at !== null).length;
  return (
    <section class="roster" aria-labelledby={`${id}-title`}>
      <h5 id={`${id}-title`}>Roster</h5>
      {roster.error && (
        <p class="error" role="alert">
          Could not load the roster: {roster.error}
        </p>
      )}
      {roster.data === undefined ? (
        !roster.error && <p class="hint">Loading the roster…</p>
      ) : entries.length === 0 ? (
        <p class="hint">No one has booked yet.</p>
      ) : (
        <>
          <h6>
            Booked ({booked.length}) · {arrived} checked in
          </h6>
          {booked.length > 0 && (
            <ul class="roster-list">
              {booked.map((entry) => {
                const present = pending[entry.id] ?? entry.checked_in_at !== null;
                return (
                  <li key={entry.id} class="roster-entry" data-booking-id={String(entry.id)}>
                    <span id={`${id}-${entry.id}-email`} class="roster-email">
                      <Email email={entry.email} />
                    </span>
                    <label class="choice">
                      <input
                        type="checkbox"
                        checked={present}
                        aria-labelledby={`${id}-${entry.id}-email ${id}-${entry.id}-label`}
                        onChange={(event: Event) => {
                          // Not disabled while its answer is awaited (focus would leave it): a second change waits for that.
                          if (entry.id in pending) (event.currentTarget as HTMLInputElement).checked = present;
                          else void setAttendance(entry, !present);
                        }}
                      />
                      <span id={`${id}-${entry.id}-label`}>checked in</span>
                    </label>
                    {entry.checked_in_at && !(entry.id in pending) && <span class="hint">at {timeOf(entry.checked_in_at)}</span>}
                  </li>
                );
              })}
            </ul>
          )}
          {held.length > 0 && (
            <>
              <h6>Held ({held.length})</h6>
              <ul class="roster-list">
                {held.map((entry) => (
                  <li key={entry.id} class="roster-entry" data-booking-id={String(entry.id)}>
                    <span class="roster-email">
                      <Email email={entry.email} />
                    </span>
                    <span class="hint">{entry.expires_at ? `held until ${timeOf(entry.expires_at)}` : "held"}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
          {waiting.length > 0 && (
            <>
              <h6>Waitlist ({waiting.length})</h6>
              <ol class="roster-list">
                {waiting.map((entry) => (
                  <li key={entry.id} class="roster-entry" data-booking-id={String(entry.id)}>
                    <span class="roster-email">
                      <span class="position">{entry.position}.</span> <Email email={entry.email} />
                    </span>
                  </li>
                ))}
              </ol>
            </>
          )}
        </>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="buttons">
        <button type="button" class="secondary" aria-describedby={`slot-${slot.id}-title`} onClick={() => void download()}>
          Download CSV
        </button>
      </div>
      <p class="hint" role="status">
        {message}
      </p>
    </section>
  );
}
