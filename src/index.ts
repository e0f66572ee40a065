import { accountRoutes } from "./accounts/routes";
import { auditRoutes } from "./audit/routes";
import { authRoutes } from "./auth/routes";
import { bookingRoutes } from "./bookings/routes";
import { calendarRoutes } from "./calendar/routes";
import { categoryRoutes } from "./categories/routes";
import { healthRoutes } from "./health/routes";
import { createApp } from "./http/app";
import { configureOpenApi } from "./http/openapi";
import { scheduled } from "./maintenance/scheduled";
import { rosterRoutes } from "./roster/routes";
import { slotAdminRoutes } from "./slots/admin-routes";
import { slotRoutes } from "./slots/routes";
import { userRoutes } from "./users/routes";
import { deliverWebhooks } from "./webhooks/delivery";
import { documentWebhookEvents, webhookRoutes } from "./webhooks/routes";
import type { WebhookMessage } from "./webhooks/schemas";

// Assembles the Worker: each capability's routes, chained so that their types add up to AppType.
export const app = createApp()
  .route("/", healthRoutes)
  .route("/", authRoutes)
  .route("/", categoryRoutes)
  .route("/", userRoutes)
  .route("/", accountRoutes)
  // Before slotRoutes: the old /slots/{slot_id}.ics (redirected) would otherwise match /slots/{slot_id}.
  .route("/", calendarRoutes)
  .route("/", slotRoutes)
  .route("/", slotAdminRoutes)
  .route("/", bookingRoutes)
  .route("/", rosterRoutes)
  .route("/", auditRoutes)
  .route("/", webhookRoutes);
documentWebhookEvents(app);
configureOpenApi(app);

/** The whole API's routes with their request and response types, for `hc<AppType>` clients. */
export type AppType = typeof app;

export default {
  fetch: app.fetch,
  /** Webhook deliveries (wrangler.toml, [[queues.consumers]]). */
  queue: deliverWebhooks,
  /** Every minute (wrangler.toml, [triggers]): what a crash may have left half-done. */
  scheduled,
} satisfies ExportedHandler<Env, WebhookMessage>;
export { LoginThrottleObject } from "./auth/login-throttle";
export { SlotBookingObject } from "./slots/slot-booking-object";
