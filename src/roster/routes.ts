import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { requireAdmin } from "../auth/middleware";
import { slotOfBooking } from "../bookings/routes";
import { type CallerEnv } from "../auth/caller";
import { slotNotFound } from "../errors/catalogue";
import { d1Session } from "../http/d1-session";
import { slotObject } from "../objects/stubs";
import { InstantOutput } from "../values/instant";
import { AttendanceSchema, bookingColumns, toBookingView } from "../views/booking";
import type { Database } from "../db/client";
import { BOOKING_STATUSES, bookings, timeSlots, users, type BookingStatus } from "../db/schema";
import { createRouter } from "../http/app";
import { cachingHeaders, notModified } from "../http/caching";
import { listAnswer, listText, FULL_LIST_READ, type Listing } from "../http/listing";
import { bearerAuth, errorResponses, jsonResponse } from "../http/openapi";
import { unwrap } from "../http/outcome";
import { after, linkHeader, PAGE, PagingQuery, type PageKey } from "../http/paging";
import { PathId } from "../http/schemas";
import { CSV_CONTENT_TYPE, csvLine, ROSTER_COLUMNS } from "./csv";

// The organizer's side of a slot: who is coming (its roster, as JSON or CSV for a spreadsheet)
// and who came (check-in, through the slot's object like every change to its bookings).

const RosterEntrySchema = z
  .object({
    id: z.number().int(),
    user_id: z.number().int(),
    email: z.string(),
    status: z.enum(BOOKING_STATUSES),
    position: z.number().int().min(1).optional().openapi({ description: "WAITLISTED only: the place in line, 1 = next" }),
    expires_at: InstantOutput.optional().openapi({ description: "HELD only: when the hold ends unless confirmed" }),
    created_at: InstantOutput,
    checked_in_at: InstantOutput.nullable(),
  })
  .openapi("RosterEntry");

type RosterEntry = z.infer<typeof RosterEntrySchema>;

const LIVE_STATUSES = ["BOOKED", "HELD", "WAITLISTED"] as const;

const RosterQuery = PagingQuery.extend({
  status: z
    .string()
    .regex(new RegExp(`^(${BOOKING_STATUSES.join("|")})(,(${BOOKING_STATUSES.join("|")}))*$`), `Expected a comma-separated list of ${BOOKING_STATUSES.join(", ")}`)
    .transform((list) => [...new Set(list.split(","))] as BookingStatus[])
    .optional()
    .openapi({ type: "string", example: "BOOKED,WAITLISTED", description: "Only entries in these states; without it the live ones (BOOKED, HELD, WAITLISTED)" }),
  format: z.enum(["json", "csv"]).optional().openapi({ description: "csv: the same as `Accept: text/csv`" }),
});

const CSV_COLUMNS = ROSTER_COLUMNS satisfies readonly (keyof RosterEntry)[];

const getRoster = createRoute({
  operationId: "getSlotRoster",
  method: "get",
  path: "/admin/slots/{slot_id}/bookings",
  tags: ["Admin"],
  summary: "A slot's roster: its bookings, holds and waitlist, as JSON or CSV",
  description:
    "Every entry of the slot in the order they were made (the waitlist in its order), live ones unless `status` asks " +
    `for others. Without \`limit\` and \`cursor\` all of them (streamed past ${FULL_LIST_READ}); with \`limit\` (at most ${PAGE.max}) a page and a ` +
    '`Link: <…>; rel="next"` header. With `Accept: text/csv` or `format=csv`: RFC 4180 CSV, UTF-8, a header row ' +
    `(${CSV_COLUMNS.join(", ")}), and every cell that a spreadsheet would run as a formula led by an apostrophe.`,
  security: bearerAuth,
  middleware: [requireAdmin, d1Session] as const,
  request: { params: z.object({ slot_id: PathId }), query: RosterQuery },
  responses: {
    200: {
      description: "The roster",
      content: { "application/json": { schema: z.array(RosterEntrySchema) }, "text/csv": { schema: z.string() } },
      headers: { ...cachingHeaders, ...linkHeader },
    },
    ...notModified,
    ...errorResponses(401, 403, 404, 422, 503),
  },
});

const BookingIdParams = z.object({ booking_id: PathId });

const checkInRoute = (method: "post" | "delete") =>
  createRoute({
    operationId: method === "post" ? "checkIn" : "undoCheckIn",
    method,
    path: "/admin/bookings/{booking_id}/check-in",
    tags: ["Admin"],
    summary: method === "post" ? "Record that a booking's holder came" : "Undo a booking's check-in",
    description:
      "Only a BOOKED booking (409 `not_booked` for a hold, a waitlist place or a cancelled booking). Doing it again " +
      `changes nothing and answers the same. Audited, and announced by the \`${method === "post" ? "booking.checked_in" : "booking.check_in_undone"}\` webhook event.`,
    security: bearerAuth,
    middleware: [requireAdmin] as const,
    request: { params: BookingIdParams },
    responses: {
      200: jsonResponse(AttendanceSchema, "The booking with its attendance"),
      ...errorResponses(401, 403, 404, 409, 422, 503),
    },
  });

const rosterColumns = { ...bookingColumns, email: users.email, created_at: bookings.createdAt, checked_in_at: bookings.checkedInAt };

/** Reads the slot's entries in `statuses`, in the order they were made: one slot's object makes them all, so ids and times agree. */
const entriesOf = (db: Database, slotId: number, statuses: readonly BookingStatus[]) => (key: PageKey | undefined, rows: number) =>
  db
    .select(rosterColumns)
    .from(bookings)
    .innerJoin(users, eq(users.id, bookings.userId))
    .where(and(eq(bookings.timeSlotId, slotId), inArray(bookings.status, statuses), after(bookings.createdAt, bookings.id, key)))
    .orderBy(asc(bookings.createdAt), asc(bookings.id))
    .limit(rows);

type RosterRow = Awaited<ReturnType<ReturnType<typeof entriesOf>>>[number];

/** Checks the booking in (`present`) or undoes it, through its slot's object. */
async function attend(c: Context<CallerEnv>, bookingId: number, present: boolean) {
  const slotId = await slotOfBooking(c.env, bookingId);
  return unwrap(c, await slotObject(c.env, slotId).setAttendance(slotId, bookingId, c.get("user").id, present));
}

export const rosterRoutes = createRouter()
  .openapi(getRoster, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const { status = LIVE_STATUSES, format, limit, cursor } = c.req.valid("query");
    const db = c.var.db;
    const slot = await db.select({ id: timeSlots.id }).from(timeSlots).where(and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt))).get();
    if (!slot) throw slotNotFound();
    const listing = {
      paging: { limit, cursor },
      read: entriesOf(db, slotId, status),
      keyOf: (row: RosterRow) => ({ start: row.created_at, id: row.id }),
      view: (row: RosterRow): RosterEntry => toBookingView(row),
      policy: { audience: "personal", varies: "Authorization, Accept" },
    } satisfies Listing<RosterRow, RosterEntry>;
    if (format === "csv" || (format === undefined && c.req.header("Accept")?.includes("text/csv"))) {
      c.header("Content-Disposition", `attachment; filename="slot-${slotId}-roster.csv"`);
      return listText(c, listing, {
        contentType: CSV_CONTENT_TYPE,
        open: csvLine([...CSV_COLUMNS]),
        separator: "",
        close: "",
        render: (entry) => csvLine(CSV_COLUMNS.map((column) => entry[column] ?? null)),
      });
    }
    return listAnswer(c, listing);
  })
  .openapi(checkInRoute("post"), async (c) => c.json(await attend(c, c.req.valid("param").booking_id, true), 200))
  .openapi(checkInRoute("delete"), async (c) => c.json(await attend(c, c.req.valid("param").booking_id, false), 200));
