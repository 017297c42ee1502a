/**
 * Upload and download URLs (DESIGN.md "Secrets and tokens"): HMAC-signed with the "file-url" subkey, no table.
 * - Upload token: `<payload>.<sig>`, payload = base64url JSON {w: workspace, f: file, s: size, t: type, e: exp}.
 *   The signature is checked before any lookup; single use is the PENDING → READY conditional update.
 * - Download URL: `/api/files/<id>?exp=&sig=`, sig over (workspace, file, exp) — the relay's 10-minute URLs.
 */
import { base64url } from "jose";
import { hmacBase64Url, verifyHmacBase64Url } from "../../core/crypto";
import { isUuid } from "../../core/ids";
import type { Config } from "../../env";

/** CONFIG.md "Lifetimes": upload URL 15 minutes. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
/** CONFIG.md "Lifetimes": download URL for webhooks 10 minutes. */
export const DOWNLOAD_URL_TTL_SECONDS = 10 * 60;

export type UploadClaims = {
  workspaceId: string;
  fileId: string;
  size: number;
  contentType: string;
  /** Unix seconds. */
  exp: number;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The token of an upload URL for a PENDING file (exported for tests that forge variants). */
export async function signUploadToken(config: Pick<Config, "ENCRYPTION_KEY">, claims: UploadClaims) {
  const payload = base64url.encode(
    encoder.encode(
      JSON.stringify({
        w: claims.workspaceId,
        f: claims.fileId,
        s: claims.size,
        t: claims.contentType,
        e: claims.exp,
      }),
    ),
  );
  const sig = await hmacBase64Url(config.ENCRYPTION_KEY, "file-url", `upload.${payload}`);
  return `${payload}.${sig}`;
}

/** The claims of a genuine, unexpired upload token; null for anything else. */
export async function verifyUploadToken(
  config: Pick<Config, "ENCRYPTION_KEY">,
  token: string,
  nowMs = Date.now(),
): Promise<UploadClaims | null> {
  const [payload, sig, extra] = token.split(".");
  if (!payload || !sig || extra !== undefined || payload.length > 600) return null;
  if (!(await verifyHmacBase64Url(config.ENCRYPTION_KEY, "file-url", `upload.${payload}`, sig))) return null;
  let raw: { w?: unknown; f?: unknown; s?: unknown; t?: unknown; e?: unknown };
  try {
    raw = JSON.parse(decoder.decode(base64url.decode(payload)));
  } catch {
    return null;
  }
  if (
    typeof raw.w !== "string" ||
    !isUuid(raw.w) ||
    typeof raw.f !== "string" ||
    !isUuid(raw.f) ||
    typeof raw.s !== "number" ||
    !Number.isSafeInteger(raw.s) ||
    typeof raw.t !== "string" ||
    typeof raw.e !== "number" ||
    !Number.isSafeInteger(raw.e) ||
    raw.e * 1000 <= nowMs
  ) {
    return null;
  }
  return { workspaceId: raw.w, fileId: raw.f, size: raw.s, contentType: raw.t, exp: raw.e };
}

const downloadData = (workspaceId: string, fileId: string, exp: number) =>
  `download.${workspaceId}.${fileId}.${exp}`;

/**
 * A signed, bearer-less download URL of a READY file, valid 10 minutes — what the relay payload carries as
 * `attachments[].url` so the persona's webhook can fetch the file.
 */
export async function signedDownloadUrl(
  config: Pick<Config, "ENCRYPTION_KEY" | "APP_BASE_URL">,
  file: { id: string; workspaceId: string },
  nowMs = Date.now(),
): Promise<string> {
  const exp = Math.floor(nowMs / 1000) + DOWNLOAD_URL_TTL_SECONDS;
  const sig = await hmacBase64Url(
    config.ENCRYPTION_KEY,
    "file-url",
    downloadData(file.workspaceId, file.id, exp),
  );
  const url = new URL(`/api/files/${file.id}`, config.APP_BASE_URL);
  url.searchParams.set("exp", String(exp));
  url.searchParams.set("sig", sig);
  return url.toString();
}

/** True when `sig` signs (workspace, file, exp) and exp is in the future. */
export async function verifyDownloadSignature(
  config: Pick<Config, "ENCRYPTION_KEY">,
  input: { workspaceId: string; fileId: string; exp: number; sig: string },
  nowMs = Date.now(),
): Promise<boolean> {
  if (!Number.isSafeInteger(input.exp) || input.exp * 1000 <= nowMs) return false;
  return verifyHmacBase64Url(
    config.ENCRYPTION_KEY,
    "file-url",
    downloadData(input.workspaceId, input.fileId, input.exp),
    input.sig,
  );
}
