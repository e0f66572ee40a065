// One resource the page shows and keeps fresh: loaded when its key changes, then revalidated with
// If-None-Match every REVALIDATE_MS (a 304 keeps what is shown), and at once after the person acts.
import { useEffect, useRef, useState } from "hono/jsx/dom";
import { errorText, type Revalidated } from "../api";

/** How often what is shown is revalidated. */
export const REVALIDATE_MS = 10_000;

export type RevalidatedResource<T> = {
  /** undefined until the first answer for the current key. */
  data: T | undefined;
  /** Why the last load failed, "" after a good one. */
  error: string;
  /** Loads again now, without the ETag: after a change the person made. */
  reload(): Promise<void>;
};

/**
 * `key` names what `load` fetches (a path with its query, and whose it is); undefined loads
 * nothing. An answer for a key that is no longer current is dropped, so a quick change of week
 * or category never ends showing the older one.
 */
export function useRevalidated<T>(key: string | undefined, load: (etag: string | undefined) => Promise<Revalidated<T>>): RevalidatedResource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState("");
  const reloadCurrent = useRef<() => Promise<void>>(async () => undefined);

  useEffect(() => {
    if (key === undefined) {
      setData(undefined);
      return;
    }
    let current = true;
    let etag: string | undefined;
    const fetchNow = async (force: boolean) => {
      try {
        const result = await load(force ? undefined : etag);
        if (!current) return;
        setError("");
        if (result.notModified) return;
        etag = result.etag;
        setData(result.body);
      } catch (failure) {
        if (current) setError(errorText(failure));
      }
    };
    reloadCurrent.current = () => fetchNow(true);
    void fetchNow(true);
    const timer = setInterval(() => void fetchNow(false), REVALIDATE_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [key]);

  return { data, error, reload: () => reloadCurrent.current() };
}
