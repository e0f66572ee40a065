import { auditRoutes } from "./audit/routes";
import { authRoutes } from "./auth/routes";
import { undoInterruptedMoves } from "./bookings/reschedule";
import { bookingRoutes } from "./bookings/routes";
import { calendarRoutes } from "./calendar/routes";
import { categoryRoutes } from "./categories/routes";
import { createApp } from "./http/app";
import { healthRoutes } from "./http/health";
import { configureOpenApi } from "./http/openapi";
import { slotRoutes } from "./slots/routes";
import { userRoutes } from "./users/routes";
import { deliverWebhooks } from "./webhooks/delivery";
import { sweepOutbox } from "./webhooks/dispatch";
import { documentWebhookEvents, webhookRoutes } from "./webhooks/routes";
import type { WebhookMessage } from "./webhooks/schemas";

// Assembles the Worker: each capability's routes, chained so that their types add up to AppType.
export const app = createApp()
  .route("/", healthRoutes)
  .route("/", authRoutes)
  .route("/", categoryRoutes)
  .route("/", userRoutes)
  // Before slotRoutes: the old /slots/{slot_id}.ics (redirected) would otherwise match /slots/{slot_id}.
  .route("/", calendarRoutes)
  .route("/", slotRoutes)
  .route("/", bookingRoutes)
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
  async scheduled(controller, env) {
    const results = await Promise.allSettled([sweepOutbox(env, controller.scheduledTime), undoInterruptedMoves(env, controller.scheduledTime)]);
    for (const result of results) if (result.status === "rejected") console.error("scheduled sweep failed; the next run retries", result.reason);
  },
} satisfies ExportedHandler<Env, WebhookMessage>;
export { LoginThrottleObject } from "./auth/login-throttle";
export { SlotBookingObject } from "./slots/slot-booking-object";
