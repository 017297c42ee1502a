/**
 * Bulk seed for `npm run bench`: one large and one small CORPORATE workspace, written with set-based SQL
 * (generate_series, multi-row inserts) so 100k messages take seconds. Every id is derived from a label with
 * `bench_uuid()` (md5 shaped as a v4 UUID, so zod's uuid check accepts it): the runner can name any row without
 * reading it back. All members share one argon2id hash (hashing 10k passwords would take minutes).
 *
 * Per workspace: members m1..mN (`m<i>@<domain>`, m1 is ADMIN), personas p1..pP wired to the bench webhook,
 * conversations c1..cC owned round-robin by the members (odd ones SHARED) with persona p((n-1) % P + 1), each a
 * linear USER/ASSISTANT chain; c1 carries the long branch (200 messages by default).
 */
import { createHash as nodeHash } from "node:crypto";
import initializeArgon2 from "@phi-ag/argon2/node";
import postgres from "postgres";
import { bytesToBase64, encrypt } from "../../src/core/crypto.ts";
import { ARGON2_OPTIONS } from "../../src/core/password-params.ts";

export const BENCH_PASSWORD = "Bench-Password-2026!";

export type WorkspaceSize = {
  /** Domain and label prefix (`large`, `small`). */
  label: string;
  members: number;
  conversations: number;
  /** Total messages; c1 gets `branch` of them, the rest are spread evenly. */
  messages: number;
  personas: number;
  branch: number;
};

export type SeededWorkspace = WorkspaceSize & {
  workspaceId: string;
  domain: string;
  messagesInserted: number;
  email: (member: number) => string;
  conversationId: (n: number) => string;
  personaId: (n: number) => string;
  /** Persona of conversation n. */
  personaOf: (n: number) => number;
};

/** Same formula as the SQL function, for the runner. */
export function benchUuid(label: string): string {
  const h = createHash(label);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function createHash(label: string): string {
  return nodeHash("md5").update(label).digest("hex");
}

const UUID_FUNCTION = `
CREATE OR REPLACE FUNCTION bench_uuid(t text) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
  SELECT (substr(h, 1, 12) || '4' || substr(h, 14, 3) || '8' || substr(h, 18, 15))::uuid FROM md5(t) AS h
$$`;

export async function seedBench(options: {
  databaseUrl: string;
  encryptionKey: string;
  webhookBaseUrl: string;
  workspaces: WorkspaceSize[];
  log?: (message: string) => void;
}): Promise<SeededWorkspace[]> {
  const log = options.log ?? (() => {});
  const sql = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
  const argon2 = await initializeArgon2();
  const hash = argon2.hash(BENCH_PASSWORD, ARGON2_OPTIONS).encoded;
  const seeded: SeededWorkspace[] = [];
  try {
    await sql.unsafe(UUID_FUNCTION);
    for (const size of options.workspaces) {
      const started = Date.now();
      const { label } = size;
      const domain = `bench-${label}.example`;
      const workspaceId = benchUuid(`${label}:workspace`);
      const perConversation = Math.max(
        1,
        Math.round((size.messages - size.branch) / Math.max(1, size.conversations - 1)),
      );
      const personaIds = Array.from({ length: size.personas }, (_, i) => benchUuid(`${label}:p${i + 1}`));
      const personaRows = await Promise.all(
        personaIds.map(async (id, i) => ({
          id,
          workspace_id: workspaceId,
          slug: `bench-p${i + 1}`,
          name: `Bench Persona ${i + 1}`,
          role_title: "Benchmark persona",
          about: "Answers through the zero-latency bench webhook.",
          webhook_url_encrypted: await encrypt(
            options.encryptionKey,
            "webhook-url",
            `${options.webhookBaseUrl}/bench/${label}/p${i + 1}`,
            id,
          ),
          webhook_secret_encrypted: await encrypt(
            options.encryptionKey,
            "webhook-secret",
            `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`,
            id,
          ),
        })),
      );
      const counts = await sql.begin(async (tx) => {
        await tx`
          INSERT INTO workspaces (id, name, domain, kind)
          VALUES (${workspaceId}, ${`Bench ${label}`}, ${domain}, 'CORPORATE')`;
        await tx`
          INSERT INTO users (id, workspace_id, email, name, password_hash, status, role, email_verified_at)
          SELECT bench_uuid(${label}::text || ':u' || i), ${workspaceId}::uuid, 'm' || i || '@' || ${domain}::text,
            'Member ' || i, ${hash}::text, 'ACTIVE', CASE WHEN i = 1 THEN 'ADMIN' ELSE 'MEMBER' END::user_role,
            now()
          FROM generate_series(1, ${size.members}::int) AS i`;
        await tx`INSERT INTO personas ${tx(personaRows)}`;
        // n = conversation number; len = its message count; c1 carries the long branch.
        await tx`
          INSERT INTO conversations (id, workspace_id, owner_id, persona_id, title, visibility, last_message_at,
            created_at, message_count)
          SELECT bench_uuid(${label}::text || ':c' || n), ${workspaceId}::uuid,
            bench_uuid(${label}::text || ':u' || ((n - 1) % ${size.members}::int + 1)),
            bench_uuid(${label}::text || ':p' || ((n - 1) % ${size.personas}::int + 1)),
            'Conversation ' || n,
            CASE WHEN n % 2 = 1 THEN 'SHARED' ELSE 'PRIVATE' END::visibility,
            now() - n * interval '1 minute', now() - n * interval '1 minute' - interval '1 day',
            CASE WHEN n = 1 THEN ${size.branch}::int ELSE ${perConversation}::int END
          FROM generate_series(1, ${size.conversations}::int) AS n`;
        const inserted = await tx`
          INSERT INTO messages (id, workspace_id, conversation_id, parent_id, role, author_id, content, status,
            created_at)
          SELECT bench_uuid(${label}::text || ':c' || n || ':m' || k), ${workspaceId}::uuid, bench_uuid(${label}::text || ':c' || n),
            CASE WHEN k = 1 THEN NULL ELSE bench_uuid(${label}::text || ':c' || n || ':m' || (k - 1)) END,
            CASE WHEN k % 2 = 1 THEN 'USER' ELSE 'ASSISTANT' END::message_role,
            CASE WHEN k % 2 = 1 THEN bench_uuid(${label}::text || ':u' || ((n - 1) % ${size.members}::int + 1)) END,
            'Message ' || k || ' of conversation ' || n || ': how would you approach the next quarter''s '
              || 'pipeline review, given the numbers we discussed?',
            'COMPLETE',
            now() - n * interval '1 minute' - (len - k) * interval '1 second'
          FROM (SELECT n, CASE WHEN n = 1 THEN ${size.branch}::int ELSE ${perConversation}::int END AS len
                FROM generate_series(1, ${size.conversations}::int) AS n) AS c,
            generate_series(1, c.len) AS k`;
        await tx`
          UPDATE conversations AS c
          SET current_leaf_id = bench_uuid(${label}::text || ':c' || s.n || ':m' || c.message_count)
          FROM generate_series(1, ${size.conversations}::int) AS s(n)
          WHERE c.id = bench_uuid(${label}::text || ':c' || s.n)`;
        return inserted.count;
      });
      log(
        `seeded ${label}: ${size.members} members, ${size.personas} personas, ${size.conversations} conversations, ` +
          `${counts} messages in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      seeded.push({
        ...size,
        workspaceId,
        domain,
        messagesInserted: counts,
        email: (member) => `m${member}@${domain}`,
        conversationId: (n) => benchUuid(`${label}:c${n}`),
        personaId: (n) => benchUuid(`${label}:p${n}`),
        personaOf: (n) => ((n - 1) % size.personas) + 1,
      });
    }
    await sql.unsafe("ANALYZE");
  } finally {
    await sql.end();
  }
  return seeded;
}
