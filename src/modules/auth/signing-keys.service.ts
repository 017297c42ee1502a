/**
 * Access-token signing keys (DESIGN.md "Secrets and tokens"). RS256 key pairs live in `signing_keys` with the
 * private JWK encrypted under the "signing-key" subkey. Lifecycle: NEXT (published, signs nothing) → CURRENT
 * (signs) → PREVIOUS (published until `retire_after`) → RETIRED. Publishing NEXT ahead of its promotion is what
 * lets verifiers and JWKS consumers cache keys: by the time a key signs, every cache already knows it.
 *
 * Each isolate caches the published keys as a settled value for KEY_CACHE_TTL_MS (never a promise shared
 * between requests: a request's work may be cancelled, and a shared pending promise would poison the others).
 */
import { and, eq, gt, inArray, lte, or, sql } from "drizzle-orm";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from "jose";
import { decrypt, encrypt } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { type DbOrTx, lastStatements } from "../../db/client";
import { type SigningKeyStatus, signingKeys } from "../../db/schema";
import type { Config } from "../../env";
import { recordAudit } from "../audit/audit.service";

/** Access-token lifetime (CONFIG.md "Lifetimes": 15 min). */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
/** How long an isolate trusts its cached key set before re-reading it (DESIGN.md: ≤ 60 s). */
export const KEY_CACHE_TTL_MS = 60_000;
/** An unknown kid re-reads the keys at most this often, so random kids cannot hammer the database. */
export const UNKNOWN_KID_RELOAD_INTERVAL_MS = 5_000;
/** CONFIG.md: rotate every 30 days. */
export const ROTATION_INTERVAL_DAYS = 30;
/**
 * How long a PREVIOUS key stays published. It must outlive every token it signed: the token lifetime, plus a
 * cache TTL during which another isolate may still sign with it, plus clock-skew margin — and CONFIG.md asks
 * for at least one hour.
 */
export const PREVIOUS_KEY_GRACE_SECONDS = Math.max(
  3600,
  ACCESS_TOKEN_TTL_SECONDS + KEY_CACHE_TTL_MS / 1000 + 5 * 60,
);

export const SIGNING_ALGORITHM = "RS256";

/** The public half of a key, exactly as JWKS publishes it. */
export type PublicSigningJwk = { kty: "RSA"; n: string; e: string; kid: string; alg: "RS256"; use: "sig" };
export type Jwks = { keys: PublicSigningJwk[] };
export type RotationResult = { currentKid: string; previousKid: string };
type PublishedStatus = Exclude<SigningKeyStatus, "RETIRED">;

/** A published key row as read from the database (only CURRENT needs its private part). */
export type PublishedKeyRow = {
  kid: string;
  status: SigningKeyStatus;
  publicJwk: PublicSigningJwk;
  privateJwkEncrypted: string;
  retireAfter: Date | null;
};

type CachedKey = {
  kid: string;
  status: PublishedStatus;
  jwk: PublicSigningJwk;
  verifyKey: CryptoKey;
  retireAfter: number | null;
};
type KeySet = { keys: CachedKey[]; current: { kid: string; privateJwkEncrypted: string }; loadedAt: number };

// Per-isolate, settled values only.
let keySet: KeySet | undefined;
let signer: { kid: string; privateKey: CryptoKey } | undefined;
let lastLoadStartedAt = 0;

const STATUS_ORDER: Record<PublishedStatus, number> = { CURRENT: 0, NEXT: 1, PREVIOUS: 2 };

/** Published = NEXT, CURRENT, or PREVIOUS not yet past `retire_after` (decided by the database clock). */
const publishedWhere = or(
  inArray(signingKeys.status, ["NEXT", "CURRENT"]),
  and(eq(signingKeys.status, "PREVIOUS"), gt(signingKeys.retireAfter, sql`now()`)),
);

async function readPublishedKeys(db: DbOrTx): Promise<PublishedKeyRow[]> {
  const rows = await db
    .select({
      kid: signingKeys.kid,
      status: signingKeys.status,
      publicJwk: signingKeys.publicJwk,
      privateJwkEncrypted: signingKeys.privateJwkEncrypted,
      retireAfter: signingKeys.retireAfter,
    })
    .from(signingKeys)
    .where(publishedWhere);
  return rows.map((row) => ({ ...row, publicJwk: row.publicJwk as PublicSigningJwk }));
}

/** A fresh RS256 key pair: kid = RFC 7638 thumbprint, private JWK encrypted with the kid bound as context. */
async function generateKeyMaterial(config: Pick<Config, "ENCRYPTION_KEY">) {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const pub = await exportJWK(publicKey);
  const priv = await exportJWK(privateKey);
  if (!pub.n || !pub.e) throw new Error("generated RSA key has no modulus/exponent");
  const kid = await calculateJwkThumbprint({ kty: "RSA", n: pub.n, e: pub.e });
  const publicJwk: PublicSigningJwk = { kty: "RSA", n: pub.n, e: pub.e, kid, alg: "RS256", use: "sig" };
  // Only the key parameters: WebCrypto's `ext`/`key_ops` would make the re-imported key extractable.
  const { kty, n, e, d, p, q, dp, dq, qi } = priv;
  const privateJwkEncrypted = await encrypt(
    config.ENCRYPTION_KEY,
    "signing-key",
    JSON.stringify({ kty, n, e, d, p, q, dp, dq, qi }),
    kid,
  );
  return { kid, publicJwk, privateJwkEncrypted };
}

/**
 * Reads the published keys and, when there is no CURRENT or no NEXT (first start), creates the missing ones.
 * Race-safe: every isolate may run this at once; the inserts use ON CONFLICT DO NOTHING against the partial
 * unique indexes (one CURRENT, one NEXT), and the re-read returns whichever rows won. Does not touch the
 * isolate cache, so it can be pointed at any database. Normally one query.
 */
export async function ensureSigningKeys(deps: Pick<Deps, "db" | "config">): Promise<PublishedKeyRow[]> {
  const rows = await readPublishedKeys(deps.db);
  const missing = (["CURRENT", "NEXT"] as const).filter((status) => !rows.some((r) => r.status === status));
  if (missing.length === 0) return rows;
  const created = await Promise.all(
    missing.map(async (status) => ({
      ...(await generateKeyMaterial(deps.config)),
      status,
      ...(status === "CURRENT" ? { activatedAt: sql`now()` } : {}),
    })),
  );
  // No conflict target: every unique index arbitrates, so a row losing the race on either partial index is
  // skipped instead of failing the statement.
  await deps.db.insert(signingKeys).values(created).onConflictDoNothing();
  return readPublishedKeys(deps.db);
}

async function buildKeySet(rows: PublishedKeyRow[], previous: KeySet | undefined): Promise<KeySet> {
  const current = rows.find((r) => r.status === "CURRENT");
  if (!current) throw new Error("no CURRENT signing key after bootstrap");
  const keys: CachedKey[] = [];
  for (const row of rows) {
    if (row.status === "RETIRED") continue;
    // Re-importing is cheap but not free; keys rarely change between loads.
    const known = previous?.keys.find((k) => k.kid === row.kid);
    const verifyKey = known?.verifyKey ?? ((await importJWK(row.publicJwk, SIGNING_ALGORITHM)) as CryptoKey);
    keys.push({
      kid: row.kid,
      status: row.status,
      jwk: toPublicJwk(row.publicJwk),
      verifyKey,
      retireAfter: row.retireAfter?.getTime() ?? null,
    });
  }
  keys.sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status]);
  return {
    keys,
    current: { kid: current.kid, privateJwkEncrypted: current.privateJwkEncrypted },
    loadedAt: Date.now(),
  };
}

/** Never trust the stored JSON to carry only public members: copy exactly the published ones. */
const toPublicJwk = (jwk: PublicSigningJwk): PublicSigningJwk => ({
  kty: "RSA",
  n: jwk.n,
  e: jwk.e,
  kid: jwk.kid,
  alg: "RS256",
  use: "sig",
});

async function loadKeySet(deps: Pick<Deps, "db" | "config">, refresh = false): Promise<KeySet> {
  const cached = keySet;
  if (cached && !refresh && Date.now() - cached.loadedAt < KEY_CACHE_TTL_MS) return cached;
  lastLoadStartedAt = Date.now();
  const loaded = await buildKeySet(await ensureSigningKeys(deps), cached);
  keySet = loaded;
  return loaded;
}

const isPublished = (key: CachedKey, now: number) =>
  key.status !== "PREVIOUS" || (key.retireAfter !== null && key.retireAfter > now);

/**
 * The public key for `kid` if it is published (NEXT included: a verifier whose cache predates a rotation
 * knows the new CURRENT as NEXT). An unknown kid re-reads the keys, at most once per
 * UNKNOWN_KID_RELOAD_INTERVAL_MS per isolate. Returns null when the kid is not published.
 */
export async function verificationKey(
  deps: Pick<Deps, "db" | "config">,
  kid: string,
): Promise<CryptoKey | null> {
  let set = await loadKeySet(deps);
  let key = set.keys.find((k) => k.kid === kid && isPublished(k, Date.now()));
  if (!key && Date.now() - lastLoadStartedAt >= UNKNOWN_KID_RELOAD_INTERVAL_MS) {
    set = await loadKeySet(deps, true);
    key = set.keys.find((k) => k.kid === kid && isPublished(k, Date.now()));
  }
  return key?.verifyKey ?? null;
}

/** The CURRENT key's id and private CryptoKey (non-extractable), decrypted once per key per isolate. */
export async function getSigningKey(
  deps: Pick<Deps, "db" | "config">,
): Promise<{ kid: string; privateKey: CryptoKey }> {
  const set = await loadKeySet(deps);
  const cached = signer;
  if (cached?.kid === set.current.kid) return cached;
  const json = await decrypt(
    deps.config.ENCRYPTION_KEY,
    "signing-key",
    set.current.privateJwkEncrypted,
    set.current.kid,
  );
  const privateKey = (await importJWK(JSON.parse(json), SIGNING_ALGORITHM, {
    extractable: false,
  })) as CryptoKey;
  const loaded = { kid: set.current.kid, privateKey };
  signer = loaded;
  return loaded;
}

/** JWKS document: NEXT, CURRENT and every PREVIOUS not past `retire_after`; public members only. */
export async function getJwks(deps: Pick<Deps, "db" | "config">): Promise<Jwks> {
  const set = await loadKeySet(deps);
  const now = Date.now();
  return { keys: set.keys.filter((k) => isPublished(k, now)).map((k) => k.jwk) };
}

/** Forgets this isolate's cached keys (after a rotation here; other isolates catch up within the TTL). */
export function invalidateSigningKeyCache(): void {
  keySet = undefined;
  signer = undefined;
  lastLoadStartedAt = 0;
}

/**
 * Rotates the keys in one transaction: PREVIOUS keys past `retire_after` → RETIRED; CURRENT → PREVIOUS
 * (published PREVIOUS_KEY_GRACE_SECONDS more, so tokens it signed keep verifying until they expire);
 * NEXT → CURRENT; a new NEXT; audit SIGNING_KEY_ROTATED (actor USER, or SYSTEM for the cron job) in the same
 * transaction. Invalidates this isolate's cache.
 */
export async function rotateSigningKeys(
  deps: Deps,
  actor: { userId: string; authorized: () => Promise<unknown> } | null,
): Promise<RotationResult> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const result = await deps.db.transaction(async (tx) => {
      // Two round trips on the route (requireAuthForWrite): the lock and the reads travel with the session
      // check, the changes and their audit go with COMMIT. A caller the check refuses holds the lock until
      // that answer arrives (the same flight) and changes nothing.
      // Serialises rotations. Row locks alone are not enough: a second rotation blocked on FOR UPDATE would,
      // once released, not see the NEXT the first one inserted (READ COMMITTED re-checks only rows already in
      // its snapshot) and would find no NEXT to promote. Plain reads (verification, JWKS) are not blocked.
      const [, live, due] = await Promise.all([
        tx.execute(sql`LOCK TABLE ${signingKeys} IN SHARE ROW EXCLUSIVE MODE`),
        tx
          .select({ kid: signingKeys.kid, status: signingKeys.status })
          .from(signingKeys)
          .where(inArray(signingKeys.status, ["NEXT", "CURRENT"]))
          .for("update"),
        // The lock keeps this set as read until COMMIT.
        tx
          .select({ kid: signingKeys.kid })
          .from(signingKeys)
          .where(and(eq(signingKeys.status, "PREVIOUS"), lte(signingKeys.retireAfter, sql`now()`))),
      ]);
      const current = live.find((k) => k.status === "CURRENT");
      const next = live.find((k) => k.status === "NEXT");
      if (!current || !next) return null; // an empty table: bootstrap the pair first (below)
      // RSA generation is CPU work a caller may cause only once its session check passed (it arrived with the
      // reads above: it was written first).
      await actor?.authorized();
      const fresh = await generateKeyMaterial(deps.config);
      const retiredKids = due.map((r) => r.kid);
      // Order matters: the partial unique indexes are checked per statement.
      lastStatements(tx, [
        ...(retiredKids.length
          ? [tx.update(signingKeys).set({ status: "RETIRED" }).where(inArray(signingKeys.kid, retiredKids))]
          : []),
        tx
          .update(signingKeys)
          .set({
            status: "PREVIOUS",
            retireAfter: sql`now() + ${`${PREVIOUS_KEY_GRACE_SECONDS} seconds`}::interval`,
          })
          .where(eq(signingKeys.kid, current.kid)),
        tx
          .update(signingKeys)
          .set({ status: "CURRENT", activatedAt: sql`now()` })
          .where(eq(signingKeys.kid, next.kid)),
        tx.insert(signingKeys).values({ ...fresh, status: "NEXT" }),
        recordAudit(deps, tx, {
          type: "SIGNING_KEY_ROTATED",
          workspaceId: null,
          actorUserId: actor?.userId ?? null,
          actorType: actor ? "USER" : "SYSTEM",
          targetType: "signing_key",
          targetId: next.kid,
          data: { currentKid: next.kid, previousKid: current.kid, nextKid: fresh.kid, retiredKids },
        }),
      ]);
      return { currentKid: next.kid, previousKid: current.kid };
    });
    if (result) {
      invalidateSigningKeyCache();
      return result;
    }
    // A rotation on an empty table starts from a bootstrapped pair (a first start; not the steady state).
    await actor?.authorized();
    await ensureSigningKeys(deps);
  }
  throw new Error("signing keys: no CURRENT/NEXT pair to rotate");
}

/** True when the CURRENT key was activated ≥ ROTATION_INTERVAL_DAYS ago (or there is none yet). */
export async function isRotationDue(deps: Pick<Deps, "db">): Promise<boolean> {
  const [row] = await deps.db
    .select({
      due: sql<boolean>`${signingKeys.activatedAt} <= now() - ${`${ROTATION_INTERVAL_DAYS} days`}::interval`,
    })
    .from(signingKeys)
    .where(eq(signingKeys.status, "CURRENT"));
  return row ? row.due : true;
}
