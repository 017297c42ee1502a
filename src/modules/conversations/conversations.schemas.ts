import { z } from "@hono/zod-openapi";
import { MESSAGE_ROLES, MESSAGE_STATUSES, REACTION_TYPES, VISIBILITIES } from "../../db/schema";

const EXAMPLE_ID = "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10";

/** Path ids are plain strings: a malformed id is the same 404 as an unknown one. */
export const ConversationIdParam = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: EXAMPLE_ID }),
});

export const TITLE_MAX_CHARS = 200;
/** Characters of the last message shown in lists. */
export const PREVIEW_CHARS = 200;

const title = z.string().trim().min(1).max(TITLE_MAX_CHARS).openapi({ example: "Pricing objections" });

export const CreateConversationBody = z
  .strictObject({
    personaId: z.uuid().openapi({ description: "An active persona of the catalogue", example: EXAMPLE_ID }),
    title: title.optional(),
  })
  .openapi("CreateConversationRequest");
export type CreateConversationInput = z.infer<typeof CreateConversationBody>;

export const UpdateConversationBody = z
  .strictObject({
    title: title.nullable().optional().openapi({ description: "null clears the title" }),
    currentLeafId: z.uuid().optional().openapi({
      description: "A leaf message of this conversation: the branch shown by default from now on",
      example: EXAMPLE_ID,
    }),
  })
  .refine((body) => body.title !== undefined || body.currentLeafId !== undefined, {
    message: "Give title, currentLeafId or both.",
  })
  .openapi("UpdateConversationRequest");
export type UpdateConversationInput = z.infer<typeof UpdateConversationBody>;

export const VisibilityBody = z
  .strictObject({ visibility: z.enum(VISIBILITIES).openapi({ example: "PRIVATE" }) })
  .openapi("SetVisibilityRequest");

export const ArchiveBody = z
  .strictObject({ archived: z.boolean().openapi({ example: true }) })
  .openapi("SetArchivedRequest");

export const ListConversationsQuery = z.object({
  archived: z
    .enum(["true", "false"])
    .default("false")
    .openapi({ description: "true: only archived conversations; false (default): only the others" }),
  personaId: z.uuid().optional().openapi({ description: "Only this persona's conversations" }),
  q: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: "Case-insensitive substring of the title", example: "pricing" }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
  cursor: z
    .string()
    .max(500)
    .optional()
    .openapi({ description: "`nextCursor` of the previous page (same filters)" }),
});
export type ListConversationsInput = z.infer<typeof ListConversationsQuery>;

export const GetConversationQuery = z.object({
  leafId: z
    .uuid()
    .optional()
    .openapi({
      description:
        "View the branch through this message of the conversation (continued down to its newest leaf) " +
        "without moving the conversation's pointer",
    }),
});

export const PersonaSummarySchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ example: "Sales Coach" }),
    roleTitle: z.string().nullable().openapi({ example: "VP of Sales" }),
    avatarUrl: z.string().nullable(),
  })
  .openapi("PersonaSummary");

export const ConversationSchema = z
  .object({
    id: z.uuid().openapi({ example: EXAMPLE_ID }),
    title: z.string().nullable().openapi({ example: "Pricing objections" }),
    visibility: z.enum(VISIBILITIES),
    archived: z.boolean(),
    persona: PersonaSummarySchema,
    owner: z.object({ id: z.uuid(), name: z.string().nullable() }),
    isOwner: z.boolean().openapi({ description: "The caller created this conversation" }),
    currentLeafId: z.uuid().nullable(),
    lastMessagePreview: z
      .string()
      .nullable()
      .openapi({ description: `The current leaf's first ${PREVIEW_CHARS} characters` }),
    messageCount: z.number().int(),
    lastMessageAt: z.iso.datetime(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Conversation");
export type ConversationDto = z.infer<typeof ConversationSchema>;

export const ConversationListSchema = z
  .object({
    items: z.array(ConversationSchema),
    nextCursor: z.string().nullable().openapi({ description: "null on the last page" }),
  })
  .openapi("ConversationList");

export const AttachmentSchema = z
  .object({
    id: z.uuid(),
    filename: z.string().openapi({ example: "quote.pdf" }),
    contentType: z.string().openapi({ example: "application/pdf" }),
    sizeBytes: z.number().int(),
    url: z.string().openapi({ description: "GET with the bearer token (Content-Disposition: attachment)" }),
  })
  .openapi("Attachment");
export type AttachmentDto = z.infer<typeof AttachmentSchema>;

export const ReactionCountsSchema = z
  .object({ LIKE: z.number().int(), DISLIKE: z.number().int() })
  .openapi("ReactionCounts");

export const ConversationMessageSchema = z
  .object({
    id: z.uuid(),
    parentId: z.uuid().nullable(),
    role: z.enum(MESSAGE_ROLES),
    content: z.string(),
    status: z.enum(MESSAGE_STATUSES),
    authorId: z.uuid().nullable(),
    personaVersion: z.number().int().nullable(),
    createdAt: z.iso.datetime(),
    siblings: z
      .object({
        index: z
          .number()
          .int()
          .openapi({ description: "0-based position among its siblings (oldest first)" }),
        count: z.number().int(),
        ids: z.array(z.uuid()),
      })
      .openapi({ description: "Messages sharing this message's parent (edits), this one included" }),
    reactions: ReactionCountsSchema,
    myReaction: z.enum(REACTION_TYPES).nullable(),
    attachments: z.array(AttachmentSchema),
  })
  .openapi("ConversationMessage");
export type ConversationMessageDto = z.infer<typeof ConversationMessageSchema>;

export const ConversationDetailSchema = ConversationSchema.extend({
  leafId: z
    .uuid()
    .nullable()
    .openapi({ description: "Leaf of the branch shown (the current leaf unless ?leafId= chose another)" }),
  messages: z.array(ConversationMessageSchema).openapi({ description: "The branch, root first" }),
}).openapi("ConversationDetail");
export type ConversationDetailDto = z.infer<typeof ConversationDetailSchema>;
