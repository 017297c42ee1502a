/**
 * Attachments: an upload ticket (PENDING row + signed URL) → the bytes streamed into R2 with a known length
 * (FixedLengthStream), checked by magic bytes, made READY by one conditional update → served to whoever can
 * see the conversation, or to a signed URL (the relay's). Refusals never leave an object behind.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import { errorFields } from "../../core/logger";
import type { DbOrTx } from "../../db/client";
import { type FileRow, files, workspaces } from "../../db/schema";
import { recordAudit } from "../audit/audit.service";
import { type ConversationCaller, requireConversation } from "../conversations/store/access";
import { fileAttachedTo, fileInLiveConversation, fileVisibleTo } from "../conversations/store/files";
import { sniffImageType } from "../users/avatar.service";
import {
  signedDownloadUrl,
  signUploadToken,
  UPLOAD_URL_TTL_SECONDS,
  verifyDownloadSignature,
  verifyUploadToken,
} from "./file-urls";
import {
  ATTACHMENT_MAX_BYTES,
  ATTACHMENT_TYPES,
  type AttachmentType,
  type CreateUploadInput,
  type FileDto,
  type UploadTicketDto,
} from "./files.schemas";

const notFound = () => new ApiError("NOT_FOUND", "Not found.");
const tooLarge = () =>
  new ApiError("PAYLOAD_TOO_LARGE", `Attachments are limited to ${ATTACHMENT_MAX_BYTES} bytes (10 MB).`);
const unsupported = () =>
  new ApiError("UNSUPPORTED_MEDIA_TYPE", `Attachments must be one of: ${ATTACHMENT_TYPES.join(", ")}.`);

/** R2 key of an attachment (DESIGN.md: `attachments/<workspace_id>/<conversation_id>/<file_id>`). */
export const attachmentKey = (workspaceId: string, conversationId: string, fileId: string) =>
  `attachments/${workspaceId}/${conversationId}/${fileId}`;

export function toFileDto(row: FileRow): FileDto {
  return {
    id: row.id,
    conversationId: row.conversationId,
    filename: row.filename,
    contentType: row.contentType,
    sizeBytes: row.sizeBytes,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    uploadedAt: row.uploadedAt?.toISOString() ?? null,
  };
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[]) =>
  bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);

/** The attachment type by magic bytes (never the declared type); null for anything else. */
export function sniffAttachmentType(bytes: Uint8Array): AttachmentType | null {
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d])) return "application/pdf"; // %PDF-
  return sniffImageType(bytes);
}

// --- ticket -------------------------------------------------------------------------------------------------

/**
 * A PENDING file of the conversation (owner only) and its signed upload URL, bound to the file id, size,
 * type and a 15-minute expiry. 413 over 10 MB, 415 for a type not accepted — nothing stored either way.
 */
export async function createUpload(
  deps: Deps,
  caller: ConversationCaller,
  conversationId: string,
  input: CreateUploadInput,
): Promise<UploadTicketDto> {
  const conversation = await requireConversation(deps.db, caller, conversationId, { owner: true });
  const contentType = input.contentType.trim().toLowerCase();
  if (!(ATTACHMENT_TYPES as readonly string[]).includes(contentType)) throw unsupported();
  if (input.size > ATTACHMENT_MAX_BYTES) throw tooLarge();
  const fileId = newId();
  const [row] = await deps.db
    .insert(files)
    .values({
      id: fileId,
      workspaceId: caller.workspaceId,
      conversationId: conversation.id,
      uploaderId: caller.userId,
      r2Key: attachmentKey(caller.workspaceId, conversation.id, fileId),
      // Path separators and quotes are harmless in a stored name, but never useful: keep the name plain.
      filename: input.filename.replace(/[/\\"]/g, "_"),
      contentType,
      sizeBytes: input.size,
      status: "PENDING",
    })
    .returning({ createdAt: files.createdAt });
  if (!row) throw new Error("file insert returned nothing");
  const exp = Math.floor(Date.now() / 1000) + UPLOAD_URL_TTL_SECONDS;
  const token = await signUploadToken(deps.config, {
    workspaceId: caller.workspaceId,
    fileId,
    size: input.size,
    contentType,
    exp,
  });
  return {
    fileId,
    uploadUrl: new URL(`/api/uploads/${token}`, deps.config.APP_BASE_URL).toString(),
    expiresAt: new Date(exp * 1000).toISOString(),
    maxBytes: ATTACHMENT_MAX_BYTES,
  };
}

// --- upload -------------------------------------------------------------------------------------------------

/** Reads from the stream until at least `min` bytes arrived or it ended. */
async function readHead(reader: ReadableStreamDefaultReader<Uint8Array>, min: number, cap: number) {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let done = false;
  while (total < min) {
    const next = await reader.read();
    if (next.done) {
      done = true;
      break;
    }
    total += next.value.byteLength;
    if (total > cap) throw tooLarge();
    chunks.push(next.value);
  }
  const head = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    head.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { head, done };
}

const sizeMismatch = () =>
  new ApiError("VALIDATION_FAILED", "The request is invalid.", {
    errors: [{ path: "(body)", message: "The body must be exactly the size declared for this upload." }],
  });

async function deleteQuietly(deps: Pick<Deps, "env" | "log">, key: string) {
  try {
    await deps.env.FILES.delete(key);
  } catch (error) {
    deps.log.warn("attachment delete failed; the orphan-objects job will retry", {
      key,
      ...errorFields(error),
    });
  }
}

/**
 * PUT /api/uploads/{token}. Every refusal comes before or instead of the object: bad/expired token or a file
 * that is no longer PENDING (used) → 404; a Content-Length or body over the declared size → 413; bytes that
 * are not the declared type → 415; a short body → 400. The body streams into R2 through a FixedLengthStream
 * of the declared size, counted while it flows; the file becomes READY by one conditional update.
 */
export async function receiveUpload(deps: Deps, token: string, request: Request): Promise<FileDto> {
  const claims = await verifyUploadToken(deps.config, token);
  if (!claims) throw notFound();
  const [found] = await deps.db
    .select({ file: files, workspaceStatus: workspaces.status })
    .from(files)
    .innerJoin(workspaces, eq(workspaces.id, files.workspaceId))
    .where(
      and(
        eq(files.workspaceId, claims.workspaceId),
        eq(files.id, claims.fileId),
        eq(files.status, "PENDING"),
        fileInLiveConversation(),
      ),
    )
    .limit(1);
  const file = found?.file;
  if (!file || file.sizeBytes !== claims.size || file.contentType !== claims.contentType) throw notFound();
  // A URL handed out before the deletion request must not write into a workspace that is now read-only.
  if (found.workspaceStatus === "PENDING_DELETION") {
    throw new ApiError("WORKSPACE_PENDING_DELETION", "This workspace is scheduled for deletion.");
  }

  const size = file.sizeBytes;
  const declared = request.headers.get("Content-Length");
  if (declared !== null && /^\d+$/.test(declared)) {
    if (Number(declared) > size) throw tooLarge();
    if (Number(declared) < size) throw sizeMismatch();
  }
  if (!request.body) throw sizeMismatch();
  const reader = request.body.getReader();
  let head: Uint8Array;
  try {
    ({ head } = await readHead(reader, Math.min(16, size), size));
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  if (sniffAttachmentType(head) !== file.contentType) {
    await reader.cancel().catch(() => {});
    throw unsupported();
  }

  const { readable, writable } = new FixedLengthStream(size);
  let refusal: ApiError | null = null;
  const pump = (async () => {
    const writer = writable.getWriter();
    let total = 0;
    const write = async (chunk: Uint8Array) => {
      total += chunk.byteLength;
      if (total > size) {
        refusal = tooLarge();
        throw refusal;
      }
      await writer.write(chunk);
    };
    try {
      if (head.byteLength) await write(head);
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        await write(next.value);
      }
      if (total < size) {
        refusal = sizeMismatch();
        throw refusal;
      }
      await writer.close();
    } catch (error) {
      await writer.abort(error).catch(() => {});
      await reader.cancel().catch(() => {});
      throw error;
    }
  })();
  const [put, pumped] = await Promise.allSettled([
    deps.env.FILES.put(file.r2Key, readable, { httpMetadata: { contentType: file.contentType } }),
    pump,
  ]);
  if (put.status === "rejected" || pumped.status === "rejected") {
    // Nothing may stay behind a refusal: the key is this PENDING file's own, so removing it is safe.
    await deleteQuietly(deps, file.r2Key);
    if (refusal) throw refusal;
    if (pumped.status === "rejected") throw sizeMismatch();
    throw put.status === "rejected" ? put.reason : new Error("upload failed");
  }

  const ready = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(files)
      .set({ status: "READY", uploadedAt: sql`now()` })
      .where(and(eq(files.workspaceId, file.workspaceId), eq(files.id, file.id), eq(files.status, "PENDING")))
      .returning();
    if (!row) return null;
    await recordAudit(deps, tx, {
      type: "FILE_UPLOADED",
      workspaceId: file.workspaceId,
      actorUserId: file.uploaderId,
      targetType: "file",
      targetId: file.id,
      data: {
        via: "PUT /api/uploads/{token}",
        conversationId: file.conversationId,
        contentType: file.contentType,
        sizeBytes: file.sizeBytes,
      },
    });
    return row;
  });
  // A parallel PUT with the same token won the update: its object (same key, same size and type) stays.
  if (!ready) throw notFound();
  return toFileDto(ready);
}

// --- download -----------------------------------------------------------------------------------------------

/** `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987). */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/**
 * Serves a READY attachment. With `exp` and `sig` (a signed URL), the signature alone authorises it; without,
 * the caller (bearer) must be able to see the conversation. Every refusal is the same 404.
 */
export async function serveFile(
  deps: Pick<Deps, "db" | "env" | "config">,
  input: { fileId: string; exp?: string; sig?: string; caller?: ConversationCaller },
): Promise<Response> {
  if (!isUuid(input.fileId)) throw notFound();
  const fileId = input.fileId.toLowerCase();
  const visible = input.caller ? fileVisibleTo(input.caller) : fileInLiveConversation();
  let exp = Number.NaN;
  if (!input.caller) {
    exp = /^\d{1,12}$/.test(input.exp ?? "") ? Number(input.exp) : Number.NaN;
    if (!input.sig || !Number.isSafeInteger(exp) || exp * 1000 <= Date.now()) throw notFound();
  }
  const [row] = await deps.db
    .select({ file: files })
    .from(files)
    .where(and(eq(files.id, fileId), eq(files.status, "READY"), visible))
    .limit(1);
  if (!row) throw notFound();
  const file = row.file;
  if (!input.caller) {
    const valid = await verifyDownloadSignature(deps.config, {
      workspaceId: file.workspaceId,
      fileId: file.id,
      exp,
      sig: input.sig ?? "",
    });
    if (!valid) throw notFound();
  }
  const object = await deps.env.FILES.get(file.r2Key);
  if (!object) throw notFound();
  return new Response(object.body, {
    status: 200,
    headers: {
      "Content-Type": file.contentType,
      "Content-Length": String(object.size),
      "Content-Disposition": contentDisposition(file.filename),
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "private, max-age=300",
    },
  });
}

// --- for the chat relay -------------------------------------------------------------------------------------

/**
 * The chat `fileIds` rule: every id must be a READY file of this conversation (in this workspace), else
 * 409 FILE_NOT_READY. Returns the rows in the order given (duplicates removed).
 */
export async function assertReadyFiles(
  db: DbOrTx,
  workspaceId: string,
  conversationId: string,
  fileIds: readonly string[],
): Promise<FileRow[]> {
  const ids = [...new Set(fileIds.map((id) => id.toLowerCase()))];
  if (ids.length === 0) return [];
  const notReady = () =>
    new ApiError("FILE_NOT_READY", "Attach only uploaded (READY) files of this conversation.");
  if (!ids.every(isUuid)) throw notReady();
  const rows = await db
    .select()
    .from(files)
    .where(
      and(
        eq(files.workspaceId, workspaceId),
        eq(files.conversationId, conversationId),
        eq(files.status, "READY"),
        inArray(files.id, ids),
      ),
    );
  if (rows.length !== ids.length) throw notReady();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id) as FileRow);
}

/** An attachment as the relay payload carries it (API.md "Outbound relay"). */
export type RelayAttachment = { fileId: string; filename: string; contentType: string; url: string };

/** Files as the relay payload carries them: signed 10-minute download URLs. */
export const toRelayAttachments = (
  config: Deps["config"],
  rows: readonly FileRow[],
): Promise<RelayAttachment[]> =>
  Promise.all(
    rows.map(async (f) => ({
      fileId: f.id,
      filename: f.filename,
      contentType: f.contentType,
      url: await signedDownloadUrl(config, f),
    })),
  );

/**
 * The `attachments` of an already stored message (a retry re-sending a FAILED message, an edit carrying the
 * original's): its linked READY files with fresh signed 10-minute download URLs, oldest first.
 */
export async function relayAttachmentsOf(
  deps: Pick<Deps, "config">,
  db: DbOrTx,
  workspaceId: string,
  messageId: string,
): Promise<RelayAttachment[]> {
  const rows = await db
    .select()
    .from(files)
    .where(and(eq(files.workspaceId, workspaceId), eq(files.status, "READY"), fileAttachedTo(messageId)))
    .orderBy(files.createdAt, files.id);
  return toRelayAttachments(deps.config, rows);
}

export { signedDownloadUrl };
