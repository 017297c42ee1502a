/**
 * Applies the drizzle-kit migrations in ./migrations to DATABASE_URL (`npm run db:migrate`).
 * `applyMigrations` is also used by the dev script, the seed and the test globalSetup. Already-applied
 * migrations are skipped (drizzle records them in drizzle.__drizzle_migrations), so running it twice is safe.
 */
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));

/** Applies every pending migration to the database at `url`, then closes its connection. */
export async function applyMigrations(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.end();
  }
}

// Run as a CLI only, not when imported.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write(
      "DATABASE_URL is not set, e.g. DATABASE_URL=postgres://postgres:postgres@127.0.0.1:54329/persona npm run db:migrate\n",
    );
    process.exit(1);
  }
  try {
    await applyMigrations(url);
    process.stdout.write("migrations applied\n");
  } catch (error) {
    process.stderr.write(`migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
