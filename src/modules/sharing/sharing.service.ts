/**
 * Share links (API.md "Conversations…", DESIGN.md "Secrets and tokens"): a random 32-byte token shown once,
 * only its SHA-256 stored; the branch is frozen at the conversation's current leaf when the link is made.
 * The public view rechecks everything on every request (link live, conversation still SHARED and not
 * deleted) and answers the same 404 for every failure.
 */
import { hashToken, randomToken } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import { lastStatements } from "../../db/client";
import { rawRows, rowDate } from "../../db/raw";
import type { Conversation, ShareLink } from "../../db/schema";
import type { PendingCaller } from "../../middleware/auth";
import { recordAudit } from "../audit/audit.service";
import {
  type ConversationCaller,
  conversationNotFound,
  notTheOwner,
  requireConversation,
} from "../conversations/store/access";
import {
  findShareLink,
  insertShareLink,
  revokeShareLinks,
  shareLinksOf,
} from "../conversations/store/share-links";
import { type SharedViewRow, sharedViewStatement } from "../conversations/store/shared-view";
import {
  type CreatedShareDto,
  type PublicConversationDto,
  SHARE_DAYS_DEFAULT,
  type ShareLinkDto,
} from "./sharing.schemas";

/** The shape of `randomToken()`: 32 bytes as base64url. Anything else is 404 without a query. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The token's identity: enough for visibility and ownership (the role plays no part in them). */
type Viewer = Pick<ConversationCaller, "userId" | "workspaceId">;

const shareNotFound = () => new ApiError("NOT_FOUND", "No such share link.");
/** The one answer of GET /p/{token} for unknown, expired, revoked and no-longer-shared links. */
const publicNotFound = () =>
  new ApiError("NOT_FOUND", "This link does not exist or no longer works.", { headers: PUBLIC_HEADERS });

/** Headers of every /p/ answer, refusals included: never cached, never leaked through a Referer. */
export const PUBLIC_HEADERS = { "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" };

export function toShareLinkDto(row: ShareLink, now = Date.now()): ShareLinkDto {
  return {
    id: row.id,
    leafMessageId: row.leafMessageId,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    active: row.revokedAt === null && row.expiresAt.getTime() > now,
    viewCount: row.viewCount,
    lastViewedAt: row.lastViewedAt?.toISOString() ?? null,
  };
}

/**
 * Owner only, SHARED conversations only (409 CONVERSATION_NOT_SHARED), with at least one message (the link
 * freezes the current leaf). Audited SHARED_LINK_CREATED.
 */
export async function createShareLink(
  deps: Deps,
  caller: Viewer,
  conversationId: string,
  input: { expiresInDays?: number },
): Promise<CreatedShareDto> {
  const token = randomToken();
  const tokenHash = await hashToken(token);
  const days = input.expiresInDays ?? SHARE_DAYS_DEFAULT;
  const id = newId();
  // Two round trips behind requireAuthForWrite: the lock (with the session check), then the insert and its
  // audit together with COMMIT.
  const outcome = await deps.db.transaction(async (tx) => {
    // The lock orders this against a concurrent switch to PRIVATE (which revokes links).
    const conversation = await requireConversation(tx, caller, conversationId, { owner: true, lock: true });
    if (conversation.visibility !== "SHARED") {
      throw new ApiError("CONVERSATION_NOT_SHARED", "Share the conversation with the workspace first.");
    }
    if (!conversation.currentLeafId) {
      throw new ApiError("VALIDATION_FAILED", "The request is invalid.", {
        errors: [{ path: "(conversation)", message: "The conversation has no messages to share yet." }],
      });
    }
    return lastStatements(tx, [
      insertShareLink(tx, {
        id,
        workspaceId: caller.workspaceId,
        conversationId: conversation.id,
        leafMessageId: conversation.currentLeafId,
        tokenHash,
        createdBy: caller.userId,
        days,
      }),
      recordAudit(deps, tx, {
        type: "SHARED_LINK_CREATED",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "share_link",
        targetId: id,
        data: {
          via: "POST /api/conversations/{id}/share",
          conversationId: conversation.id,
          leafMessageId: conversation.currentLeafId,
          expiresInDays: days,
        },
      }),
    ]);
  });
  const [[row]] = await outcome.results;
  if (!row) throw new Error("share link insert returned nothing");
  return {
    id,
    url: new URL(`/p/${token}`, deps.config.APP_BASE_URL).toString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}

/**
 * Owner, or the workspace ADMIN (the checked role), else 403; the conversation was found visible. Waits for
 * the session check, which arrives with the first flight (it was written first): no round trip of its own.
 */
async function assertOwnerOrAdmin(caller: PendingCaller, conversation: Conversation): Promise<void> {
  const { role } = await caller.authorized();
  if (conversation.ownerId !== caller.userId && role !== "ADMIN") throw notTheOwner();
}

/**
 * Every link of the conversation, newest first (never a token or URL). Owner or admin. One round trip: the
 * visibility lookup and the links travel with the session check (the links are scoped to the caller's
 * workspace and dropped with a 404 or 403).
 */
export async function listShareLinks(
  deps: Pick<Deps, "db">,
  caller: PendingCaller,
  conversationId: string,
): Promise<{ items: ShareLinkDto[] }> {
  if (!isUuid(conversationId)) throw conversationNotFound();
  const id = conversationId.toLowerCase();
  const [conversation, rows] = await Promise.all([
    requireConversation(deps.db, caller, id),
    shareLinksOf(deps.db, caller.workspaceId, id),
  ]);
  await assertOwnerOrAdmin(caller, conversation);
  const now = Date.now();
  return { items: rows.map((row) => toShareLinkDto(row, now)) };
}

/**
 * Revokes one link (owner or admin); revoking a revoked link changes nothing. Audited SHARED_LINK_REVOKED.
 * Two round trips behind requireAuthForWrite: the lock and the link (with the session check), then the
 * revocation and its audit together with COMMIT.
 */
export async function revokeShareLink(
  deps: Deps,
  caller: PendingCaller,
  conversationId: string,
  shareId: string,
): Promise<void> {
  if (!isUuid(conversationId)) throw conversationNotFound();
  const id = conversationId.toLowerCase();
  await deps.db.transaction(async (tx) => {
    const [conversation, link] = await Promise.all([
      requireConversation(tx, caller, id, { lock: true }),
      isUuid(shareId) ? findShareLink(tx, caller.workspaceId, id, shareId.toLowerCase()) : null,
    ]);
    await assertOwnerOrAdmin(caller, conversation);
    if (!link) throw shareNotFound();
    if (link.revokedAt) return;
    return lastStatements(tx, [
      revokeShareLinks(tx, caller.workspaceId, [link.id]),
      recordAudit(deps, tx, {
        type: "SHARED_LINK_REVOKED",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "share_link",
        targetId: link.id,
        data: {
          via: "DELETE /api/conversations/{id}/shares/{shareId}",
          conversationId: conversation.id,
          byAdmin: conversation.ownerId !== caller.userId,
        },
      }),
    ]);
  });
}

/**
 * The public view of a link, one statement (store/shared-view.ts): counts the view,
 * audits SHARED_LINK_ACCESSED and returns the frozen branch; the same 404 for every failure.
 */
export async function viewSharedConversation(deps: Deps, token: string): Promise<PublicConversationDto> {
  if (!TOKEN_PATTERN.test(token)) throw publicNotFound();
  const [view] = await rawRows<SharedViewRow>(deps.db, sharedViewStatement(deps, await hashToken(token)));
  if (!view) throw publicNotFound();
  return {
    title: view.title,
    persona: view.persona,
    messages: view.messages.map((m) => ({ ...m, createdAt: rowDate(m.createdAt).toISOString() })),
    expiresAt: rowDate(view.expiresAt).toISOString(),
  };
}
