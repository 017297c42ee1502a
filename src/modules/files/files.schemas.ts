import { z } from "@hono/zod-openapi";
import { FILE_STATUSES } from "../../db/schema";

/** CONFIG.md: attachments up to 10 MB. */
export const ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024;
/** The accepted types, each recognised by its magic bytes. */
export const ATTACHMENT_TYPES = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "application/pdf",
] as const;
export type AttachmentType = (typeof ATTACHMENT_TYPES)[number];

const EXAMPLE_ID = "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10";

export const FileIdParam = z.object({
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: EXAMPLE_ID }),
});

export const UploadTokenParam = z.object({
  token: z
    .string()
    .max(1000)
    .openapi({ param: { name: "token", in: "path" }, description: "From `uploadUrl`" }),
});

/** Both optional at the schema level: a missing or malformed signature is the same 404 as a wrong one. */
export const DownloadQuery = z.object({
  exp: z.string().optional().openapi({ description: "Expiry (unix seconds) of a signed download URL" }),
  sig: z.string().optional().openapi({ description: "Signature of a signed download URL" }),
});

export const CreateUploadBody = z
  .strictObject({
    filename: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .refine(
        (name) => Array.from(name).every((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f),
        "Control characters are not allowed.",
      )
      .openapi({ example: "quote.pdf" }),
    contentType: z
      .string()
      .min(1)
      .max(100)
      .openapi({ description: ATTACHMENT_TYPES.join(", "), example: "application/pdf" }),
    size: z
      .number()
      .int()
      .positive()
      .openapi({ description: `Exact size in bytes (at most ${ATTACHMENT_MAX_BYTES})`, example: 48213 }),
  })
  .openapi("CreateUploadRequest");
export type CreateUploadInput = z.infer<typeof CreateUploadBody>;

export const UploadTicketSchema = z
  .object({
    fileId: z.uuid(),
    uploadUrl: z.string().openapi({
      description: "PUT the exact bytes here (no bearer token); single use, valid 15 minutes",
    }),
    expiresAt: z.iso.datetime(),
    maxBytes: z.number().int().openapi({ example: ATTACHMENT_MAX_BYTES }),
  })
  .openapi("UploadTicket");
export type UploadTicketDto = z.infer<typeof UploadTicketSchema>;

export const FileSchema = z
  .object({
    id: z.uuid(),
    conversationId: z.uuid(),
    filename: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int(),
    status: z.enum(FILE_STATUSES),
    createdAt: z.iso.datetime(),
    uploadedAt: z.iso.datetime().nullable(),
  })
  .openapi("File");
export type FileDto = z.infer<typeof FileSchema>;
