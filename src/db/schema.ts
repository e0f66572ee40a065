import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// Mirrors migrations/*.sql, which are the source of truth for constraints, partial indexes and the
// triggers that keep time_slots.booked_count, held_count and waitlist_length equal to the slot's
// BOOKED, HELD and WAITLISTED bookings.

export const ROLES = ["USER", "ADMIN"] as const;
export type Role = (typeof ROLES)[number];
export const BOOKING_STATUSES = ["BOOKED", "HELD", "WAITLISTED", "CANCELLED"] as const;
export type BookingStatus = (typeof BOOKING_STATUSES)[number];
/** A slot holds at most this many waiters (CHECK on time_slots.waitlist_length). */
export const WAITLIST_LIMIT = 1000;

export const users = sqliteTable("users", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ROLES }).notNull().default("USER"),
  createdAt: text("created_at").notNull(),
  /** Tokens carry it (claim `gen`): adding one refuses every token issued before (migration 0008). */
  tokenGeneration: integer("token_generation").notNull().default(0),
  /** Set when the account is erased (DELETE /user): the row stays, without email or password. */
  deletedAt: text("deleted_at"),
});

export const categories = sqliteTable("categories", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  /** `comparisonKey(name)` (values/text.ts), unique: names are compared as people read them. */
  nameKey: text("name_key").notNull().unique(),
  /** Set when the category was removed while past slots still named it (migration 0010): it takes no new slots. */
  archivedAt: text("archived_at"),
  // The booking policy (migration 0014; categories/policy.ts): NULL, no such rule.
  bookingOpensHoursBefore: integer("booking_opens_hours_before"),
  bookingClosesMinutesBefore: integer("booking_closes_minutes_before"),
  cancelUntilMinutesBefore: integer("cancel_until_minutes_before").default(0),
  maxActivePerUser: integer("max_active_per_user"),
});

export const userPreferences = sqliteTable(
  "user_preferences",
  {
    userId: integer("user_id").notNull().references(() => users.id),
    categoryId: integer("category_id").notNull().references(() => categories.id),
  },
  (table) => [primaryKey({ columns: [table.userId, table.categoryId] })],
);

export const timeSlots = sqliteTable("time_slots", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  categoryId: integer("category_id").notNull().references(() => categories.id),
  startTime: text("start_time").notNull(),
  endTime: text("end_time").notNull(),
  maxCapacity: integer("max_capacity").notNull(),
  bookedCount: integer("booked_count").notNull().default(0),
  deletedAt: text("deleted_at"),
  heldCount: integer("held_count").notNull().default(0),
  waitlistLength: integer("waitlist_length").notNull().default(0),
  /** IANA zone the slot is shown in; instants stay UTC. */
  timezone: text("timezone").notNull().default("UTC"),
  /** Bumped by a trigger when what a calendar shows of the slot changes (ICS SEQUENCE). */
  version: integer("version").notNull().default(0),
  /** Set by triggers on insert and on every change that bumps `version`. */
  modifiedAt: text("modified_at").notNull().default("1970-01-01T00:00:00Z"),
  // The instants its category's policy gives the slot, kept by triggers from its start (migration 0014).
  bookingOpensAt: text("booking_opens_at"),
  bookingClosesAt: text("booking_closes_at"),
  cancellableUntil: text("cancellable_until"),
});

export const bookings = sqliteTable("bookings", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  userId: integer("user_id").notNull().references(() => users.id),
  timeSlotId: integer("time_slot_id").notNull().references(() => timeSlots.id),
  status: text("status", { enum: BOOKING_STATUSES }).notNull(),
  createdAt: text("created_at").notNull(),
  cancelledAt: text("cancelled_at"),
  /** When a hold ends: cleared when it is confirmed, kept when it ends otherwise (see migration 0005). */
  expiresAt: text("expires_at"),
  /** Bumped by a trigger on every status change (ICS SEQUENCE); modified_at is NULL until then. */
  version: integer("version").notNull().default(0),
  modifiedAt: text("modified_at"),
  /** A booking moved to another slot (POST /bookings/{booking_id}/reschedule): the booking that replaced it. */
  rescheduledTo: integer("rescheduled_to"),
  /** When an admin checked the (BOOKED) booking in; NULL if not, or undone. */
  checkedInAt: text("checked_in_at"),
});

export type TimeSlotRow = typeof timeSlots.$inferSelect;

/** What an admin may change on a slot (PUT /admin/slots/{slot_id}). */
export type SlotChanges = Partial<Pick<TimeSlotRow, "categoryId" | "startTime" | "endTime" | "maxCapacity" | "timezone">>;

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    userId: integer("user_id").notNull().references(() => users.id),
    key: text("key").notNull(),
    request: text("request").notNull(),
    /** The slot object's answer (objects/outcome.ts), replayed to retries. */
    outcome: text("outcome", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    createdAt: text("created_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.key] })],
);

export const AUDIT_ACTIONS = [
  "category.create",
  "category.rename",
  "category.policy",
  "category.delete",
  "slot.create",
  "slot.create_series",
  "slot.update",
  "slot.delete",
  "booking.cancel",
  "booking.check_in",
  "booking.undo_check_in",
  "user.promote",
  "user.demote",
  "user.password_change",
  "user.sessions_revoke",
  "user.delete",
  "webhook.create",
  "webhook.delete",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Written only by audit/record.ts and scripts/admin.ts; `before` and `after` are JSON. */
export const auditLog = sqliteTable("audit_log", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  actorId: integer("actor_id"),
  action: text("action", { enum: AUDIT_ACTIONS }).notNull(),
  target: text("target").notNull(),
  before: text("before", { mode: "json" }).$type<Record<string, unknown>>(),
  after: text("after", { mode: "json" }).$type<Record<string, unknown>>(),
  createdAt: text("created_at").notNull(),
});

export const WEBHOOK_EVENT_TYPES = [
  "booking.created",
  "booking.cancelled",
  "booking.rescheduled",
  "booking.promoted",
  "booking.expired",
  "booking.checked_in",
  "booking.check_in_undone",
  "waitlist.closed",
  "slot.created",
  "slot.updated",
  "slot.deleted",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const webhooks = sqliteTable("webhooks", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  url: text("url").notNull(),
  events: text("events", { mode: "json" }).notNull().$type<WebhookEventType[]>(),
  secret: text("secret").notNull(),
  createdAt: text("created_at").notNull(),
  failingSince: text("failing_since"),
  disabledAt: text("disabled_at"),
});

/** The outbox (webhooks/outbox.ts): written in the same batch as the change each event announces. */
export const webhookEvents = sqliteTable("webhook_events", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  type: text("type", { enum: WEBHOOK_EVENT_TYPES }).notNull(),
  data: text("data", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
  createdAt: text("created_at").notNull(),
  dispatchedAt: text("dispatched_at"),
});

export const webhookDeliveries = sqliteTable("webhook_deliveries", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  webhookId: integer("webhook_id").notNull().references(() => webhooks.id, { onDelete: "cascade" }),
  eventId: integer("event_id").notNull().references(() => webhookEvents.id, { onDelete: "cascade" }),
  eventType: text("event_type", { enum: WEBHOOK_EVENT_TYPES }).notNull(),
  attempt: integer("attempt").notNull(),
  statusCode: integer("status_code"),
  error: text("error"),
  createdAt: text("created_at").notNull(),
});

/** Deliveries handed to the queue and not done yet (webhooks/delivery.ts): the cron re-sends those past `resendAt`. */
export const webhookPending = sqliteTable(
  "webhook_pending",
  {
    eventId: integer("event_id").notNull().references(() => webhookEvents.id, { onDelete: "cascade" }),
    webhookId: integer("webhook_id").notNull().references(() => webhooks.id, { onDelete: "cascade" }),
    attempts: integer("attempts").notNull(),
    resendAt: text("resend_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.eventId, table.webhookId] })],
);

/** Moves in progress (bookings/reschedule.ts): the source booking and the booking that takes its place. */
export const bookingMoves = sqliteTable("booking_moves", {
  fromBookingId: integer("from_booking_id").primaryKey().references(() => bookings.id),
  toBookingId: integer("to_booking_id").notNull().unique().references(() => bookings.id),
  createdAt: text("created_at").notNull(),
});

/** A user's private ICS feed: the secret in its URL is derived from `salt`, and stored only as its SHA-256. */
export const calendarFeeds = sqliteTable("calendar_feeds", {
  userId: integer("user_id").primaryKey().references(() => users.id),
  salt: text("salt").notNull(),
  secretHash: text("secret_hash").notNull().unique(),
  createdAt: text("created_at").notNull(),
});
