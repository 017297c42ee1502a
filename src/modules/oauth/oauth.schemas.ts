import { z } from "@hono/zod-openapi";
import { TokenField } from "../auth/auth.schemas";

export const GoogleStartQuery = z.object({
  link: z.string().max(1024).optional().openapi({
    description: "Link ticket from `POST /api/auth/google/link` (the `url` it returns carries it)",
  }),
});

/** What the issuer appends to the redirect URI; other parameters Google adds (scope, authuser, …) are ignored. */
export const GoogleCallbackQuery = z.object({
  code: z.string().max(2048).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(256).optional(),
  iss: z.string().max(512).optional(),
});

export const LinkUrlSchema = z
  .object({
    url: z.url().openapi({
      description:
        "Open it in the browser (top-level navigation). Valid for 2 minutes; it only works for the signed-in " +
        "user's session and links a Google account with the user's own email.",
      example: "https://api.example.com/api/auth/google?link=v1%3AeyJ1IjoiMDE5MyJ9.c2ln",
    }),
  })
  .openapi("GoogleLinkUrl");

export const OauthExchangeBody = z
  .strictObject({
    code: TokenField.openapi({
      description: "The one-time code from the `#code=` fragment (60 s, single use)",
    }),
  })
  .openapi("OauthExchangeRequest");
