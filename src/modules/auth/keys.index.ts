import { createRouter } from "../../core/router";
import { getJwksDocument, postRotateKeys } from "./keys.handlers";
import { jwks, rootJwks, rotateKeys } from "./keys.routes";

/** JWKS (both paths) and key rotation. */
export const keysRouter = createRouter()
  .openapi(jwks, getJwksDocument)
  .openapi(rootJwks, getJwksDocument)
  .openapi(rotateKeys, postRotateKeys);
