/** Starts scripts/pg-child.ts and resolves with its connection URL and a stop function. */
import { fileURLToPath } from "node:url";
import { startJsonChild } from "./child.ts";

export type PostgresOptions = {
  dataDir: string;
  port: number;
  database: string;
  /** Keep the data directory after stop (dev, the outage drill) or delete it (tests, bench). */
  persistent: boolean;
  /** fsync=off and friends: for throwaway databases only. */
  fast: boolean;
};

export type RunningPostgres = { url: string; stop: () => Promise<void> };

const childScript = fileURLToPath(new URL("../pg-child.ts", import.meta.url));

export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const { url, stop } = await startJsonChild(childScript, [JSON.stringify(options)]).catch((error) => {
    throw new Error(`embedded Postgres did not start: ${error instanceof Error ? error.message : error}`);
  });
  return { url, stop };
}
