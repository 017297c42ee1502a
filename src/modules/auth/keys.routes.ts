import { createRoute, z } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses, platformAdminOnly } from "../../core/openapi";
import { requireAuthForWrite, requirePlatformAdmin } from "../../middleware/auth";
import { JwksSchema, RotationSchema } from "./keys.schemas";

/** Safe to cache for 5 minutes: a key is published as NEXT long before it signs anything. */
export const JWKS_CACHE_CONTROL = "public, max-age=300";

const jwksResponses = {
  200: {
    description: "The published public keys",
    headers: z.object({
      "Cache-Control": z.string().openapi({ example: JWKS_CACHE_CONTROL }),
    }),
    content: { "application/json": { schema: JwksSchema } },
  },
  ...errorResponses("DATABASE_UNAVAILABLE"),
};

const jwksDescription =
  "Public keys that verify access tokens (RS256): the CURRENT key, the NEXT one (published before it signs " +
  "anything) and PREVIOUS keys whose tokens may still be unexpired. Public members only.";

export const jwks = createRoute({
  method: "get",
  path: "/api/auth/.well-known/jwks.json",
  tags: ["Auth"],
  operationId: "getJwks",
  summary: "Access-token signing keys (JWKS)",
  description: jwksDescription,
  responses: jwksResponses,
});

export const rootJwks = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["Auth"],
  operationId: "getRootJwks",
  summary: "Access-token signing keys (JWKS, root alias)",
  description: `${jwksDescription} Same document as \`/api/auth/.well-known/jwks.json\`.`,
  responses: jwksResponses,
});

export const rotateKeys = createRoute({
  method: "post",
  path: "/api/auth/rotate-keys",
  tags: ["Auth"],
  operationId: "rotateSigningKeys",
  summary: "Rotate the signing keys (platform admins)",
  description:
    "Promotes NEXT to CURRENT, keeps the former CURRENT published as PREVIOUS for at least an hour and " +
    "creates a new NEXT. Tokens issued before the rotation stay valid until they expire. Audited as " +
    "SIGNING_KEY_ROTATED.",
  security: bearerSecurity,
  middleware: [requireAuthForWrite, requirePlatformAdmin] as const,
  ...platformAdminOnly,
  responses: {
    200: { description: "Rotated", content: { "application/json": { schema: RotationSchema } } },
    ...errorResponses(...AUTHENTICATED_ERRORS, "FORBIDDEN"),
  },
});
