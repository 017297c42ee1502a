/**
 * Idempotent demo data for `npm run dev`: a corporate workspace with an ADMIN and a MEMBER, and three global
 * personas wired to the local demo webhook. Safe to run on every start: existing rows are kept, and the
 * personas' webhook URLs are refreshed because the demo webhook gets a new free port each run.
 * Uses the same crypto (src/core/crypto.ts) and argon2id parameters as the Worker.
 */
import initializeArgon2 from "@phi-ag/argon2/node";
import postgres from "postgres";
import { uuidv7 } from "uuidv7";
import { bytesToBase64, encrypt } from "../src/core/crypto.ts";
import { ARGON2_OPTIONS } from "../src/core/password-params.ts";

export const DEMO_DOMAIN = "acme.example";
export const DEMO_USERS = [
  { email: `admin@${DEMO_DOMAIN}`, name: "Ada Admin", role: "ADMIN", password: "Demo-Admin-Pass-2026!" },
  { email: `member@${DEMO_DOMAIN}`, name: "Max Member", role: "MEMBER", password: "Demo-Member-Pass-2026!" },
] as const;

const DEMO_PERSONAS = [
  {
    slug: "sales-coach",
    name: "Sales Coach",
    personalName: "Sam",
    roleTitle: "VP of Sales",
    about: "Twenty years of B2B sales; helps you sharpen pitches and handle objections.",
    traits: ["direct", "encouraging", "numbers-driven"],
    painPoints: ["long sales cycles", "unqualified leads"],
    coreExpertise: ["discovery calls", "negotiation", "pipeline reviews"],
    keyResponsibilities: ["coach account executives", "forecast revenue"],
    communicationStyle: "Short, concrete, always ends with a next step.",
  },
  {
    slug: "product-strategist",
    name: "Product Strategist",
    personalName: "Priya",
    roleTitle: "Head of Product",
    about: "Turns customer problems into roadmaps; asks why before what.",
    traits: ["curious", "structured", "customer-obsessed"],
    painPoints: ["feature creep", "unclear priorities"],
    coreExpertise: ["discovery", "prioritisation", "pricing"],
    keyResponsibilities: ["own the roadmap", "align stakeholders"],
    communicationStyle: "Socratic questions, then a crisp recommendation.",
  },
  {
    slug: "support-lead",
    name: "Support Lead",
    personalName: "Lee",
    roleTitle: "Customer Support Lead",
    about: "Calm under pressure; writes replies customers actually like.",
    traits: ["patient", "empathetic", "precise"],
    painPoints: ["ticket backlogs", "angry customers"],
    coreExpertise: ["de-escalation", "knowledge bases", "SLAs"],
    keyResponsibilities: ["run the support queue", "train new agents"],
    communicationStyle: "Warm, plain language, step-by-step.",
  },
];

export type SeedOptions = { databaseUrl: string; encryptionKey: string; webhookBaseUrl: string };

export async function seedDemo({ databaseUrl, encryptionKey, webhookBaseUrl }: SeedOptions): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const argon2 = await initializeArgon2();
  try {
    await sql.begin(async (tx) => {
      const [workspace] = await tx<{ id: string }[]>`
        INSERT INTO workspaces (id, name, domain, kind)
        VALUES (${uuidv7()}, 'Acme Corp', ${DEMO_DOMAIN}, 'CORPORATE')
        ON CONFLICT (domain) DO UPDATE SET updated_at = workspaces.updated_at
        RETURNING id`;
      for (const user of DEMO_USERS) {
        const hash = argon2.hash(user.password, ARGON2_OPTIONS).encoded;
        await tx`
          INSERT INTO users (id, workspace_id, email, name, password_hash, status, role, email_verified_at)
          VALUES (${uuidv7()}, ${workspace?.id ?? null}, ${user.email}, ${user.name}, ${hash}, 'ACTIVE', ${user.role}, now())
          ON CONFLICT (email) DO NOTHING`;
      }
      for (const persona of DEMO_PERSONAS) {
        const [existing] = await tx<{ id: string }[]>`
          SELECT id FROM personas WHERE workspace_id IS NULL AND slug = ${persona.slug}`;
        const id = existing?.id ?? uuidv7();
        // Encryption context = persona id, so a ciphertext copied onto another persona does not decrypt.
        const url = await encrypt(
          encryptionKey,
          "webhook-url",
          `${webhookBaseUrl}/persona/${persona.slug}`,
          id,
        );
        const secret = `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
        const secretEncrypted = await encrypt(encryptionKey, "webhook-secret", secret, id);
        if (existing) {
          await tx`UPDATE personas SET webhook_url_encrypted = ${url} WHERE id = ${id}`;
          continue;
        }
        await tx`
          INSERT INTO personas (id, slug, name, personal_name, role_title, about, traits, pain_points, core_expertise,
            key_responsibilities, communication_style, webhook_url_encrypted, webhook_secret_encrypted)
          VALUES (${id}, ${persona.slug}, ${persona.name}, ${persona.personalName}, ${persona.roleTitle},
            ${persona.about}, ${tx.json(persona.traits)}, ${tx.json(persona.painPoints)},
            ${tx.json(persona.coreExpertise)}, ${tx.json(persona.keyResponsibilities)},
            ${persona.communicationStyle}, ${url}, ${secretEncrypted})`;
      }
    });
  } finally {
    await sql.end();
  }
}
