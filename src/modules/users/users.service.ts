import { and, eq } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { lastStatements } from "../../db/client";
import type { User } from "../../db/schema";
import { users } from "../../db/schema";
import type { AuthContext, UserProfile } from "../../middleware/auth";
import { recordAudit } from "../audit/audit.service";
import { signedAvatarUrl } from "./avatar.service";
import type { UpdateProfileInput, UserDto } from "./users.schemas";

/**
 * The one mapping from a users row to its public shape. `avatarUrl` is signed by the caller (the avatar
 * feature owns the signature); a row without an avatar has none.
 */
export function toUserDto(user: UserProfile, avatarUrl: string | null = null): UserDto {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    avatarUrl: user.avatarKey ? avatarUrl : null,
    timezone: user.timezone,
    locale: user.locale,
    role: user.role,
    status: user.status,
    workspaceId: user.workspaceId,
    emailVerified: user.emailVerifiedAt !== null,
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

/** `toUserDto` with the avatar URL signed now. */
export async function toSignedUserDto(deps: Pick<Deps, "config">, user: UserProfile): Promise<UserDto> {
  return toUserDto(user, await signedAvatarUrl(deps, user));
}

type Caller = Pick<AuthContext, "userId" | "workspaceId">;

/**
 * The caller's own profile. The auth middleware's one query already read the row (live session, ACTIVE user),
 * so GET /api/users/me costs no second query.
 */
export function getProfile(
  deps: Pick<Deps, "config">,
  caller: Pick<AuthContext, "profile">,
): Promise<UserDto> {
  return toSignedUserDto(deps, caller.profile);
}

/** Canonical spellings, so "europe/london" and "Europe/London" are one value (and one non-change). */
function canonicalTimeZone(value: string): string {
  return new Intl.DateTimeFormat("en-US", { timeZone: value }).resolvedOptions().timeZone;
}
function canonicalLocale(value: string): string {
  return Intl.getCanonicalLocales(value)[0] ?? value;
}

/**
 * Applies name / timezone / locale (the only fields the body schema lets through). Writes and audits
 * PROFILE_UPDATED with the names of the fields whose value actually changed — never the values; a body that
 * changes nothing writes nothing.
 */
export async function updateProfile(deps: Deps, caller: Caller, input: UpdateProfileInput): Promise<UserDto> {
  const scope = and(eq(users.id, caller.userId), eq(users.workspaceId, caller.workspaceId));
  // Two round trips behind requireAuthForWrite: the locked read (with the session check), then the update
  // and its audit written together with COMMIT.
  const outcome = await deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(users).where(scope).for("update");
    if (!current) throw new ApiError("NOT_FOUND", "No such user.");

    const wanted = {
      name: input.name,
      timezone: input.timezone === undefined ? undefined : canonicalTimeZone(input.timezone),
      locale: input.locale === undefined ? undefined : canonicalLocale(input.locale),
    };
    const changes: Partial<Pick<User, "name" | "timezone" | "locale">> = {};
    for (const field of ["name", "timezone", "locale"] as const) {
      const value = wanted[field];
      if (value !== undefined && value !== current[field]) changes[field] = value;
    }
    const fields = Object.keys(changes);
    if (fields.length === 0) return { unchanged: current };

    return lastStatements(tx, [
      tx.update(users).set(changes).where(scope).returning(),
      recordAudit(deps, tx, {
        type: "PROFILE_UPDATED",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "user",
        targetId: caller.userId,
        data: { via: "PUT /api/users/me", fields },
      }),
    ]);
  });
  // The row was locked, so the update found it.
  const user = "unchanged" in outcome ? outcome.unchanged : (await outcome.results)[0][0];
  if (!user) throw new ApiError("NOT_FOUND", "No such user.");
  return toSignedUserDto(deps, user);
}
