import { API_REFERENCE_ASSETS_PATH, API_REFERENCE_PATH } from "../../core/contracts/api-reference";
import { HtmlDocument } from "./document";

/**
 * The dev API reference (GET /dev/api, DEMO_MODE only): swagger-ui rendering /openapi.json.
 * Everything is same-origin: the page and its start script from the Worker, swagger-ui's
 * files from `npm run dev`'s static assets (scripts/dev.mjs), never from a CDN.
 */
export function ApiReferencePage() {
  return (
    <HtmlDocument>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Edge MFA API reference (dev)</title>
        <link rel="stylesheet" href={`${API_REFERENCE_ASSETS_PATH}/swagger-ui.css`} />
      </head>
      <body>
        <noscript>The reference needs JavaScript; the document itself is at /openapi.json.</noscript>
        <div id="swagger-ui" />
        <script src={`${API_REFERENCE_ASSETS_PATH}/swagger-ui-bundle.js`} />
        <script src={`${API_REFERENCE_PATH}/start.js`} />
      </body>
    </HtmlDocument>
  );
}

/** Starts swagger-ui on the document (a file, not inline: the CSP allows no inline script). */
export const API_REFERENCE_START = `if (typeof SwaggerUIBundle === "function") {
  SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, tryItOutEnabled: false });
} else {
  document.getElementById("swagger-ui").textContent = "swagger-ui is served by npm run dev only; the document is at /openapi.json.";
}
`;

/**
 * Same-origin scripts only; swagger-ui sets inline styles and draws icons as data: images,
 * and its "Try it out" calls this origin.
 */
export const API_REFERENCE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
