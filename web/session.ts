// The signed-in person: the token lives in sessionStorage only (gone with the tab), never in a URL.

export type Role = "ADMIN" | "USER";

export type Session = { token: string; email: string; role: Role; expiresAt: number };

const SESSION_KEY = "slotbook.session";

function claimsOf(token: string): { role?: unknown; exp?: unknown } {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)) as { role?: unknown; exp?: unknown };
  } catch {
    return {};
  }
}

/** A session from a fresh token. The role only shapes the page; the API checks it on every call. */
export function sessionFrom(token: string, email: string): Session {
  const claims = claimsOf(token);
  return {
    token,
    email,
    role: claims.role === "ADMIN" ? "ADMIN" : "USER",
    expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : Date.now() + 3_600_000,
  };
}

export function saveSession(session: Session | undefined): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: session.token, email: session.email }));
  else sessionStorage.removeItem(SESSION_KEY);
}

export function restoreSession(): Session | undefined {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null") as { token?: unknown; email?: unknown } | null;
    if (typeof saved?.token !== "string" || typeof saved.email !== "string") return undefined;
    const session = sessionFrom(saved.token, saved.email);
    return session.expiresAt > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}
