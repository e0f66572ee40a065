import { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";

// The API's errors: the one error type, its JSON body, and the catalogue of every error code it
// answers with (README, "Errors"). Thrown anywhere; rendered by http/errors.ts.

/** The one error body of the API. FastAPI clients read `detail`; programs branch on `code`. */
export const ErrorSchema = z
  .object({
    detail: z.string().openapi({ example: "Slot is full" }),
    code: z.string().openapi({ example: "slot_full" }),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "Validation failures, one per field (422 only)" }),
    opens_at: z.string().optional().openapi({ description: "booking_not_open only: when booking opens (UTC); Retry-After counts the seconds to it" }),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorSchema>;

/**
 * What an AppError carries besides its body: response headers (e.g. Retry-After), and as `cause`
 * what operators need to know, which is logged for a 5xx and never sent.
 */
export type AppErrorOptions = ErrorOptions & { headers?: Record<string, string>; facts?: ErrorFacts };

/** What an error's body says besides detail and code, for a program to act on. */
export type ErrorFacts = Pick<ErrorBody, "opens_at">;

/** The one error type. Thrown anywhere, rendered by `handleError`; made by the catalogue below. */
export class AppError extends Error {
  readonly headers: Record<string, string>;
  readonly facts: ErrorFacts;

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly detail: string,
    readonly errors?: ErrorBody["errors"],
    options: AppErrorOptions = {},
  ) {
    super(detail, options);
    this.headers = options.headers ?? {};
    this.facts = options.facts ?? {};
  }

  get body(): ErrorBody {
    return { detail: this.detail, code: this.code, ...(this.errors ? { errors: this.errors } : {}), ...this.facts };
  }
}

/** A 422 about one field, shaped like a validation failure: `detail` names the field, `errors` lists it. */
function invalidField(code: string, field: string, message: string): AppError {
  return new AppError(422, code, `${field}: ${message}`, [{ field, message }]);
}

// The catalogue: every error code the API answers with, each defined once (README, "Errors").

// 401, 403
export const notAuthenticated = () => new AppError(401, "not_authenticated", "Not authenticated");
export const invalidToken = () => new AppError(401, "invalid_token", "Invalid or expired token");
export const invalidCredentials = () => new AppError(401, "invalid_credentials", "Incorrect email or password");
export const forbidden = () => new AppError(403, "forbidden", "Admin role required");
// 404
export const slotNotFound = () => new AppError(404, "slot_not_found", "Time slot not found");
export const bookingNotFound = () => new AppError(404, "booking_not_found", "Booking not found");
export const userNotFound = () => new AppError(404, "user_not_found", "User not found");
export const webhookNotFound = () => new AppError(404, "webhook_not_found", "Webhook not found");
export const categoryNotFound = () => new AppError(404, "category_not_found", "Category not found");
export const calendarFeedNotFound = () => new AppError(404, "calendar_feed_not_found", "Calendar feed not found");
// 409
export const slotFull = () => new AppError(409, "slot_full", "Slot is full");
export const slotStarted = () => new AppError(409, "slot_started", "Slot has already started");
export const alreadyBooked = () => new AppError(409, "already_booked", "You already hold a booking, a hold or a waitlist place on this slot");
export const alreadyCancelled = () => new AppError(409, "already_cancelled", "Booking is already cancelled");
export const rescheduleInProgress = () => new AppError(409, "reschedule_in_progress", "This booking is being moved by another request; try again");
export const capacityBelowBookings = (maxCapacity: number, taken: number) =>
  new AppError(409, "capacity_below_bookings", `max_capacity cannot be ${maxCapacity}: ${taken} places are booked or held`);
export const waitlistFull = (limit: number) => new AppError(409, "waitlist_full", `The waitlist of this slot is full (${limit} waiting)`);
export const holdExpired = () => new AppError(409, "hold_expired", "The hold has expired; its place was released");
export const notHeld = () => new AppError(409, "not_held", "Only a held place can be confirmed");
export const emailTaken = () => new AppError(409, "email_taken", "Email is already registered");
export const categoryExists = (name: string) => new AppError(409, "category_exists", `Category "${name}" already exists`);
/** `action`: what only a booked place allows; a move says that a hold must be confirmed first. */
export const notBooked = (action: "checked in" | "moved" = "checked in") =>
  new AppError(
    409,
    "not_booked",
    `Only a booked place (not a hold, a waitlist place or a cancelled booking) can be ${action}` + (action === "moved" ? "; confirm a hold first" : ""),
  );
export const categoryInUse = () =>
  new AppError(409, "category_in_use", "The category has slots that have not ended: delete or move them first");
export const lastAdmin = () => new AppError(409, "last_admin", "This is the last admin: promote another user before demoting or deleting it");
export const holdLimitReached = (limit: number) =>
  new AppError(409, "hold_limit_reached", `You already hold ${limit} places, the most one account may hold at once: confirm or cancel one first`);
export const holdCooldown = (retryAfterSeconds: number) =>
  new AppError(409, "hold_cooldown", `Your hold on this slot ended moments ago; you may hold it again in ${retryAfterSeconds} seconds (booking it is allowed now)`, undefined, {
    headers: { "Retry-After": String(retryAfterSeconds) },
  });
/** `retryAfterSeconds`: until `opensAt`, at least 1. */
export const bookingNotOpen = (opensAt: string, retryAfterSeconds: number) =>
  new AppError(409, "booking_not_open", `Booking for this slot opens at ${opensAt}`, undefined, {
    headers: { "Retry-After": String(retryAfterSeconds) },
    facts: { opens_at: opensAt },
  });
export const bookingClosed = (closedAt: string) => new AppError(409, "booking_closed", `Booking for this slot closed at ${closedAt}`);
export const cancellationClosed = (until: string) =>
  new AppError(409, "cancellation_closed", `This booking could be cancelled until ${until}; ask the organizer`);
export const bookingLimitReached = (limit: number) =>
  new AppError(
    409,
    "booking_limit_reached",
    `You already have ${limit} bookings, holds or waitlist places in this category's upcoming slots, the most its policy allows: cancel one first`,
  );
export const accountBusy = () =>
  new AppError(409, "account_busy", "New bookings or moves kept arriving while the account was being deleted; nothing was erased, try again");
// 413, 426
export const payloadTooLarge = (maxBytes: number) => new AppError(413, "payload_too_large", `Request body must be at most ${maxBytes} bytes`);
export const webSocketRequired = () =>
  new AppError(426, "websocket_required", "This path speaks WebSocket only: send Upgrade: websocket", undefined, { headers: { Upgrade: "websocket" } });
// 422
export const validationFailed = (errors: NonNullable<ErrorBody["errors"]>) =>
  new AppError(422, "validation_error", errors.map(({ field, message }) => `${field}: ${message}`).join("; "), errors);
export const invalidValue = (field: string, message: string) => invalidField("validation_error", field, message);
export const invalidTimeRange = (field: string, message: string) => invalidField("invalid_time_range", field, message);
export const unknownCategory = (field: string, message = "no such category") => invalidField("unknown_category", field, message);
export const bookingWindowEmpty = () =>
  invalidField("booking_window_empty", "booking_opens_hours_before", "booking must open before it closes (hours × 60 > booking_closes_minutes_before)");
export const sameSlot = () => invalidField("same_slot", "time_slot_id", "is the booking's own slot");
export const webhookUrlRefused = (reason: string) => invalidField("webhook_url_refused", "url", reason);
export const weakPassword = (field = "password") => invalidField("weak_password", field, "This password is among the most commonly used; choose another");
export const idempotencyKeyReused = () =>
  new AppError(422, "idempotency_key_reused", "This Idempotency-Key was already used for a different request");
// 429
export const tooManyAttempts = (retryAfterSeconds: number) =>
  new AppError(429, "too_many_attempts", `Too many attempts; try again in ${retryAfterSeconds} seconds`, undefined, {
    headers: { "Retry-After": String(retryAfterSeconds) },
  });
export const tooManyWatchers = (detail: string, retryAfterSeconds: number) =>
  new AppError(429, "too_many_watchers", detail, undefined, { headers: { "Retry-After": String(retryAfterSeconds) } });
// 5xx: `cause` is logged with the request id, never sent.
export const serverMisconfigured = (cause: string) =>
  new AppError(500, "server_misconfigured", "Authentication is not configured on this server", undefined, { cause });
export const storageUnavailable = (cause: unknown) =>
  new AppError(503, "storage_unavailable", "Storage is temporarily unavailable; try again", undefined, { cause });
/** A bug: never "try again", and the body says nothing of it. */
export const internalError = (cause: unknown) => new AppError(500, "internal_error", "Internal server error", undefined, { cause });
