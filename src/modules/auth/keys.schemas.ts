import { z } from "@hono/zod-openapi";

export const PublicJwkSchema = z
  .object({
    kty: z.literal("RSA"),
    n: z.string().openapi({ description: "RSA modulus (base64url)", example: "sXch…" }),
    e: z.string().openapi({ description: "RSA public exponent (base64url)", example: "AQAB" }),
    kid: z.string().openapi({
      description: "Key id (RFC 7638 thumbprint); access tokens name it in their header",
      example: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    }),
    alg: z.literal("RS256"),
    use: z.literal("sig"),
  })
  .openapi("PublicJwk", { description: "A public RS256 signing key (never private members)" });

export const JwksSchema = z
  .object({
    keys: z.array(PublicJwkSchema).openapi({
      description: "The NEXT, CURRENT and still-valid PREVIOUS keys",
    }),
  })
  .openapi("Jwks", { description: "JSON Web Key Set of the access-token signing keys (RFC 7517)" });

export const RotationSchema = z
  .object({
    currentKid: z.string().openapi({
      description: "The key that signs from now on (the former NEXT)",
      example: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    }),
    previousKid: z.string().openapi({
      description: "The former CURRENT key, still published until its tokens have expired",
      example: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
    }),
  })
  .openapi("SigningKeyRotation");
