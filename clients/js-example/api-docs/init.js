// The data API's reference page: Swagger UI over this server's own /api/v1/openapi.json.
// No validator badge (it would send the document to validator.swagger.io) and nothing loaded
// from anywhere but this origin. "Try it out" sends the key in a header (X-API-Key or Bearer),
// never in the URL.
window.addEventListener('DOMContentLoaded', () => {
  window.ui = window.SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#api-docs',
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
