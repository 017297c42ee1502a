/** Starts scripts/pg-child.ts and resolves with its connection URL and a stop function. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export type PostgresOptions = {
  dataDir: string;
  port: number;
  database: string;
  /** Keep the data directory after stop (dev) or delete it (tests, bench). */
  persistent: boolean;
  /** fsync=off and friends: for throwaway databases only. */
  fast: boolean;
};

export type RunningPostgres = { url: string; stop: () => Promise<void> };

const childScript = fileURLToPath(new URL("../pg-child.ts", import.meta.url));

export function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const child = spawn(process.execPath, [childScript, JSON.stringify(options)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split("\n")[0];
      if (buffer.includes("\n") && line) {
        try {
          resolve({ url: (JSON.parse(line) as { url: string }).url, stop });
        } catch (error) {
          reject(error);
        }
      }
    });
    child.once("exit", (code) =>
      reject(new Error(`embedded Postgres exited with code ${code} before it was ready`)),
    );
  });
}
