// mod_llmproxy /docs: Swagger UI on the document this server serves at
// openapi.json beside this page (SetHandler llmproxy-docs); "Try it out"
// calls the same server (the document's server URL is relative).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: -1,
    displayRequestDuration: true,
    persistAuthorization: true,
    tryItOutEnabled: false,
    // no call to validator.swagger.io: the page works offline
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
