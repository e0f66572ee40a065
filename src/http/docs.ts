/**
 * Swagger UI at /docs, served whole from this origin: the Worker answers the HTML below, and its
 * script, stylesheet and icon are Workers static assets that scripts/build-assets.ts copies from
 * swagger-ui-dist (and builds web/docs.ts, which starts Swagger UI, to `start`). No CDN, no
 * inline script, so the page works offline under the strict policy of http/page-security.ts.
 */
export const DOCS_ASSETS = {
  stylesheet: "/assets/swagger-ui/swagger-ui.css",
  script: "/assets/swagger-ui/swagger-ui-bundle.js",
  icon: "/assets/swagger-ui/favicon-32x32.png",
  start: "/assets/docs.js",
} as const;

export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>slotbook API</title>
<link rel="icon" href="${DOCS_ASSETS.icon}">
<link rel="stylesheet" href="${DOCS_ASSETS.stylesheet}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${DOCS_ASSETS.script}"></script>
<script src="${DOCS_ASSETS.start}"></script>
</body>
</html>
`;
