/**
 * Avatar URLs (DESIGN.md "Secrets and tokens"): HMAC-signed with the "avatar-url" subkey over the user id, the
 * current object key and the expiry — no table. Replacing the avatar changes the key, so every URL of the old
 * image stops working at once.
 */
import { hmacBase64Url, verifyHmacBase64Url } from "../../core/crypto";
import type { Deps } from "../../core/deps";

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
