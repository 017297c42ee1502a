import { z } from "@hono/zod-openapi";
import { MESSAGE_ROLES, MESSAGE_STATUSES } from "../../db/schema";

export const MAX_CHAT_MESSAGE_CHARS = 10_000;

/**
 * POST /api/personas/{id}/chat. `fileIds` is not accepted yet: attachments (READY files of the conversation,
 * signed download URLs) arrive with the files routes, which own their validation (409 FILE_NOT_READY).
 */
/** Attachments per message: enough for a document and a few screenshots. */
export const MAX_CHAT_FILES = 10;

export const ChatBody = z
  .strictObject({
    message: z
      .string()
      .min(1)
      .max(MAX_CHAT_MESSAGE_CHARS)
      .refine((value) => value.trim() !== "", "The message must not be blank.")
      .openapi({ example: "How do I handle the 'too expensive' objection?" }),
    conversationId: z
      .uuid()
      .optional()
      .openapi({ description: "Omit to start a new PRIVATE conversation; only its owner may chat in it" }),
    parentId: z
      .uuid()
      .optional()
      .openapi({ description: "A message of the conversation to answer from; defaults to its current leaf" }),
    fileIds: z
      .array(z.uuid())
      .min(1)
      .max(MAX_CHAT_FILES)
      .optional()
      .openapi({
        description:
          "READY files of this conversation (POST /api/conversations/{id}/files) to attach; the webhook gets " +
          "signed 10-minute download URLs. Needs `conversationId`.",
      }),
  })
  .openapi("ChatRequest");
export type ChatInput = z.infer<typeof ChatBody>;

export const ChatMessageSchema = z
  .object({
    id: z.uuid(),
    conversationId: z.uuid(),
    parentId: z.uuid().nullable(),
    role: z.enum(MESSAGE_ROLES),
    content: z.string(),
    status: z.enum(MESSAGE_STATUSES),
    authorId: z.uuid().nullable().openapi({ description: "The user who wrote it (null for replies)" }),
    personaVersion: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "ASSISTANT messages: the persona version that answered" }),
    createdAt: z.iso.datetime(),
  })
  .openapi("ChatMessage");
export type ChatMessageDto = z.infer<typeof ChatMessageSchema>;

export const ChatResponseSchema = z
  .object({
    conversationId: z.uuid(),
    userMessage: ChatMessageSchema,
    assistantMessage: ChatMessageSchema,
  })
  .openapi("ChatResponse");
export type ChatResponseDto = z.infer<typeof ChatResponseSchema>;
