// Starts Swagger UI at /docs (src/http/docs.ts). A file of its own, not an inline script, so that
// the page's Content-Security-Policy can refuse every inline script.

type SwaggerUIBundle = (options: { url: string; dom_id: string; validatorUrl: null; deepLinking: boolean }) => unknown;

const { SwaggerUIBundle } = globalThis as unknown as { SwaggerUIBundle: SwaggerUIBundle };

// validatorUrl null: the default would load a badge image from another origin.
SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null, deepLinking: true });
