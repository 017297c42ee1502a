/**
 * Avatar URLs (DESIGN.md "Secrets and tokens"): HMAC-signed with the "avatar-url" subkey over the user id, the
 * current object key and the expiry — no table. Replacing the avatar changes the key, so every URL of the old
 * image stops working at once.
 */
import { and, eq } from "drizzle-orm";
import { hmacBase64Url, verifyHmacBase64Url } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import { errorFields } from "../../core/logger";
import { users } from "../../db/schema";
import { recordAudit } from "../audit/audit.service";

const DAY_SECONDS = 86_400;
/** CONFIG.md "Lifetimes": avatar URL 7 days. */
export const AVATAR_URL_TTL_SECONDS = 7 * DAY_SECONDS;

const signedData = (userId: string, avatarKey: string, exp: number) => `${userId}|${avatarKey}|${exp}`;

/**
 * The expiry of URLs signed now: the end of the UTC day 7 days ahead, so every URL signed during one day is
 * the same string (browsers and proxies can cache the image) and each stays valid between 7 and 8 days.
 */
export function avatarUrlExpiry(nowMs = Date.now()): number {
  const now = Math.floor(nowMs / 1000);
  return Math.ceil((now + AVATAR_URL_TTL_SECONDS) / DAY_SECONDS) * DAY_SECONDS;
}

/**
 * The signed URL of the user's avatar, `${APP_BASE_URL}/api/users/<id>/avatar?exp=<unix>&sig=<hmac>`, or null
 * when the user has none.
 */
export async function signedAvatarUrl(
  deps: Pick<Deps, "config">,
  user: { id: string; avatarKey: string | null },
  nowMs = Date.now(),
): Promise<string | null> {
  if (!user.avatarKey) return null;
  const exp = avatarUrlExpiry(nowMs);
  const sig = await hmacBase64Url(
    deps.config.ENCRYPTION_KEY,
    "avatar-url",
    signedData(user.id, user.avatarKey, exp),
  );
  const url = new URL(`/api/users/${user.id}/avatar`, deps.config.APP_BASE_URL);
  url.searchParams.set("exp", String(exp));
  url.searchParams.set("sig", sig);
  return url.toString();
}

/**
 * True when `sig` signs (user id, the user's current avatar key, exp) and `exp` is still in the future.
 * A signature for an earlier avatar key fails, as does one for another user.
 */
export async function verifyAvatarSignature(
  deps: Pick<Deps, "config">,
  input: { userId: string; avatarKey: string; exp: number; sig: string },
  nowMs = Date.now(),
): Promise<boolean> {
  if (!Number.isSafeInteger(input.exp) || input.exp * 1000 <= nowMs) return false;
  return verifyHmacBase64Url(
    deps.config.ENCRYPTION_KEY,
    "avatar-url",
    signedData(input.userId, input.avatarKey, input.exp),
    input.sig,
  );
}

/** API.md: avatars up to 2 MB. */
export const AVATAR_MAX_BYTES = 2 * 1024 * 1024;
/** Room for multipart boundaries and part headers around a 2 MB file; the file itself is checked again. */
const MULTIPART_OVERHEAD_BYTES = 16 * 1024;
/** Avatar responses may be cached privately for a day (signed URLs change once a day). */
export const AVATAR_CACHE_CONTROL = "private, max-age=86400";

export type AvatarType = "image/png" | "image/jpeg" | "image/webp" | "image/gif";

const startsWith = (bytes: Uint8Array, prefix: readonly number[], offset = 0) =>
  bytes.length >= offset + prefix.length && prefix.every((b, i) => bytes[offset + i] === b);
const ascii = (text: string) => Array.from(text, (ch) => ch.charCodeAt(0));

/**
 * The image type by magic bytes — the declared Content-Type is never trusted. Only PNG, JPEG, WebP and GIF;
 * anything else (SVG, HTML, …) is null.
 */
export function sniffImageType(bytes: Uint8Array): AvatarType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return "image/gif";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "image/webp";
  return null;
}

const tooLarge = () =>
  new ApiError("PAYLOAD_TOO_LARGE", `Avatars are limited to ${AVATAR_MAX_BYTES} bytes (2 MB).`);

/**
 * Reads a body stream, refusing (413) as soon as more than `cap` bytes have arrived — Content-Length is only
 * a hint (it may be absent, e.g. chunked, or lie), so the count is made while reading.
 */
async function readCapped(body: ReadableStream<Uint8Array> | null, cap: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

export type AvatarUpload = { bytes: Uint8Array<ArrayBuffer>; contentType: AvatarType };

/**
 * The image of an avatar upload: the `avatar` field of a multipart/form-data body, or the raw body otherwise.
 * 413 over 2 MB (checked while reading), 415 unless the bytes are PNG, JPEG, WebP or GIF, 400 when there is
 * no image at all.
 */
export async function readAvatarUpload(request: Request): Promise<AvatarUpload> {
  const contentType = request.headers.get("Content-Type") ?? "";
  const multipart = /^multipart\/form-data\s*;/i.test(contentType);
  const cap = multipart ? AVATAR_MAX_BYTES + MULTIPART_OVERHEAD_BYTES : AVATAR_MAX_BYTES;
  const declared = Number(request.headers.get("Content-Length"));
  if (Number.isFinite(declared) && declared > cap) throw tooLarge();

  let bytes = await readCapped(request.body, cap);
  if (multipart) {
    let form: FormData;
    try {
      form = await new Response(bytes, { headers: { "Content-Type": contentType } }).formData();
    } catch {
      throw new ApiError("VALIDATION_FAILED", "The multipart body could not be parsed.", {
        errors: [{ path: "avatar", message: "Send the image in a multipart field named avatar." }],
      });
    }
    const file = form.get("avatar");
    if (!file || typeof file === "string") {
      throw new ApiError("VALIDATION_FAILED", "The image is missing.", {
        errors: [{ path: "avatar", message: "Send the image in a multipart file field named avatar." }],
      });
    }
    if (file.size > AVATAR_MAX_BYTES) throw tooLarge();
    bytes = new Uint8Array(await file.arrayBuffer());
  }
  if (bytes.byteLength === 0) {
    throw new ApiError("VALIDATION_FAILED", "The image is missing.", {
      errors: [{ path: "(body)", message: "Send a PNG, JPEG, WebP or GIF image." }],
    });
  }
  const detected = sniffImageType(bytes);
  if (!detected) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Avatars must be PNG, JPEG, WebP or GIF images.");
  }
  return { bytes: bytes as Uint8Array<ArrayBuffer>, contentType: detected };
}

/** R2 key of a new avatar object (DESIGN.md: `avatars/<workspace_id>/<user_id>/<uuid>`). */
export const newAvatarKey = (workspaceId: string, userId: string) =>
  `avatars/${workspaceId}/${userId}/${newId()}`;

/**
 * Stores the image, points users.avatar_key at it (audited AVATAR_UPLOADED in the same transaction), then —
 * only once that committed — deletes the previous object. If the database step fails the new object is
 * removed again, so a refused or failed upload leaves nothing behind.
 */
export async function uploadAvatar(
  deps: Deps,
  caller: { userId: string; workspaceId: string },
  upload: AvatarUpload,
): Promise<{ avatarUrl: string }> {
  const key = newAvatarKey(caller.workspaceId, caller.userId);
  await deps.env.FILES.put(key, upload.bytes, { httpMetadata: { contentType: upload.contentType } });

  let previousKey: string | null;
  try {
    previousKey = await deps.db.transaction(async (tx) => {
      const scope = and(eq(users.id, caller.userId), eq(users.workspaceId, caller.workspaceId));
      const [current] = await tx
        .select({ avatarKey: users.avatarKey })
        .from(users)
        .where(scope)
        .for("update");
      if (!current) throw new ApiError("NOT_FOUND", "No such user.");
      await tx.update(users).set({ avatarKey: key }).where(scope);
      await recordAudit(deps, tx, {
        type: "AVATAR_UPLOADED",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "user",
        targetId: caller.userId,
        data: {
          via: "POST /api/users/me/avatar",
          contentType: upload.contentType,
          sizeBytes: upload.bytes.byteLength,
        },
      });
      return current.avatarKey;
    });
  } catch (error) {
    await deleteObject(deps, key);
    throw error;
  }
  // The orphan-objects job would collect a leftover, but an upload should not leave one on purpose.
  if (previousKey && previousKey !== key) await deleteObject(deps, previousKey);

  const avatarUrl = await signedAvatarUrl(deps, { id: caller.userId, avatarKey: key });
  return { avatarUrl: avatarUrl as string };
}

/**
 * Re-homes a user's avatar under a new workspace's prefix (accept-invitation moves users), so a workspace's
 * objects stay exactly those under its own prefixes and its purge finds them. Copy, repoint (only if the
 * avatar did not change meanwhile), then delete the old object. Returns the user's current avatar key.
 */
export async function moveAvatar(
  deps: Pick<Deps, "db" | "env" | "log">,
  user: { id: string; avatarKey: string | null },
  workspaceId: string,
): Promise<string | null> {
  const oldKey = user.avatarKey;
  if (!oldKey || oldKey.startsWith(`avatars/${workspaceId}/`)) return oldKey;
  const object = await deps.env.FILES.get(oldKey);
  if (!object) return oldKey;
  const key = newAvatarKey(workspaceId, user.id);
  await deps.env.FILES.put(key, await object.arrayBuffer(), { httpMetadata: object.httpMetadata });
  const [moved] = await deps.db
    .update(users)
    .set({ avatarKey: key })
    .where(and(eq(users.id, user.id), eq(users.avatarKey, oldKey)))
    .returning({ id: users.id });
  await deleteObject(deps, moved ? oldKey : key);
  return moved ? key : oldKey;
}

async function deleteObject(deps: Pick<Deps, "env" | "log">, key: string) {
  try {
    await deps.env.FILES.delete(key);
  } catch (error) {
    deps.log.warn("avatar object delete failed; the orphan-objects job will retry", {
      key,
      ...errorFields(error),
    });
  }
}

/**
 * Serves an avatar by signed URL (no bearer). Every refusal is the same 404: unknown or non-UUID id, missing,
 * malformed, tampered or expired signature, or a signature for an avatar that has since been replaced.
 * Answers 304 when `If-None-Match` carries the object's ETag.
 */
export async function serveAvatar(
  deps: Pick<Deps, "db" | "config" | "env">,
  input: { userId: string; exp?: string; sig?: string; ifNoneMatch?: string },
): Promise<Response> {
  const notFound = () => new ApiError("NOT_FOUND", "Not found.");
  const userId = input.userId.toLowerCase();
  const exp = /^\d{1,12}$/.test(input.exp ?? "") ? Number(input.exp) : Number.NaN;
  if (!isUuid(userId) || !input.sig || !Number.isSafeInteger(exp) || exp * 1000 <= Date.now()) {
    throw notFound();
  }
  const [row] = await deps.db
    .select({ avatarKey: users.avatarKey })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  if (!row?.avatarKey) throw notFound();
  const valid = await verifyAvatarSignature(deps, {
    userId,
    avatarKey: row.avatarKey,
    exp,
    sig: input.sig,
  });
  if (!valid) throw notFound();

  const object = await deps.env.FILES.get(row.avatarKey, {
    // The runtime parses the header itself (lists, weak tags, `*`); an object without a body means "not modified".
    onlyIf: input.ifNoneMatch ? new Headers({ "If-None-Match": input.ifNoneMatch }) : undefined,
  });
  if (!object) throw notFound();
  const headers = new Headers({
    ETag: object.httpEtag,
    "Cache-Control": AVATAR_CACHE_CONTROL,
    "X-Content-Type-Options": "nosniff",
  });
  if (!("body" in object) || !object.body) return new Response(null, { status: 304, headers });
  headers.set("Content-Type", object.httpMetadata?.contentType ?? "application/octet-stream");
  headers.set("Content-Length", String(object.size));
  headers.set("Content-Disposition", "inline");
  return new Response(object.body, { status: 200, headers });
}
