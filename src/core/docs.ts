/**
 * API documentation routes: the OpenAPI 3.1 document (JSON and YAML, one source), the error catalogue, and
 * Swagger UI whose files are served from the ASSETS binding (no CDN; STACK.md).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { stringify } from "yaml";
import packageJson from "../../package.json";
import type { AppEnv } from "./app-env";
import { ApiError, ERROR_CATALOGUE, ERROR_CODES } from "./errors";

const DOC_INFO = {
  title: "AI-Persona Edge API",
  version: packageJson.version,
  description:
    "Multi-tenant backend of the AI-Persona chat SaaS. Authenticate with `POST /api/auth/login` and send " +
    "`Authorization: Bearer <accessToken>`. Errors are RFC 9457 problem+json; see /docs/errors for every code.",
  contact: { name: "AI-Persona API team", url: "https://api.example.com/docs" },
};

/** Top-level tag list (every operation's tag, in this order), so clients and Swagger UI can describe groups. */
const TAGS = [
  { name: "System", description: "Liveness and readiness probes." },
  {
    name: "Auth",
    description: "Registration, sign-in, tokens, sessions, password reset, signing keys, OAuth.",
  },
  { name: "Users", description: "The caller's own profile, avatar, password and account deletion." },
  { name: "Personas", description: "AI personas of the workspace and global ones; favourites." },
  { name: "Webhooks", description: "Persona webhook configuration and health." },
  { name: "Conversations", description: "Conversations with personas, their visibility and archive." },
  { name: "Messages", description: "Chat messages: send, edit, retry, history." },
  { name: "Sharing", description: "Share links of SHARED conversations and the public read-only view." },
  { name: "Files", description: "Uploads attached to conversations." },
  { name: "Workspaces", description: "Workspace settings, members, invitations and deletion." },
  { name: "Admin", description: "Workspace administration (ADMIN role)." },
  { name: "Platform", description: "Platform operators: maintenance jobs (platform admins)." },
];

/** Serves a file from the static assets with mutable headers (so middleware can add its own). */
export async function serveAsset(c: { env: AppEnv["Bindings"]; req: { url: string } }, path: string) {
  const res = await c.env.ASSETS.fetch(new Request(new URL(path, c.req.url)));
  if (res.status === 404) throw new ApiError("NOT_FOUND", "No such file.");
  return new Response(res.body, res);
}

/**
 * The OpenAPI 3.1 document of an app built by createApp (docs mounted). Also used outside the Worker by
 * scripts/openapi-export.ts (lint, Postman, typed clients), so both see the same document.
 */
export function buildOpenApiDocument(
  app: OpenAPIHono<AppEnv>,
  origin: string,
  environment = "production",
): Record<string, unknown> {
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: DOC_INFO,
    servers: [{ url: origin, description: `This deployment (${environment})`, "x-internal": false }],
    tags: TAGS,
  }) as unknown as Record<string, unknown>;
}

export function mountDocs(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "Access token from POST /api/auth/login (15 minutes): an RS256 JWT (pinned algorithm, `kid`) with issuer, audience and " +
      "expiry checked on every request, following the JWT best current practices of RFC8725.",
  });

  // Built on first request and kept per isolate: the route table never changes at run time.
  let document: Record<string, unknown> | undefined;
  const openApiDocument = (origin: string, environment: string) => {
    document ??= buildOpenApiDocument(app, origin, environment);
    return document;
  };

  app.get("/docs/openapi.json", (c) =>
    c.json(openApiDocument(c.var.config.APP_BASE_URL, c.var.config.ENVIRONMENT), 200),
  );
  app.get("/docs/swagger.yaml", (c) =>
    c.body(stringify(openApiDocument(c.var.config.APP_BASE_URL, c.var.config.ENVIRONMENT)), 200, {
      "Content-Type": "application/yaml",
    }),
  );
  app.get("/docs/errors", (c) => {
    const entries = ERROR_CODES.map((code) => ({ code, ...ERROR_CATALOGUE[code] }));
    if (c.req.header("Accept")?.includes("application/json")) return c.json({ items: entries }, 200);
    return c.html(renderErrorPage(entries), 200);
  });
  app.get("/docs", (c) => serveAsset(c, "/docs/index.html"));
  app.get("/docs/", (c) => c.redirect("/docs", 301));
  app.get("/docs/*", (c) => serveAsset(c, c.req.path));
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`).replace(/`([^`]+)`/g, "<code>$1</code>");

function renderErrorPage(entries: { code: string; status: number; title: string; description: string }[]) {
  const rows = entries
    .map(
      (e) =>
        `<tr id="${e.code}"><td><code>${e.code}</code></td><td>${e.status}</td><td>${escapeHtml(e.title)}</td>` +
        `<td>${escapeHtml(e.description)}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error codes — AI-Persona Edge API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<h1>Error codes</h1><p>Every error is <code>application/problem+json</code> with <code>type</code>, <code>title</code>,
<code>status</code>, <code>detail</code>, <code>code</code> and <code>traceId</code>; validation errors add
<code>errors[]</code>. Quote the trace id when reporting a problem.</p>
<table><thead><tr><th>code</th><th>status</th><th>title</th><th>meaning</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>`;
}
