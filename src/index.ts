import { createApp } from "./lib/create-app";
import { configureOpenApi } from "./lib/openapi";
import { adminRoutes } from "./routes/admin";
import { authRoutes } from "./routes/auth";
import { bookingRoutes } from "./routes/bookings";
import { categoryRoutes } from "./routes/categories";
import { healthRoutes } from "./routes/health";
import { preferenceRoutes } from "./routes/preferences";
import { slotRoutes } from "./routes/slots";

const app = createApp();
for (const routes of [healthRoutes, authRoutes, categoryRoutes, preferenceRoutes, slotRoutes, bookingRoutes, adminRoutes]) {
  app.route("/", routes);
}
configureOpenApi(app);

export default app;
export { SlotBookingObject } from "./slot-booking-object";
export { LoginThrottleObject } from "./auth/login-throttle";
