// Who is signed in: logging in, creating an account, signing out, and calls made as that person.
import { useState } from "hono/jsx/dom";
import { api, ApiError, errorText, ok } from "../api";
import { restoreSession, saveSession, sessionFrom, type Session } from "../session";

export type AuthAction = "login" | "register";

export type SessionControls = {
  session: Session | undefined;
  /** Why the person is signed out, or why logging in failed; "" for none. */
  authError: string;
  /** Logs in or creates the account; answers what to tell the person, or undefined when it failed. */
  authenticate(action: AuthAction, email: string, password: string): Promise<string | undefined>;
  signOut(reason?: string): void;
  /** The session goes on with a new token (after a password change, say). */
  continueWith(next: Session): void;
  /** Runs a call with the person's token; a 401 (the session ended) signs them out with a reason. */
  asUser<T>(call: (token: string) => Promise<T>): Promise<T>;
};

/** What a component needs to call the API as the person: `asUser`, and the token that keys what it loads. */
export type Caller = { token: string; asUser: SessionControls["asUser"] };

export function useSession(): SessionControls {
  const [session, setSession] = useState<Session | undefined>(restoreSession);
  const [authError, setAuthError] = useState("");

  const signOut = (reason = "") => {
    saveSession(undefined);
    setSession(undefined);
    setAuthError(reason);
  };

  const continueWith = (next: Session) => {
    saveSession(next);
    setSession(next);
  };

  async function asUser<T>(call: (token: string) => Promise<T>): Promise<T> {
    if (!session) throw new ApiError(401, "not_authenticated", "Log in first");
    try {
      return await call(session.token);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) signOut("Your session has ended; log in again");
      throw error;
    }
  }

  async function authenticate(action: AuthAction, email: string, password: string): Promise<string | undefined> {
    setAuthError("");
    try {
      const json = { email, password };
      const token = action === "login" ? await ok(api.login.$post({ json })) : await ok(api.register.$post({ json }));
      const next = sessionFrom(token.access_token, email.trim().toLowerCase());
      saveSession(next);
      setSession(next);
      return action === "login" ? `Logged in as ${next.email}` : `Account created; logged in as ${next.email}`;
    } catch (error) {
      setAuthError(errorText(error));
      return undefined;
    }
  }

  return { session, authError, authenticate, signOut, continueWith, asUser };
}
