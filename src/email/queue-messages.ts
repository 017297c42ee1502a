import { z } from "zod";

/**
 * Bodies on EMAIL_QUEUE: only the id of an `email_deliveries` row (never addresses or secrets — the row holds
 * them, secret parameters encrypted). A zod union so new message kinds can be added safely.
 */
export const EmailQueueMessage = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("email"), deliveryId: z.uuid() }),
]);
export type EmailQueueMessage = z.infer<typeof EmailQueueMessage>;
