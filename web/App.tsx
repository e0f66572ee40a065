import { useEffect, useRef, useState } from "hono/jsx/dom";
import {
  ApiError,
  detectFeatures,
  request,
  restoreSession,
  revalidate,
  saveSession,
  sessionFrom,
  type Booking,
  type Category,
  type Features,
  type LiveAvailability,
  type Session,
  type Slot,
} from "./api";
import { AccountMenu } from "./account";
import { LiveSlots } from "./live";
import { AuthForm, CategoryPicker, FeedPanel, NewSlotForm, WeekView, type SlotActions } from "./views";
import { addDays, startOfWeek } from "./week";

/** How often the open week and the caller's bookings are revalidated (If-None-Match). */
const REVALIDATE_MS = 10_000;

type Token = { access_token: string };

const NO_FEATURES: Features = { waitlist: false, live: false, feed: false };

function slotsPath(weekStart: Date, categoryIds: number[]): string {
  // limit: GET /slots answers 100 slots a page by default; a week's view takes up to 500 at once.
  const query = new URLSearchParams({ from: weekStart.toISOString(), to: addDays(weekStart, 7).toISOString(), limit: "500" });
  if (categoryIds.length > 0) query.set("categories", categoryIds.join(","));
  return `/slots?${query}`;
}

/** The caller's entries on the week's slots: the ones the view marks, however many bookings they have in all. */
function bookingsPath(weekStart: Date): string {
  return `/bookings?${new URLSearchParams({ from: weekStart.toISOString(), to: addDays(weekStart, 7).toISOString(), limit: "500" })}`;
}

/** Puts keyboard focus back on a slot's first action after its buttons changed. */
function focusSlotAction(slotId: number): void {
  setTimeout(() => document.querySelector<HTMLElement>(`[data-slot-id="${slotId}"] .slot-actions button`)?.focus(), 0);
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(restoreSession);
  const [authError, setAuthError] = useState("");
  const [features, setFeatures] = useState<Features>(NO_FEATURES);
  const [categories, setCategories] = useState<Category[]>([]);
  const [chosen, setChosen] = useState<number[]>([]);
  // The picker waits for the saved choice, so that a click is never overwritten by it.
  const [chosenLoaded, setChosenLoaded] = useState(false);
  const [weekStart, setWeekStart] = useState(() => startOfWeek(new Date()));
  const [slots, setSlots] = useState<Slot[] | undefined>(undefined);
  const [bookings, setBookings] = useState<Booking[]>([]);
  const [opened, setOpened] = useState<number[]>([]);
  const [notices, setNotices] = useState<Record<number, string>>({});
  const [status, setStatus] = useState("");
  const [loadError, setLoadError] = useState("");

  // What the revalidation timer and the sockets need to read at the moment they fire.
  const latest = useRef({ session, weekStart, chosen, bookings });
  latest.current = { session, weekStart, chosen, bookings };
  const slotsTag = useRef<{ path: string; etag: string | undefined }>({ path: "", etag: undefined });
  const bookingsTag = useRef<string | undefined>(undefined);
  const live = useRef<LiveSlots | undefined>(undefined);

  const signOut = (reason = "") => {
    saveSession(undefined);
    setSession(undefined);
    setBookings([]);
    setChosen([]);
    setChosenLoaded(false);
    setOpened([]);
    setNotices({});
    setAuthError(reason);
    bookingsTag.current = undefined;
  };

  /** Runs a call as the signed-in user; an ended session signs out with a reason. */
  async function asUser<T>(call: (token: string) => Promise<T>): Promise<T> {
    const current = latest.current.session;
    if (!current) throw new ApiError(401, "not_authenticated", "Log in first");
    try {
      return await call(current.token);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) signOut("Your session has ended; log in again");
      throw error;
    }
  }

  async function loadSlots(force = false): Promise<void> {
    const path = slotsPath(latest.current.weekStart, latest.current.chosen);
    const known = slotsTag.current;
    const etag = !force && known.path === path ? known.etag : undefined;
    try {
      const result = await revalidate<Slot[]>(path, { etag });
      // A newer week or category choice may have been asked for meanwhile: keep that one.
      if (path !== slotsPath(latest.current.weekStart, latest.current.chosen)) return;
      setLoadError("");
      if (result.notModified) return;
      slotsTag.current = { path, etag: result.etag };
      setSlots(result.body);
    } catch (error) {
      setLoadError(error instanceof ApiError ? `Could not load the slots: ${error.message}` : "Could not load the slots");
    }
  }

  async function loadBookings(force = false): Promise<void> {
    if (!latest.current.session) return;
    try {
      const path = bookingsPath(latest.current.weekStart);
      const result = await asUser((token) => revalidate<Booking[]>(path, { token, etag: force ? undefined : bookingsTag.current }));
      // A newer week may have been asked for meanwhile: keep that one.
      if (result.notModified || path !== bookingsPath(latest.current.weekStart)) return;
      bookingsTag.current = result.etag;
      setBookings(result.body.filter((booking) => booking.status !== "CANCELLED"));
    } catch {
      // Shown through the slots' own state; the next revalidation tries again.
    }
  }

  const refresh = (force = false) => Promise.all([loadSlots(force), loadBookings(force)]);
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;

  // Once: what this API offers, and its categories.
  useEffect(() => {
    void detectFeatures().then(setFeatures);
    void request<Category[]>("GET", "/categories").then(setCategories, () => setLoadError("Could not load the categories"));
  }, []);

  // On sign-in: the saved category choice, then the caller's bookings.
  useEffect(() => {
    if (!session) return;
    setChosenLoaded(false);
    void asUser((token) => request<{ preferred_categories: number[] }>("GET", "/user/preferences", { token }))
      .then((preferences) => setChosen(preferences.preferred_categories), () => undefined)
      .finally(() => setChosenLoaded(true));
  }, [session?.token]);

  // The caller's entries in the open week: at once when the week changes, then every REVALIDATE_MS.
  useEffect(() => {
    if (!session) return;
    void loadBookings(true);
  }, [session?.token, weekStart.getTime()]);

  // The open week: at once when it or the category choice changes, then every REVALIDATE_MS.
  useEffect(() => {
    if (!session || !chosenLoaded) return;
    void loadSlots();
  }, [session?.token, chosenLoaded, weekStart.getTime(), chosen.join(",")]);

  useEffect(() => {
    const timer = setInterval(() => {
      if (latest.current.session) void refreshRef.current();
    }, REVALIDATE_MS);
    return () => clearInterval(timer);
  }, []);

  // Live counts for the slots the person opened or holds an entry on, where the API has them.
  const onLive = (update: LiveAvailability) => {
    setSlots((current) =>
      current
        ?.filter((slot) => !(slot.id === update.slot_id && update.deleted))
        .map((slot) =>
          slot.id === update.slot_id
            ? { ...slot, available_spots: update.available_spots, max_capacity: update.max_capacity, waitlist_length: update.waitlist_length }
            : slot,
        ),
    );
    // A place freed on a slot this person waits for may have been theirs: see whether it was.
    if (latest.current.bookings.some((booking) => booking.time_slot_id === update.slot_id && booking.status !== "BOOKED")) void loadBookings(true);
  };
  const onLiveRef = useRef(onLive);
  onLiveRef.current = onLive;

  const visibleIds = new Set((slots ?? []).map((slot) => slot.id));
  const watched = [...new Set([...opened, ...bookings.map((booking) => booking.time_slot_id)])].filter((id) => visibleIds.has(id)).sort((a, b) => a - b);
  useEffect(() => {
    if (!features.live || !session) {
      live.current?.close();
      return;
    }
    live.current ??= new LiveSlots((update) => onLiveRef.current(update));
    live.current.watch(watched);
  }, [features.live, session?.token, watched.join(",")]);

  async function authenticate(action: "login" | "register", email: string, password: string): Promise<void> {
    setAuthError("");
    try {
      const token = await request<Token>("POST", action === "login" ? "/login" : "/register", { json: { email, password } });
      const next = sessionFrom(token.access_token, email.trim().toLowerCase());
      saveSession(next);
      setSession(next);
      setStatus(action === "login" ? `Logged in as ${next.email}` : `Account created; logged in as ${next.email}`);
    } catch (error) {
      setAuthError(error instanceof ApiError ? error.message : "Something went wrong; try again");
    }
  }

  // Saves one after another, so that quick clicks end with the last choice saved.
  const savingCategories = useRef<Promise<void>>(Promise.resolve());
  function chooseCategories(ids: number[]): void {
    setChosen(ids);
    savingCategories.current = savingCategories.current.then(async () => {
      try {
        await asUser((token) => request("POST", "/user/preferences", { token, json: { preferred_categories: ids } }));
        setStatus(ids.length === 0 ? "Categories saved: every category" : `Categories saved: ${ids.length} chosen`);
      } catch (error) {
        setStatus(error instanceof ApiError ? `Categories not saved: ${error.message}` : "Categories not saved");
      }
    });
  }

  const setNotice = (slotId: number, text: string) => setNotices((current) => ({ ...current, [slotId]: text }));

  /** Runs one slot action; its failure is shown on the slot, and the view is refreshed either way. */
  async function onSlot(slotId: number, action: () => Promise<string>): Promise<void> {
    setNotice(slotId, "");
    try {
      setStatus(await action());
    } catch (error) {
      setNotice(slotId, error instanceof ApiError ? error.message : "Something went wrong; try again");
    }
    await refresh(true);
    focusSlotAction(slotId);
  }

  const actions: SlotActions = {
    book: (slot, waitlist) =>
      onSlot(slot.id, async () => {
        const booking = await asUser((token) =>
          request<Booking>("POST", "/bookings", { token, json: waitlist ? { time_slot_id: slot.id, waitlist: true } : { time_slot_id: slot.id } }),
        );
        return booking.status === "WAITLISTED" ? `On the waitlist, position ${booking.position ?? "?"}` : "Booked";
      }),
    cancel: (booking) =>
      onSlot(booking.time_slot_id, async () => {
        await asUser((token) => request("DELETE", `/bookings/${booking.id}`, { token }));
        return booking.status === "WAITLISTED" ? "Left the waitlist" : "Booking cancelled";
      }),
    toggle: (slot) => setOpened((current) => (current.includes(slot.id) ? current.filter((id) => id !== slot.id) : [...current, slot.id])),
    setCapacity: (slot, capacity) =>
      onSlot(slot.id, async () => {
        await asUser((token) => request("PUT", `/admin/slots/${slot.id}`, { token, json: { max_capacity: capacity } }));
        return `Capacity set to ${capacity}`;
      }),
    remove: (slot) =>
      onSlot(slot.id, async () => {
        const result = await asUser((token) => request<{ cancelled_bookings: number }>("DELETE", `/admin/slots/${slot.id}`, { token }));
        return `Slot deleted; ${result.cancelled_bookings} booking(s) cancelled`;
      }),
  };

  async function createSlot(input: { category_id: number; start_time: string; end_time: string; max_capacity: number }): Promise<string | undefined> {
    try {
      const slot = await asUser((token) => request<Slot>("POST", "/admin/slots", { token, json: input }));
      setStatus("Slot created");
      setWeekStart(startOfWeek(new Date(slot.start_time)));
      await refresh(true);
      return undefined;
    } catch (error) {
      return error instanceof ApiError ? error.message : "Something went wrong; try again";
    }
  }

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
            <button type="button" onClick={() => signOut()}>
              Log out
            </button>
          </div>
        )}
      </header>
      <main>
        <p class="status" role="status">
          {status}
        </p>
        {!session ? (
          <AuthForm error={authError} onSubmit={authenticate} />
        ) : (
          <>
            <CategoryPicker categories={categories} chosen={chosen} disabled={!chosenLoaded} onChange={chooseCategories} />
            {loadError && (
              <p class="error" role="alert">
                {loadError}
              </p>
            )}
            <WeekView
              weekStart={weekStart}
              onWeek={(start) => setWeekStart(start)}
              slots={slots}
              categories={categories}
              bookings={bookings}
              opened={opened}
              notices={notices}
              features={features}
              admin={session.role === "ADMIN"}
              actions={actions}
            />
            {session.role === "ADMIN" && <NewSlotForm categories={categories} onCreate={createSlot} />}
            {features.feed && <FeedPanel load={() => asUser((token) => request<{ url: string; webcal_url: string }>("GET", "/user/calendar-feed", { token }))} />}
            <AccountMenu
              session={session}
              onSession={(next) => {
                saveSession(next);
                setSession(next);
              }}
              onSignOut={signOut}
            />
          </>
        )}
      </main>
    </>
  );
}
