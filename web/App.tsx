// The booking page: signed out, the login form; signed in, the week of slots, the person's own
// bookings, the admin's slot form, rosters and categories, and the calendar feed. State lives in
// hooks (./hooks/), one concern each; this file wires them to the views and turns clicks into API calls.
import { useEffect, useState } from "hono/jsx/dom";
import { AccountMenu } from "./account";
import { CategoriesAdmin } from "./categories-admin";
import { api, asCaller, errorText, ifNoneMatch, ok, revalidated, type Booking, type NewSlot, type Slot } from "./api";
import { useLiveAvailability } from "./hooks/use-live";
import { usePreferences } from "./hooks/use-preferences";
import { useRevalidated } from "./hooks/use-revalidated";
import { useSession, type AuthAction, type SessionControls } from "./hooks/use-session";
import { MyBookings, type EntryActions } from "./my-bookings";
import type { Session } from "./session";
import { AuthForm, CategoryPicker, FeedPanel, NewSlotForm } from "./views";
import { WeekView, type SlotActions } from "./week-view";
import { addDays, startOfWeek } from "./week";

/** A week's slots (and the caller's entries on them) come in one page: up to the API's 500. */
const WEEK_LIMIT = "500";
/** My bookings lists the caller's next entries, from now on. */
const UPCOMING_LIMIT = "100";

const weekWindow = (weekStart: Date) => ({ from: weekStart.toISOString(), to: addDays(weekStart, 7).toISOString() });
const notCancelled = (bookings: Booking[] | undefined) => (bookings ?? []).filter((booking) => booking.status !== "CANCELLED");

/**
 * After an action on a slot, keyboard focus goes to the slot's (new) action. Renders that follow
 * (the refreshed lists, live counts) may replace that button, dropping focus to the page: for the
 * next 2 s, a render that finds focus on the page alone puts it back (see `keepSlotFocus`).
 */
let focusWanted: { slotId: number; until: number } | undefined;

function focusSlotAction(slotId: number): void {
  focusWanted = { slotId, until: Date.now() + 2_000 };
  setTimeout(keepSlotFocus, 0);
}

function keepSlotFocus(): void {
  if (!focusWanted || Date.now() > focusWanted.until) return;
  const button = document.querySelector<HTMLElement>(`[data-slot-id="${focusWanted.slotId}"] .slot-actions button`);
  const lost = document.activeElement === null || document.activeElement === document.body;
  if (button && (lost || document.activeElement?.closest(`[data-slot-id="${focusWanted.slotId}"]`))) button.focus();
}

export function App() {
  const controls = useSession();
  const [status, setStatus] = useState("");
  const { session } = controls;
  const authenticate = async (action: AuthAction, email: string, password: string) => {
    const done = await controls.authenticate(action, email, password);
    if (done) setStatus(done);
  };
  return (
    <>
      <header class="top">
        <h1>slotbook</h1>
        {session && (
          <div class="who">
            <span>
              {session.email}
              {session.role === "ADMIN" ? " (admin)" : ""}
            </span>
            <button type="button" onClick={() => controls.signOut()}>
              Log out
            </button>
          </div>
        )}
      </header>
      <main>
        <p class="status" role="status">
          {status}
        </p>
        {/* Signing out unmounts SignedIn, so the next person starts from a clean page. */}
        {session ? (
          <>
            <SignedIn session={session} asUser={controls.asUser} onStatus={setStatus} />
            <AccountMenu session={session} onSession={controls.continueWith} onSignOut={controls.signOut} />
          </>
        ) : (
          <AuthForm error={controls.authError} onSubmit={authenticate} />
        )}
      </main>
    </>
  );
}

type SignedInProps = { session: Session; asUser: SessionControls["asUser"]; onStatus: (text: string) => void };

function SignedIn({ session, asUser, onStatus }: SignedInProps) {
  const preferences = usePreferences(asUser, onStatus);
  // After every render: focus lost with a replaced slot button comes back to it.
  useEffect(keepSlotFocus);
  const [weekStart, setWeekStart] = useState(() => startOfWeek(new Date()));
  const [opened, setOpened] = useState<number[]>([]);
  const [notices, setNotices] = useState<Record<number, string>>({});

  const week = weekWindow(weekStart);
  const categories = preferences.chosen.length > 0 ? preferences.chosen.join(",") : undefined;
  const slotsQuery = { ...week, limit: WEEK_LIMIT, ...(categories ? { categories } : {}) };
  // The week waits for the saved category choice, so that it is not loaded twice.
  const slots = useRevalidated(preferences.loaded ? JSON.stringify(slotsQuery) : undefined, (etag) =>
    revalidated(api.slots.$get({ query: slotsQuery }, ifNoneMatch(etag))),
  );
  const weekEntries = useRevalidated(`${session.token} ${week.from}`, (etag) =>
    asUser((token) => revalidated(api.bookings.$get({ query: { ...week, limit: WEEK_LIMIT } }, ifNoneMatch(etag, token)))),
  );
  const upcoming = useRevalidated(session.token, (etag) =>
    asUser((token) => revalidated(api.bookings.$get({ query: { from: new Date().toISOString(), limit: UPCOMING_LIMIT } }, ifNoneMatch(etag, token)))),
  );
  const entries = notCancelled(weekEntries.data);
  const mine = notCancelled(upcoming.data);
  const refresh = () => Promise.all([slots.reload(), weekEntries.reload(), upcoming.reload()]);

  // Live counts for the slots the person opened or holds an entry on.
  const visible = new Set((slots.data ?? []).map((slot) => slot.id));
  const watched = [...opened.filter((id) => visible.has(id)), ...entries.map((entry) => entry.time_slot_id), ...mine.map((entry) => entry.time_slot_id)];
  const counts = useLiveAvailability(watched);
  useEffect(() => {
    const update = counts.latest;
    // A place freed on a slot this person waits for may have been theirs; a deleted slot cancelled theirs.
    const concernsMe = [...entries, ...mine].some((entry) => entry.time_slot_id === update?.slot_id && (entry.status !== "BOOKED" || update.deleted));
    if (concernsMe) void Promise.all([weekEntries.reload(), upcoming.reload()]);
  }, [counts.latest]);
  const shown = slots.data
    ?.filter((slot) => !counts.bySlot.get(slot.id)?.deleted)
    .map((slot): Slot => {
      const update = counts.bySlot.get(slot.id);
      return update ? { ...slot, available_spots: update.available_spots, max_capacity: update.max_capacity, waitlist_length: update.waitlist_length } : slot;
    });

  const setNotice = (slotId: number, text: string) => setNotices((current) => ({ ...current, [slotId]: text }));

  /** Runs one slot action; its failure is shown on the slot, and the view is refreshed either way. */
  async function onSlot(slotId: number, action: () => Promise<string>): Promise<void> {
    setNotice(slotId, "");
    try {
      onStatus(await action());
    } catch (error) {
      setNotice(slotId, errorText(error));
    }
    await refresh();
    focusSlotAction(slotId);
  }

  const bookingParam = (booking: Booking) => ({ param: { booking_id: String(booking.id) }, header: {} });
  const slotParam = (slot: Slot) => ({ param: { slot_id: String(slot.id) } });
  const cancel = (booking: Booking) =>
    asUser(async (token) => {
      await ok(api.bookings[":booking_id"].$delete(bookingParam(booking), asCaller(token)));
      return booking.status === "WAITLISTED" ? "Left the waitlist" : "Booking cancelled";
    });

  const actions: SlotActions = {
    book: (slot, waitlist) =>
      onSlot(slot.id, async () => {
        const json = waitlist ? { time_slot_id: slot.id, waitlist: true } : { time_slot_id: slot.id };
        const booking = await asUser((token) => ok(api.bookings.$post({ json, header: {} }, asCaller(token))));
        return booking.status === "WAITLISTED" ? `On the waitlist, position ${booking.position ?? "?"}` : "Booked";
      }),
    cancel: (booking) => onSlot(booking.time_slot_id, () => cancel(booking)),
    toggle: (slot) => setOpened((current) => (current.includes(slot.id) ? current.filter((id) => id !== slot.id) : [...current, slot.id])),
    setCapacity: (slot, capacity) =>
      onSlot(slot.id, async () => {
        await asUser((token) => ok(api.admin.slots[":slot_id"].$put({ ...slotParam(slot), json: { max_capacity: capacity } }, asCaller(token))));
        return `Capacity set to ${capacity}`;
      }),
    remove: (slot) =>
      onSlot(slot.id, async () => {
        const result = await asUser((token) => ok(api.admin.slots[":slot_id"].$delete(slotParam(slot), asCaller(token))));
        return `Slot deleted; ${result.cancelled_bookings} booking(s) cancelled`;
      }),
  };

  /**
   * My bookings' actions: a failure is answered to the entry, which shows it. The refresh is not
   * awaited: the entry settles its own state first, as the refresh may remove it.
   */
  async function onEntry(action: () => Promise<string>): Promise<string | undefined> {
    try {
      onStatus(await action());
      return undefined;
    } catch (error) {
      return errorText(error);
    } finally {
      void refresh();
    }
  }

  const entryActions: EntryActions = {
    cancel: (booking) => onEntry(() => cancel(booking)),
    confirm: (booking) =>
      onEntry(async () => {
        await asUser((token) => ok(api.bookings[":booking_id"].confirm.$post({ param: { booking_id: String(booking.id) } }, asCaller(token))));
        return "Hold confirmed: booked";
      }),
    reschedule: (booking, slot) =>
      onEntry(async () => {
        await asUser((token) =>
          ok(api.bookings[":booking_id"].reschedule.$post({ param: { booking_id: String(booking.id) }, json: { time_slot_id: slot.id } }, asCaller(token))),
        );
        return "Booking moved";
      }),
    alternatives: (booking) =>
      ok(api.slots.$get({ query: { categories: String(booking.category_id), from: new Date().toISOString(), limit: UPCOMING_LIMIT } }, ifNoneMatch(undefined))),
    show: (booking) => setWeekStart(startOfWeek(new Date(booking.start_time))),
  };

  async function createSlot(input: NewSlot): Promise<string | undefined> {
    try {
      const slot = await asUser((token) => ok(api.admin.slots.$post({ json: input }, asCaller(token))));
      onStatus("Slot created");
      setWeekStart(startOfWeek(new Date(slot.start_time)));
      await refresh();
      return undefined;
    } catch (error) {
      return errorText(error);
    }
  }

  const categoryName = preferences.names;
  const loadError = preferences.error || (slots.error && `Could not load the slots: ${slots.error}`);
  // One element around it all: hono/jsx/dom moves every top-level node of a component that renders
  // again before a sibling (AccountMenu), which takes the keyboard focus from whatever is inside.
  return (
    <div class="signed-in">
      <MyBookings entries={upcoming.data && mine} categoryName={categoryName} actions={entryActions} />
      <CategoryPicker categories={preferences.categories} chosen={preferences.chosen} disabled={!preferences.loaded} onChange={preferences.choose} />
      {loadError && (
        <p class="error" role="alert">
          {loadError}
        </p>
      )}
      <WeekView
        weekStart={weekStart}
        onWeek={setWeekStart}
        slots={shown}
        categoryName={categoryName}
        bookings={entries}
        opened={opened}
        notices={notices}
        admin={session.role === "ADMIN" ? { token: session.token, asUser } : undefined}
        actions={actions}
      />
      {session.role === "ADMIN" && (
        <>
          <NewSlotForm categories={preferences.categories} onCreate={createSlot} />
          <CategoriesAdmin categories={preferences.categories} asUser={asUser} onChanged={preferences.reloadCategories} onStatus={onStatus} />
        </>
      )}
      <FeedPanel load={() => asUser((token) => ok(api.user["calendar-feed"].$get({}, asCaller(token))))} />
    </div>
  );
}
