/**
 * Cron expression → job names (CONFIG.md "Cron schedule"); the functions are in jobs.ts, run by runner.ts.
 */
export const CRON_SCHEDULE = {
  "*/15 * * * *": ["tokens", "files", "sessions", "shares", "chat-runs", "emails"],
  "0 3 * * *": [
    "unverified-accounts",
    "account-purge",
    "workspace-purge",
    "conversation-purge",
    "key-rotation",
    "retention",
  ],
  "0 4 * * 0": ["orphan-objects"],
} as const satisfies Record<string, readonly string[]>;

export type CronExpression = keyof typeof CRON_SCHEDULE;
export type JobName = (typeof CRON_SCHEDULE)[CronExpression][number];

/** The jobs a cron expression runs; an expression not in wrangler.toml runs nothing. */
export function jobsFor(cron: string): readonly JobName[] {
  return (CRON_SCHEDULE as Record<string, readonly JobName[]>)[cron] ?? [];
}
