import { z } from "@hono/zod-openapi";
import { MESSAGE_ROLES } from "../../db/schema";

/** CONFIG.md "Lifetimes": share link 1–90 days, default 30. */
export const SHARE_DAYS_MIN = 1;
export const SHARE_DAYS_MAX = 90;
export const SHARE_DAYS_DEFAULT = 30;

const EXAMPLE_ID = "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10";

export const ShareParams = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: EXAMPLE_ID }),
  shareId: z
    .string()
    .max(100)
    .openapi({ param: { name: "shareId", in: "path" }, example: EXAMPLE_ID }),
});

export const ShareTokenParam = z.object({
  token: z
    .string()
    .max(200)
    .openapi({
      param: { name: "token", in: "path" },
      example: "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c",
    }),
});

export const CreateShareBody = z
  .strictObject({
    expiresInDays: z
      .number()
      .int()
      .min(SHARE_DAYS_MIN)
      .max(SHARE_DAYS_MAX)
      .optional()
      .openapi({ description: `Days the link works (default ${SHARE_DAYS_DEFAULT})`, example: 7 }),
  })
  .openapi("CreateShareLinkRequest");

export const CreatedShareSchema = z
  .object({
    id: z.uuid(),
    url: z.string().openapi({
      description: "The public link — shown once, only its hash is stored",
      example: "https://api.example.com/p/q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c",
    }),
    expiresAt: z.iso.datetime(),
  })
  .openapi("CreatedShareLink");
export type CreatedShareDto = z.infer<typeof CreatedShareSchema>;

export const ShareLinkSchema = z
  .object({
    id: z.uuid(),
    leafMessageId: z.uuid().openapi({ description: "The branch is frozen at this message" }),
    createdBy: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    revokedAt: z.iso.datetime().nullable(),
    active: z.boolean().openapi({ description: "Neither revoked nor expired" }),
    viewCount: z.number().int(),
    lastViewedAt: z.iso.datetime().nullable(),
  })
  .openapi("ShareLink");
export type ShareLinkDto = z.infer<typeof ShareLinkSchema>;

export const ShareLinkListSchema = z.object({ items: z.array(ShareLinkSchema) }).openapi("ShareLinkList");

export const PublicConversationSchema = z
  .object({
    title: z.string().nullable(),
    persona: z.object({
      name: z.string(),
      personalName: z.string().nullable(),
      roleTitle: z.string().nullable(),
      about: z.string().nullable(),
      avatarUrl: z.string().nullable(),
    }),
    messages: z.array(
      z.object({
        role: z.enum(MESSAGE_ROLES),
        content: z.string(),
        createdAt: z.iso.datetime(),
        attachments: z.array(z.object({ filename: z.string() })),
      }),
    ),
    expiresAt: z.iso.datetime(),
  })
  .openapi("PublicConversation", {
    description: "A shared branch as anyone with the link sees it: no emails, no user or message ids",
  });
export type PublicConversationDto = z.infer<typeof PublicConversationSchema>;
