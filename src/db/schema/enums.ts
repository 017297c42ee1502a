/**
 * Postgres enums. The value arrays are exported so zod schemas and services reuse the exact same lists.
 */
import { pgEnum } from "drizzle-orm/pg-core";

export const WORKSPACE_KINDS = ["CORPORATE", "PERSONAL"] as const;
export type WorkspaceKind = (typeof WORKSPACE_KINDS)[number];
export const workspaceKind = pgEnum("workspace_kind", WORKSPACE_KINDS);

export const JOIN_POLICIES = ["AUTO", "INVITE_ONLY"] as const;
export type JoinPolicy = (typeof JOIN_POLICIES)[number];
export const joinPolicy = pgEnum("join_policy", JOIN_POLICIES);

export const WORKSPACE_STATUSES = ["ACTIVE", "PENDING_DELETION"] as const;
export type WorkspaceStatus = (typeof WORKSPACE_STATUSES)[number];
export const workspaceStatus = pgEnum("workspace_status", WORKSPACE_STATUSES);

export const USER_STATUSES = ["PENDING_VERIFY", "ACTIVE", "DEACTIVATED", "PENDING_DELETION"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];
export const userStatus = pgEnum("user_status", USER_STATUSES);

export const USER_ROLES = ["ADMIN", "MEMBER"] as const;
export type UserRole = (typeof USER_ROLES)[number];
export const userRole = pgEnum("user_role", USER_ROLES);

export const SESSION_METHODS = ["PASSWORD", "GOOGLE"] as const;
export type SessionMethod = (typeof SESSION_METHODS)[number];
export const sessionMethod = pgEnum("session_method", SESSION_METHODS);

export const TOKEN_PURPOSES = [
  "VERIFY_EMAIL",
  "RESET_PASSWORD",
  "OAUTH_CODE",
  "CANCEL_DELETION",
  /** A used Google link ticket (its id), so that only the first browser to open the link URL can use it. */
  "OAUTH_LINK",
] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];
export const tokenPurpose = pgEnum("token_purpose", TOKEN_PURPOSES);

export const SIGNING_KEY_STATUSES = ["NEXT", "CURRENT", "PREVIOUS", "RETIRED"] as const;
export type SigningKeyStatus = (typeof SIGNING_KEY_STATUSES)[number];
export const signingKeyStatus = pgEnum("signing_key_status", SIGNING_KEY_STATUSES);

export const ACTOR_TYPES = ["USER", "ANONYMOUS", "SYSTEM", "WEBHOOK"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];
export const actorType = pgEnum("actor_type", ACTOR_TYPES);

export const VISIBILITIES = ["PRIVATE", "SHARED"] as const;
export type Visibility = (typeof VISIBILITIES)[number];
export const visibility = pgEnum("visibility", VISIBILITIES);

export const MESSAGE_ROLES = ["USER", "ASSISTANT"] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];
export const messageRole = pgEnum("message_role", MESSAGE_ROLES);

export const MESSAGE_STATUSES = ["COMPLETE", "PENDING", "FAILED"] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export const messageStatus = pgEnum("message_status", MESSAGE_STATUSES);

export const FILE_STATUSES = ["PENDING", "READY"] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];
export const fileStatus = pgEnum("file_status", FILE_STATUSES);

export const REACTION_TYPES = ["LIKE", "DISLIKE"] as const;
export type ReactionType = (typeof REACTION_TYPES)[number];
export const reactionType = pgEnum("reaction_type", REACTION_TYPES);

export const CHAT_RUN_STATUSES = ["PENDING", "SUCCEEDED", "FAILED", "TIMEOUT"] as const;
export type ChatRunStatus = (typeof CHAT_RUN_STATUSES)[number];
export const chatRunStatus = pgEnum("chat_run_status", CHAT_RUN_STATUSES);

export const EMAIL_STATUSES = ["QUEUED", "SENDING", "SENT", "FAILED", "DEAD"] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];
export const emailStatus = pgEnum("email_status", EMAIL_STATUSES);

export const JOB_RUN_STATUSES = ["RUNNING", "SUCCEEDED", "FAILED"] as const;
export type JobRunStatus = (typeof JOB_RUN_STATUSES)[number];
export const jobRunStatus = pgEnum("job_run_status", JOB_RUN_STATUSES);
