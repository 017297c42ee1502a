/**
 * What both resilience drills share: a small stack of their own (embedded Postgres, migrations, one seeded
 * workspace, the webhook fake in a child process, an SMTP sink, `wrangler dev`), a steady closed-loop load
 * that records every response, and the report helpers. Times in the reports are seconds since the drill
 * started.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type SeededWorkspace, seedBench, type WorkspaceSize } from "../bench/seed.ts";
import { type BenchWorker, login, onStop, root, stackVars, startBenchWorker } from "../bench/stack.ts";
import { startSmtpSink } from "../fakes/index.ts";
import { startJsonChild } from "../lib/child.ts";
import { freePort } from "../lib/ports.ts";
import { type PostgresOptions, type RunningPostgres, startPostgres } from "../lib/postgres.ts";
import { applyMigrations } from "../migrate.ts";
import { prepareAssets } from "../prepare-assets.ts";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type DrillStack = {
  out: string;
  /** The running Postgres; replaced by `restartPostgres`. */
  pg: RunningPostgres;
  stopPostgres: () => Promise<void>;
  /** Starts Postgres again on the same port and data directory. */
  restartPostgres: () => Promise<void>;
  webhookUrl: string;
  worker: BenchWorker;
  workspace: SeededWorkspace;
  /** Access tokens of members 1..n (member 1 is the workspace ADMIN). */
  tokens: string[];
};

export async function startDrillStack(options: {
  name: string;
  workspace: WorkspaceSize;
  signIn: number;
  vars?: Record<string, string>;
  log: (message: string) => void;
}): Promise<DrillStack> {
  const out = join(root, ".data", "drills", options.name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  prepareAssets();

  // Persistent data directory and synchronous commits: the outage drill stops and restarts this cluster and
  // then checks that every acknowledged write survived — so durability must be production-like.
  const pgOptions: PostgresOptions = {
    dataDir: join(out, "postgres"),
    port: await freePort(),
    database: "persona",
    persistent: true,
    fast: false,
  };
  let pg = await startPostgres(pgOptions);
  onStop(() => pg.stop());
  await applyMigrations(pg.url);

  const webhook = await startJsonChild(fileURLToPath(new URL("../bench/webhook-child.ts", import.meta.url)));
  onStop(webhook.stop);
  const smtp = await startSmtpSink();
  onStop(smtp.stop);
  const encryptionKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
  const [workspace] = await seedBench({
    databaseUrl: pg.url,
    encryptionKey,
    webhookBaseUrl: webhook.url,
    workspaces: [options.workspace],
    log: options.log,
  });
  if (!workspace) throw new Error("seed returned no workspace");
  const worker = await startBenchWorker({
    pgUrl: pg.url,
    vars: stackVars({ encryptionKey, smtpPort: smtp.smtpPort, extra: options.vars }),
    persistTo: join(out, "wrangler"),
    logFile: join(out, "worker.log"),
  });
  options.log(`wrangler dev at ${worker.baseUrl}; signing in ${options.signIn} members…`);
  const tokens: string[] = [];
  for (let i = 1; i <= options.signIn; i++) tokens.push(await login(worker.baseUrl, workspace.email(i)));

  const stack: DrillStack = {
    out,
    pg,
    stopPostgres: () => pg.stop(),
    restartPostgres: async () => {
      pg = await startPostgres(pgOptions);
      stack.pg = pg;
    },
    webhookUrl: webhook.url,
    worker,
    workspace,
    tokens,
  };
  return stack;
}

/** One response (or network failure, status 0) seen by the load. */
export type Sample = {
  seq: number;
  kind: string;
  /** Seconds since the drill started. */
  startedAt: number;
  endedAt: number;
  status: number;
  retryAfter: string | null;
  /** problem+json `code` of an error answer. */
  code?: string;
  /** What the caller wants to keep of a success (e.g. the created id). */
  detail?: string;
};

export type Clock = () => number;
export const startClock = (): Clock => {
  const t0 = performance.now();
  return () => Math.round(performance.now() - t0) / 1000;
};

/**
 * Closed-loop load: `workers` loops each send one request, record it and pause `pauseMs`, until `stop()`.
 * `send` builds and sends request `seq`; `detail` picks what to keep of a 2xx body.
 */
export function startLoad(options: {
  workers: number;
  pauseMs: number;
  clock: Clock;
  send: (seq: number, worker: number) => { kind: string; request: Promise<Response> };
  detail?: (kind: string, body: unknown) => string | undefined;
}) {
  const samples: Sample[] = [];
  let running = true;
  let seq = 0;
  const loop = async (worker: number) => {
    while (running) {
      const mine = seq++;
      const startedAt = options.clock();
      const { kind, request } = options.send(mine, worker);
      const sample: Sample = { seq: mine, kind, startedAt, endedAt: 0, status: 0, retryAfter: null };
      try {
        const res = await request;
        sample.status = res.status;
        sample.retryAfter = res.headers.get("Retry-After");
        const body = (await res.json().catch(() => undefined)) as { code?: string } | undefined;
        if (res.ok) sample.detail = options.detail?.(kind, body);
        else sample.code = body?.code;
      } catch (error) {
        sample.code = error instanceof Error ? error.message : String(error);
      }
      sample.endedAt = options.clock();
      samples.push(sample);
      await sleep(options.pauseMs);
    }
  };
  const loops = Array.from({ length: options.workers }, (_, worker) => loop(worker));
  return {
    samples,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return samples;
    },
  };
}

/** `{ "200": n, "503 DATABASE_UNAVAILABLE": n, … }` for a set of samples. */
export function countByStatus(samples: Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) {
    const key =
      s.status === 0 ? `network error (${s.code})` : s.code ? `${s.status} ${s.code}` : String(s.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** Prints one line per phase: how many requests were sent in it and their responses by status. */
export function printPhases(phases: Record<string, Record<string, number>>, unit: string) {
  console.log(`\nphase      ${unit.padStart(8)}  responses by status`);
  for (const [phase, counts] of Object.entries(phases)) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`${phase.padEnd(10)} ${String(total).padStart(8)}  ${JSON.stringify(counts)}`);
  }
}

export type Check = { name: string; holds: boolean; detail: string };

/** Prints the checks, writes the report as JSON next to the drill's data, and fails the process on a miss. */
export function finish(
  stack: { out: string },
  name: string,
  report: Record<string, unknown>,
  checks: Check[],
) {
  const file = join(stack.out, "..", `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ ...report, checks }, null, 2)}\n`);
  console.log("");
  for (const check of checks) console.log(`${check.holds ? "PASS" : "FAIL"}  ${check.name}: ${check.detail}`);
  console.log(`\nreport: ${file.slice(root.length + 1)}`);
  if (checks.some((c) => !c.holds)) process.exitCode = 1;
}
