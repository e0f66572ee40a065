import { secureHeaders } from "hono/secure-headers";

/**
 * The security headers of every page this origin serves to a browser: Swagger UI at /docs (this
 * Worker) and the booking page at / with its assets (Workers static assets, which never run the
 * Worker: scripts/build-assets.ts writes these same headers into their `_headers` file).
 * Everything comes from this origin; no inline script, no inline style, no other origin.
 */
export const pageSecurityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    // Swagger UI's stylesheet draws its icons as data: SVG images.
    imgSrc: ["'self'", "data:"],
    // The API and the slots' live WebSockets; 'self' also matches ws: and wss: on this host.
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
});
