import { z } from "@hono/zod-openapi";
import { REACTION_TYPES } from "../../db/schema";
import { MAX_CHAT_MESSAGE_CHARS } from "../chat/chat.schemas";
import { ReactionCountsSchema } from "../conversations/conversations.schemas";

/** Path ids are plain strings: a malformed id is the same 404 as an unknown one. */
export const MessageIdParam = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" }),
});

export const ReactionBody = z
  .strictObject({ type: z.enum(REACTION_TYPES).openapi({ example: "LIKE" }) })
  .openapi("ReactionRequest");

export const ReactionStateSchema = z
  .object({
    type: z
      .enum(REACTION_TYPES)
      .nullable()
      .openapi({ description: "The caller's reaction after the toggle (null: removed)" }),
    counts: ReactionCountsSchema,
  })
  .openapi("ReactionState");
export type ReactionStateDto = z.infer<typeof ReactionStateSchema>;

export const EditMessageBody = z
  .strictObject({
    content: z
      .string()
      .min(1)
      .max(MAX_CHAT_MESSAGE_CHARS)
      .refine((value) => value.trim() !== "", "The message must not be blank.")
      .openapi({ example: "Actually, how do I handle 'we already have a vendor'?" }),
  })
  .openapi("EditMessageRequest");
