// Live availability of the slots the page watches, over their WebSockets (see ../live.ts).
import { useEffect, useRef, useState } from "hono/jsx/dom";
import type { LiveAvailability } from "../api";
import { LiveSlots } from "../live";

export type LiveCounts = {
  /** The last message of each watched slot. */
  bySlot: Map<number, LiveAvailability>;
  /** The last message of any slot: what changed most recently. */
  latest: LiveAvailability | undefined;
};

/** Watches exactly `slotIds` (a socket each) while the component lives. */
export function useLiveAvailability(slotIds: number[]): LiveCounts {
  const [counts, setCounts] = useState<LiveCounts>({ bySlot: new Map(), latest: undefined });
  const live = useRef<LiveSlots | undefined>(undefined);
  const watched = [...new Set(slotIds)].sort((a, b) => a - b).join(",");

  useEffect(() => {
    live.current ??= new LiveSlots((update) =>
      setCounts((current) => ({ bySlot: new Map(current.bySlot).set(update.slot_id, update), latest: update })),
    );
    const ids = watched === "" ? [] : watched.split(",").map(Number);
    live.current.watch(ids);
    // A slot no longer watched gets no more messages: its last one would soon be stale.
    setCounts((current) => ({ ...current, bySlot: new Map([...current.bySlot].filter(([slotId]) => ids.includes(slotId))) }));
  }, [watched]);

  useEffect(() => () => live.current?.close(), []);

  return counts;
}
