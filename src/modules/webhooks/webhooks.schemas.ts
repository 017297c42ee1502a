import { z } from "@hono/zod-openapi";

export const WebhooksHealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]).openapi({ description: "degraded while any breaker is open" }),
    openBreakers: z
      .number()
      .int()
      .openapi({ description: "Personas whose circuit breaker is open", example: 0 }),
  })
  .openapi("WebhooksHealth");

const list = z.array(z.string().trim().min(1).max(200)).max(20);

/** The original traits payload; the persona is named by exactly one of personaName, personaId or slug. */
export const TraitsBody = z
  .strictObject({
    personaName: z.string().trim().min(1).max(100).optional().openapi({ example: "Sales Coach" }),
    personaId: z.string().max(100).optional(),
    slug: z.string().max(63).optional(),
    metadata: z
      .strictObject({
        about: z.string().trim().min(1).max(2000).nullable().optional(),
        coreExpertise: list.optional(),
        communicationStyle: z.string().trim().min(1).max(500).nullable().optional(),
        traits: list.optional(),
        painPoints: list.optional(),
        keyResponsibilities: list.optional(),
      })
      .refine((m) => Object.keys(m).length > 0, "At least one trait field is required.")
      .openapi({
        example: {
          about: "Twenty years of B2B sales.",
          coreExpertise: ["negotiation"],
          communicationStyle: "Direct",
          traits: ["direct"],
          painPoints: ["long sales cycles"],
          keyResponsibilities: ["coach the team"],
        },
      }),
  })
  .refine((b) => [b.personaName, b.personaId, b.slug].filter((v) => v !== undefined).length === 1, {
    message: "Name the persona with exactly one of personaName, personaId or slug.",
    path: ["personaName"],
  })
  .openapi("TraitsUpdateRequest");
export type TraitsInput = z.infer<typeof TraitsBody>;

export const TraitsHeaders = z.object({
  "webhook-id": z.string().max(200).optional().openapi({ description: "Standard Webhooks message id" }),
  "webhook-timestamp": z.string().max(20).optional().openapi({ description: "Unix seconds; ±5 minutes" }),
  "webhook-signature": z
    .string()
    .max(2000)
    .optional()
    .openapi({ description: "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the persona's secret" }),
});

export const TraitsUpdatedSchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    version: z.number().int().openapi({ example: 4 }),
    updatedAt: z.iso.datetime(),
  })
  .openapi("TraitsUpdated");
export type TraitsUpdatedDto = z.infer<typeof TraitsUpdatedSchema>;
