import type { User } from "../../db/schema";
import type { UserDto } from "./users.schemas";

/**
 * The one mapping from a users row to its public shape. `avatarUrl` is signed by the caller (the avatar
 * feature owns the signature); a row without an avatar has none.
 */
export function toUserDto(user: User, avatarUrl: string | null = null): UserDto {
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
