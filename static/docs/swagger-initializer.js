// Kept out of index.html: the Content-Security-Policy allows same-origin scripts only (no inline script).
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/docs/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayOperationId: true,
    tryItOutEnabled: false,
  });
});
