// The API reference page: Swagger UI (vendored) on the app's own OpenAPI schema. A file,
// not an inline script: the Content-Security-Policy allows scripts from this origin only.
window.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
