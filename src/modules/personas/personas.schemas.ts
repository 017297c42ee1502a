import { z } from "@hono/zod-openapi";
import { CHAT_RUN_STATUSES } from "../../db/schema";
import { decodeWebhookSecret } from "../webhooks/standard-webhooks";

const EXAMPLE_ID = "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10";

/** Path ids are plain strings: a malformed id is the same 404 as an unknown one. */
export const PersonaIdParam = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: EXAMPLE_ID }),
});

export const PERSONA_SCOPES = ["global", "workspace"] as const;
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

const stringList = (example: string[]) =>
  z.array(z.string().trim().min(1).max(200)).max(20).openapi({ example });

/** The public face of a persona — never its webhook URL or secret. */
export const PersonaSchema = z
  .object({
    id: z.uuid().openapi({ example: EXAMPLE_ID }),
    scope: z.enum(PERSONA_SCOPES).openapi({ description: "global catalogue, or the caller's workspace" }),
    slug: z.string().openapi({ example: "sales-coach" }),
    name: z.string().openapi({ example: "Sales Coach" }),
    personalName: z.string().nullable().openapi({ example: "Sam" }),
    roleTitle: z.string().nullable().openapi({ example: "VP of Sales" }),
    about: z.string().nullable(),
    traits: z.array(z.string()).openapi({ example: ["direct", "encouraging"] }),
    painPoints: z.array(z.string()),
    coreExpertise: z.array(z.string()),
    keyResponsibilities: z.array(z.string()),
    communicationStyle: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    version: z.number().int().openapi({ description: "Bumped by every traits change", example: 3 }),
    isFavourite: z.boolean(),
    isAvailable: z.boolean().openapi({ description: "False while the persona's circuit breaker is open" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Persona");
export type PersonaDto = z.infer<typeof PersonaSchema>;

export const PersonaListSchema = z
  .object({ items: z.array(PersonaSchema), nextCursor: z.string().nullable() })
  .openapi("PersonaList");

export const PersonaListQuery = z.object({
  favouritesOnly: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "Only the caller's favourites", example: "true" }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
  cursor: z.string().max(500).optional().openapi({ description: "nextCursor of the previous page" }),
});

export const FavouriteSchema = z.object({ isFavourite: z.boolean() }).openapi("FavouriteState");

// --- management ---------------------------------------------------------------------------------------------

const webhookSecretField = z
  .string()
  .max(200)
  .refine((value) => decodeWebhookSecret(value) !== null, {
    message: "Must be `whsec_` followed by canonical base64 of 24–64 random bytes.",
  })
  .openapi({ description: "Standard Webhooks secret; generated when omitted", example: "whsec_…" });

const webhookUrlField = z.string().max(2048).openapi({
  description: "https on port 443, a public DNS name; write-only (stored encrypted)",
  example: "https://n8n.example.com/webhook/sales-coach",
});

/** Profile and traits fields shared by create and update (nullable ones can be cleared with null). */
const profileFields = {
  name: z.string().trim().min(1).max(100).openapi({ example: "Sales Coach" }),
  personalName: z.string().trim().min(1).max(100).nullable().openapi({ example: "Sam" }),
  roleTitle: z.string().trim().min(1).max(100).nullable().openapi({ example: "VP of Sales" }),
  about: z.string().trim().min(1).max(2000).nullable(),
  traits: stringList(["direct", "encouraging"]),
  painPoints: stringList(["long sales cycles"]),
  coreExpertise: stringList(["negotiation"]),
  keyResponsibilities: stringList(["coach the team"]),
  communicationStyle: z.string().trim().min(1).max(500).nullable(),
  avatarUrl: z
    .url({ protocol: /^https$/ })
    .max(2048)
    .nullable(),
};

export const CreatePersonaBody = z
  .strictObject({
    scope: z.enum(PERSONA_SCOPES).openapi({ description: "`global` needs a platform admin" }),
    name: profileFields.name,
    slug: z
      .string()
      .regex(SLUG_PATTERN, "Lower-case letters, digits and hyphens, at most 63, starting alphanumeric.")
      .optional()
      .openapi({
        description: "Unique per scope; derived from the name when omitted",
        example: "sales-coach",
      }),
    personalName: profileFields.personalName.optional(),
    roleTitle: profileFields.roleTitle.optional(),
    about: profileFields.about.optional(),
    traits: profileFields.traits.optional(),
    painPoints: profileFields.painPoints.optional(),
    coreExpertise: profileFields.coreExpertise.optional(),
    keyResponsibilities: profileFields.keyResponsibilities.optional(),
    communicationStyle: profileFields.communicationStyle.optional(),
    avatarUrl: profileFields.avatarUrl.optional(),
    webhookUrl: webhookUrlField,
    webhookSecret: webhookSecretField.optional(),
  })
  .openapi("CreatePersonaRequest");
export type CreatePersonaInput = z.infer<typeof CreatePersonaBody>;

export const UpdatePersonaBody = z
  .strictObject({
    name: profileFields.name.optional(),
    slug: z.string().regex(SLUG_PATTERN).optional(),
    personalName: profileFields.personalName.optional(),
    roleTitle: profileFields.roleTitle.optional(),
    about: profileFields.about.optional(),
    traits: profileFields.traits.optional(),
    painPoints: profileFields.painPoints.optional(),
    coreExpertise: profileFields.coreExpertise.optional(),
    keyResponsibilities: profileFields.keyResponsibilities.optional(),
    communicationStyle: profileFields.communicationStyle.optional(),
    avatarUrl: profileFields.avatarUrl.optional(),
    webhookUrl: webhookUrlField.optional(),
    webhookSecret: webhookSecretField.optional(),
    rotateWebhookSecret: z
      .literal(true)
      .optional()
      .openapi({ description: "Generate a new secret (shown once in the response)" }),
  })
  .refine((body) => !(body.webhookSecret && body.rotateWebhookSecret), {
    message: "Send either webhookSecret or rotateWebhookSecret, not both.",
    path: ["rotateWebhookSecret"],
  })
  .openapi("UpdatePersonaRequest");
export type UpdatePersonaInput = z.infer<typeof UpdatePersonaBody>;

/** Create/update answer: the persona, plus the secret exactly once when the server generated it. */
export const PersonaWithSecretSchema = PersonaSchema.extend({
  webhookSecret: z
    .string()
    .optional()
    .openapi({ description: "Only when generated by this request: store it now, it is never shown again" }),
}).openapi("PersonaWithSecret");

// --- deliveries ---------------------------------------------------------------------------------------------

export const BreakerSchema = z
  .object({
    state: z.enum(["CLOSED", "OPEN", "HALF_OPEN"]),
    consecutiveFailures: z.number().int(),
    openUntil: z.iso.datetime().nullable(),
    probeInFlight: z.boolean(),
  })
  .openapi("BreakerStatus");

export const ChatRunSchema = z
  .object({
    id: z.uuid(),
    conversationId: z.uuid(),
    userMessageId: z.uuid(),
    status: z.enum(CHAT_RUN_STATUSES),
    attempts: z.number().int(),
    latencyMs: z.number().int().nullable(),
    errorClass: z.string().nullable().openapi({ example: "HTTP_5XX" }),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .openapi("ChatRun");

export const DeliveriesSchema = z
  .object({
    breaker: BreakerSchema,
    items: z.array(ChatRunSchema),
    nextCursor: z.string().nullable(),
  })
  .openapi("PersonaDeliveries");

export const DeliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(500).optional(),
});
