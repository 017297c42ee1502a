/**
 * LIKE / DISLIKE per user per message: the same type again removes it, the other type replaces it. Anyone who
 * can see the conversation may react (its owner, or any member when SHARED); anyone else gets 404.
 */
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { ReactionType } from "../../db/schema";
import type { GuardedWrite } from "../../middleware/guarded-write";
import { type ReactionOutcome, reactionStatement } from "../conversations/store/changes";
import type { ReactionStateDto } from "./messages.schemas";

export const messageNotFound = () => new ApiError("NOT_FOUND", "No such message.");

/** Toggles the caller's reaction in one self-guarded statement; audited REACTION_ADDED / REACTION_REMOVED. */
export async function toggleReaction(
  deps: Deps,
  write: GuardedWrite,
  messageId: string,
  type: ReactionType,
): Promise<ReactionStateDto> {
  if (!isUuid(messageId)) throw messageNotFound();
  const outcome = await write.run<ReactionOutcome>(
    reactionStatement(deps, write.caller, messageId.toLowerCase(), type),
  );
  if (!outcome) throw messageNotFound();
  // The counts are the statement's snapshot, before its own change: apply it.
  const counts = { LIKE: outcome.likes, DISLIKE: outcome.dislikes };
  if (outcome.previous) counts[outcome.previous] -= 1;
  const result = outcome.removed ? null : type;
  if (result) counts[result] += 1;
  return { type: result, counts };
}
