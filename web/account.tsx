import { useEffect, useState } from "hono/jsx/dom";
import { api, ApiError, asCaller, ok, plural, saveFile, type Booking } from "./api";
import { sessionFrom, type Session } from "./session";
import "./account.css";

// The account menu: change the password, sign out everywhere, download my data, delete my account.
// Its own calls: a wrong password here is the form's error, not the end of the session.

type Props = {
  session: Session;
  /** The session continues with a new token (after a password change). */
  onSession(next: Session): void;
  /** The session ended, with the reason to show at the login form. */
  onSignOut(reason: string): void;
};

type Panel = "password" | "delete" | undefined;

const NEXT_WEEKS_LIMIT = 500;

export function AccountMenu({ session, onSession, onSignOut }: Props) {
  const [open, setOpen] = useState<Panel>(undefined);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);

  /** Runs a call as the user; a refused token ends the session, a wrong password is the caller's error to show. */
  async function run<T>(call: () => Promise<T>, onError: (text: string) => void): Promise<T | undefined> {
    setBusy(true);
    setMessage("");
    try {
      return await call();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && error.code !== "invalid_credentials") onSignOut("Your session has ended; log in again");
      else onError(error instanceof ApiError ? (error.code === "invalid_credentials" ? "Wrong password" : error.message) : "Something went wrong; try again");
      return undefined;
    } finally {
      setBusy(false);
    }
  }

  const toggle = (panel: Panel) => {
    setMessage("");
    setOpen(open === panel ? undefined : panel);
  };

  const signOutEverywhere = () =>
    run(async () => {
      await ok(api.user.sessions.revoke.$post({}, asCaller(session.token)));
      onSignOut("Signed out on every device");
    }, setMessage);

  const download = () =>
    run(async () => {
      const data = await ok(api.user.export.$get({}, asCaller(session.token)));
      saveFile(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }), "slotbook-export.json");
      setMessage("Your data was downloaded as slotbook-export.json");
    }, setMessage);

  return (
    <section class="panel account" aria-labelledby="account-title">
      <h2 id="account-title">Your account</h2>
      <div class="buttons">
        <button type="button" class="secondary" aria-expanded={open === "password" ? "true" : "false"} aria-controls="account-password" onClick={() => toggle("password")}>
          Change password
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={signOutEverywhere}>
          Sign out everywhere
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={download}>
          Download my data
        </button>
        <button type="button" class="danger" aria-expanded={open === "delete" ? "true" : "false"} aria-controls="account-delete" onClick={() => toggle("delete")}>
          Delete my account
        </button>
      </div>
      <p class="hint" role="status">
        {message}
      </p>
      {open === "password" && (
        <PasswordForm
          busy={busy}
          change={(current, next, onError) =>
            run(async () => {
              const token = await ok(api.user.password.$put({ json: { current_password: current, new_password: next } }, asCaller(session.token)));
              onSession(sessionFrom(token.access_token, session.email));
              setOpen(undefined);
              setMessage("Password changed; you were signed out on every other device");
            }, onError)
          }
        />
      )}
      {open === "delete" && (
        <DeleteForm
          busy={busy}
          countUpcoming={() => ok(api.bookings.$get({ query: { from: new Date().toISOString(), limit: String(NEXT_WEEKS_LIMIT) } }, asCaller(session.token)))}
          remove={(password, onError) =>
            run(async () => {
              await ok(api.user.$delete({ json: { password } }, asCaller(session.token)));
              onSignOut("Your account was deleted");
            }, onError)
          }
          cancel={() => setOpen(undefined)}
        />
      )}
    </section>
  );
}

type PasswordProps = { busy: boolean; change(current: string, next: string, onError: (text: string) => void): Promise<unknown> };

function PasswordForm({ busy, change }: PasswordProps) {
  const [error, setError] = useState("");
  const submit = (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    setError("");
    void change(String(data.get("current") ?? ""), String(data.get("next") ?? ""), setError);
  };
  return (
    <form id="account-password" class="account-form" onSubmit={submit} aria-label="Change password">
      <div class="field">
        <label for="current-password">Current password</label>
        <input id="current-password" name="current" type="password" autocomplete="current-password" required />
      </div>
      <div class="field">
        <label for="new-password">New password</label>
        <input id="new-password" name="next" type="password" autocomplete="new-password" minlength={8} maxlength={128} required aria-describedby="new-password-hint" />
        <span id="new-password-hint" class="hint">
          8 to 128 characters. Every other device is signed out.
        </span>
      </div>
      <p class="error" role="alert">
        {error}
      </p>
      <div class="buttons">
        <button type="submit" disabled={busy}>
          Save new password
        </button>
      </div>
    </form>
  );
}

type DeleteProps = {
  busy: boolean;
  countUpcoming(): Promise<Booking[]>;
  remove(password: string, onError: (text: string) => void): Promise<unknown>;
  cancel(): void;
};

/** The confirmation: what happens to the person's bookings, in words, and their password once more. */
function DeleteForm({ busy, countUpcoming, remove, cancel }: DeleteProps) {
  const [error, setError] = useState("");
  const [upcoming, setUpcoming] = useState<number | undefined>(undefined);
  // Once, when the confirmation opens: without the count, it says what happens in general terms.
  useEffect(() => {
    void countUpcoming().then(
      (entries) => setUpcoming(entries.filter((entry) => entry.status !== "CANCELLED").length),
      () => undefined,
    );
  }, []);
  const submit = (event: Event) => {
    event.preventDefault();
    setError("");
    void remove(String(new FormData(event.currentTarget as HTMLFormElement).get("password") ?? ""), setError);
  };
  const cancelled =
    upcoming === undefined
      ? "cancels all your upcoming bookings, holds and waitlist places"
      : upcoming === 0
        ? "cancels nothing: you have no upcoming bookings"
        : `cancels your ${plural(upcoming, "upcoming booking")} (holds and waitlist places included)`;
  return (
    <form id="account-delete" class="account-form" onSubmit={submit} aria-label="Delete my account" aria-describedby="delete-consequences">
      <div id="delete-consequences" class="consequences">
        <p>
          Deleting your account {cancelled}; each place freed goes to the next person waiting. Past bookings stay in the records,
          without your email.
        </p>
        <p>Your email and password are erased, your calendar feed link stops working, and you are signed out everywhere. This cannot be undone.</p>
      </div>
      <div class="field">
        <label for="delete-password">Your password, to confirm</label>
        <input id="delete-password" name="password" type="password" autocomplete="current-password" required />
      </div>
      <p class="error" role="alert">
        {error}
      </p>
      <div class="buttons">
        <button type="submit" class="danger" disabled={busy}>
          Delete my account permanently
        </button>
        <button type="button" class="secondary" onClick={cancel}>
          Keep my account
        </button>
      </div>
    </form>
  );
}
