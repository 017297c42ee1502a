import { z } from "@hono/zod-openapi";

export const AdminUserParam = z.object({
  // A plain string: a malformed id is the same 404 as an unknown one.
  id: z
    .string()
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" }),
});

const count = (description: string, example = 0) => z.number().int().openapi({ description, example });

export const DailyActivitySchema = z
  .object({
    date: z.string().openapi({ example: "2026-11-30", description: "UTC day" }),
    messagesSent: count("Messages members sent that day", 42),
    activeMembers: count("Distinct members who sent a message that day", 7),
  })
  .openapi("DailyActivity");

export const AdminStatsSchema = z
  .object({
    members: z.object({
      total: count("Every user of the workspace", 12),
      byStatus: z.object({
        ACTIVE: count("", 10),
        DEACTIVATED: count("", 1),
        PENDING_DELETION: count("", 1),
      }),
      byRole: z.object({ ADMIN: count("", 2), MEMBER: count("", 10) }),
      activeAdmins: count("ACTIVE users with the ADMIN role", 2),
    }),
    conversations: count("Conversations not deleted", 80),
    messages: count("Messages of those conversations (both sides)", 1500),
    activePersonas: z.object({
      total: count("Active personas members can chat with", 5),
      workspace: count("Of which the workspace's own", 2),
      global: count("Of which the global catalogue's", 3),
    }),
    activity: z.object({
      since: z.iso
        .datetime()
        .openapi({ description: "Start (UTC midnight) of the 30-day window, today included" }),
      messagesSent: count("Messages members sent in the window", 420),
      activeMembers: count("Distinct members who sent a message in the window", 9),
      conversationsCreated: count("Conversations started in the window", 25),
      signedInMembers: count("Users whose last sign-in is in the window", 11),
      newMembers: count("Users who joined in the window", 2),
      daily: z.array(DailyActivitySchema).openapi({ description: "30 entries, oldest first" }),
    }),
  })
  .openapi("AdminStats");
export type AdminStatsDto = z.infer<typeof AdminStatsSchema>;
