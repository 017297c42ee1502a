/**
 * The pieces `npm run bench` and the drills (scripts/drills/) share: stopping everything they started, the
 * Worker under `wrangler dev` with its JSON request log captured, the variables that open up the rate limits,
 * and signing in a seeded member.
 */
import { createWriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../lib/ports.ts";
import { spawnWranglerDev, waitUntilHealthy } from "../lib/wrangler.ts";
import { BENCH_PASSWORD } from "./seed.ts";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Stops registered in start order, run in reverse — also on Ctrl-C. */
const stops: Array<() => Promise<void>> = [];
export const onStop = (stop: () => Promise<void>) => void stops.push(stop);
export async function stopAll() {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
}
process.on("SIGINT", () => void stopAll().finally(() => process.exit(130)));
process.on("SIGTERM", () => void stopAll().finally(() => process.exit(143)));

/** Runs `main`, prints a failure with its stack, sets the exit code and always stops the stack. */
export function runMain(tag: string, main: () => Promise<void>) {
  main()
    .catch((error) => {
      console.error(`[${tag}] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = 1;
    })
    .finally(() => stopAll());
}

/** Limits opened up so no scenario measures a 429; anything set in the environment wins. */
const OPEN_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_API_USER: "1000000/60",
  RATE_LIMIT_CHAT_USER: "1000000/60",
  RATE_LIMIT_CHAT_PERSONA: "1000000/60",
  RATE_LIMIT_LOGIN_IP: "1000000/60",
  RATE_LIMIT_REFRESH_IP: "1000000/60",
  RATE_LIMIT_SHARE_VIEW_IP: "1000000/60",
};

/** The Worker's variables for a bench or drill stack (HIBP off, mail to the local sink, limits open). */
export function stackVars(options: {
  encryptionKey: string;
  smtpPort: number;
  extra?: Record<string, string>;
}): Record<string, string> {
  const vars: Record<string, string> = {
    ENVIRONMENT: "development",
    ENCRYPTION_KEY: options.encryptionKey,
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(options.smtpPort),
    HIBP_API_URL: "off",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
    ...OPEN_RATE_LIMITS,
    ...options.extra,
  };
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("RATE_LIMIT_") && value !== undefined) vars[name] = value;
  }
  return vars;
}

/** One line of the Worker's request log (src/middleware/request-context.ts). */
export type RequestLog = {
  method: string;
  route: string;
  status: number;
  durationMs: number;
  dbQueries: number;
  dbMs: number;
};

export type BenchWorker = {
  baseUrl: string;
  /** Every request log line since the last call. */
  takeLogs: () => RequestLog[];
  /** True while the one `wrangler dev` process started here is still running. */
  alive: () => boolean;
  stop: () => Promise<void>;
};

/** `wrangler dev` on a free port against `pgUrl`; resolves once GET /api/auth/health answers 200. */
export async function startBenchWorker(options: {
  pgUrl: string;
  vars: Record<string, string>;
  persistTo: string;
  /** Where wrangler's output goes besides the request log (errors, warnings); kept for reading afterwards. */
  logFile?: string;
}): Promise<BenchWorker> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const dev = await spawnWranglerDev({
    port,
    pgUrl: options.pgUrl,
    vars: { ...options.vars, APP_BASE_URL: baseUrl },
    persistTo: options.persistTo,
    stdio: "pipe",
  });
  const requestLogs: RequestLog[] = [];
  const tail: string[] = [];
  const logFile = options.logFile ? createWriteStream(options.logFile) : undefined;
  const keep = (line: string) => {
    logFile?.write(`${line}\n`);
    tail.push(line);
    if (tail.length > 50) tail.shift();
  };
  let partial = "";
  dev.child.stdout?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      const start = line.indexOf('{"level"');
      if (start < 0) {
        keep(line);
        continue;
      }
      try {
        const entry = JSON.parse(line.slice(start)) as { message?: string } & RequestLog;
        if (entry.message === "request") requestLogs.push(entry);
        else keep(line.slice(start));
      } catch {
        // a log line cut by the terminal width or interleaved: not a request line we need
      }
    }
  });
  dev.child.stderr?.on("data", (chunk: Buffer) => keep(chunk.toString()));
  onStop(dev.stop);
  await waitUntilHealthy(dev, 120_000, () => tail.join("\n"));
  return {
    baseUrl,
    takeLogs: () => requestLogs.splice(0),
    alive: () => dev.child.exitCode === null && dev.child.signalCode === null,
    stop: dev.stop,
  };
}

/** Signs a seeded member in (every seeded member has BENCH_PASSWORD) and returns the access token. */
export async function login(baseUrl: string, email: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: BENCH_PASSWORD }),
  });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}
