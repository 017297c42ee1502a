/**
 * `wrangler dev` as a child process, the one way dev, e2e and bench start the Worker: fully local (no metrics,
 * no network look-ups), Hyperdrive pointed at the given Postgres, every variable passed with `--var`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export type WranglerDevOptions = {
  port: number;
  /** Postgres for the HYPERDRIVE binding. */
  pgUrl: string;
  vars: Record<string, string>;
  /** Where local DO/R2/queue state lives. */
  persistTo: string;
  /** `--test-scheduled`: cron via GET /__scheduled (dev). */
  testScheduled?: boolean;
  /** "inherit" prints wrangler's output (dev); "pipe" lets the caller read it. */
  stdio: "inherit" | "pipe";
};

export type WranglerDev = { child: ChildProcess; baseUrl: string; stop: () => Promise<void> };

export async function spawnWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(await freePort()),
    ...(options.testScheduled ? ["--test-scheduled"] : []),
    "--persist-to",
    options.persistTo,
    ...Object.entries(options.vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const child = spawn(join(root, "node_modules", ".bin", "wrangler"), args, {
    cwd: root,
    stdio: ["ignore", options.stdio, options.stdio],
    env: {
      ...process.env,
      CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: options.pgUrl,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
    },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  };
  return { child, baseUrl, stop };
}

/**
 * Waits until GET /api/auth/health answers 200 (the database is reachable through Hyperdrive). Fails early
 * when wrangler exits; `context` adds its recent output to the error.
 */
export async function waitUntilHealthy(
  dev: WranglerDev,
  timeoutMs: number,
  context: () => string = () => "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (dev.child.exitCode !== null) throw new Error(`wrangler exited (${dev.child.exitCode})\n${context()}`);
    const res = await fetch(`${dev.baseUrl}/api/auth/health`).catch(() => undefined);
    if (res?.ok) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${dev.baseUrl}/api/auth/health did not answer 200 within ${timeoutMs / 1000} s\n${context()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
