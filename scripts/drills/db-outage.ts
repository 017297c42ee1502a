/**
 * `npm run drill:db-outage`: what users see when Postgres goes away, and what survives it.
 *
 * Under a steady load of reads (GET /api/users/me) and writes (POST /api/conversations), the drill stops the
 * embedded Postgres for 10 s and starts it again on the same port and data directory. The Worker is never
 * restarted. It reports the responses by status before, during and after the outage, the time from
 * "Postgres accepts connections" to the first success, and whether every write acknowledged with 2xx is in
 * the database afterwards.
 *
 * Expected (issue 10): only 503 with Retry-After during the outage, recovery < 5 s, 0 acknowledged writes lost.
 * Flags: --outage 10 (seconds) --before 5 --after 10 --workers 8 --pause-ms 20
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain } from "../bench/stack.ts";
import {
  type Check,
  countByStatus,
  finish,
  printPhases,
  type Sample,
  sleep,
  startClock,
  startDrillStack,
  startLoad,
} from "./common.ts";

const say = (message: string) => console.log(`[drill:db-outage] ${message}`);
const { values: flags } = parseArgs({
  options: {
    outage: { type: "string", default: "10" },
    before: { type: "string", default: "5" },
    after: { type: "string", default: "10" },
    workers: { type: "string", default: "8" },
    "pause-ms": { type: "string", default: "20" },
  },
});
const seconds = (name: "outage" | "before" | "after") => Number(flags[name]) * 1000;

async function main() {
  const stack = await startDrillStack({
    name: "db-outage",
    workspace: { label: "drill", members: 20, conversations: 20, messages: 100, personas: 2, branch: 10 },
    signIn: Number(flags.workers),
    log: say,
  });
  const { worker, workspace, tokens } = stack;
  const clock = startClock();
  const load = startLoad({
    workers: Number(flags.workers),
    pauseMs: Number(flags["pause-ms"]),
    clock,
    send: (seq, w) => {
      const headers = { Authorization: `Bearer ${tokens[w]}`, "Content-Type": "application/json" };
      if (seq % 2 === 0) {
        return {
          kind: "write",
          request: fetch(`${worker.baseUrl}/api/conversations`, {
            method: "POST",
            headers,
            body: JSON.stringify({ personaId: workspace.personaId(1), title: `drill ${seq}` }),
          }),
        };
      }
      return { kind: "read", request: fetch(`${worker.baseUrl}/api/users/me`, { headers }) };
    },
    detail: (kind, body) => (kind === "write" ? (body as { id?: string } | undefined)?.id : undefined),
  });

  say(`steady load for ${flags.before} s…`);
  await sleep(seconds("before"));
  const stopRequested = clock();
  say("stopping Postgres…");
  await stack.stopPostgres();
  const stopped = clock();
  say(`Postgres stopped at ${stopped} s; outage for ${flags.outage} s`);
  await sleep(seconds("outage"));
  const restartRequested = clock();
  await stack.restartPostgres();
  const restarted = clock();
  say(
    `Postgres accepts connections again at ${restarted} s (start took ${(restarted - restartRequested).toFixed(2)} s)`,
  );
  await sleep(seconds("after"));
  const samples = await load.stop();

  // Phases by when the request was sent.
  const before = samples.filter((s) => s.startedAt < stopRequested);
  const stopping = samples.filter((s) => s.startedAt >= stopRequested && s.startedAt < stopped);
  const during = samples.filter((s) => s.startedAt >= stopped && s.startedAt < restartRequested);
  // Postgres is starting: requests may already succeed.
  const restarting = samples.filter((s) => s.startedAt >= restartRequested && s.startedAt < restarted);
  const after = samples.filter((s) => s.startedAt >= restarted);
  const ok = (s: Sample) => s.status >= 200 && s.status < 300;
  const firstSuccess = after.filter(ok).sort((a, b) => a.endedAt - b.endedAt)[0];
  const recoverySeconds = firstSuccess ? Math.round((firstSuccess.endedAt - restarted) * 1000) / 1000 : null;
  const failuresAfterRecovery = after.filter(
    (s) => firstSuccess && s.startedAt > firstSuccess.endedAt && !ok(s),
  );

  const acknowledged = samples
    .filter((s) => s.kind === "write" && ok(s) && s.detail)
    .map((s) => s.detail as string);
  const sql = postgres(stack.pg.url, { max: 1, onnotice: () => {} });
  const found = await sql<
    { id: string }[]
  >`SELECT id FROM conversations WHERE id = ANY(${acknowledged}::uuid[])`;
  const [{ stored } = { stored: 0 }] = await sql<{ stored: number }[]>`
    SELECT count(*)::int AS stored FROM conversations WHERE title LIKE 'drill %'`;
  await sql.end();
  const lost = acknowledged.length - found.length;

  const during503 = during.filter((s) => s.status === 503);
  const phases = {
    before: countByStatus(before),
    stopping: countByStatus(stopping),
    during: countByStatus(during),
    restarting: countByStatus(restarting),
    after: countByStatus(after),
  };
  printPhases(phases, "requests");
  console.log(
    `\nwrites acknowledged ${acknowledged.length}, found ${found.length}, lost ${lost}; ` +
      `drill rows in the database ${stored} (a write can commit and still answer 503 when the connection drops)`,
  );
  console.log(`time to first success after Postgres accepted connections: ${recoverySeconds ?? "never"} s`);

  const checks: Check[] = [
    {
      name: "only 503 with Retry-After during the outage",
      holds: during.length > 0 && during503.length === during.length && during503.every((s) => s.retryAfter),
      detail: `${during503.length}/${during.length} were 503, ${during503.filter((s) => s.retryAfter).length} with Retry-After`,
    },
    {
      name: "recovery < 5 s after Postgres is back",
      holds: recoverySeconds !== null && recoverySeconds < 5,
      detail: `${recoverySeconds ?? "never"} s`,
    },
    {
      name: "every request succeeds once recovered",
      holds: firstSuccess !== undefined && failuresAfterRecovery.length === 0,
      detail: `${failuresAfterRecovery.length} failures after the first success`,
    },
    { name: "0 acknowledged writes lost", holds: lost === 0, detail: `${lost} of ${acknowledged.length}` },
    {
      name: "Worker not restarted",
      holds: worker.alive(),
      detail: "the same wrangler dev process throughout",
    },
  ];
  finish(
    stack,
    "db-outage",
    {
      timeline_s: { stopRequested, stopped, restartRequested, restarted, end: clock() },
      phases,
      recovery_s: recoverySeconds,
      writes: { acknowledged: acknowledged.length, found: found.length, lost, drillRowsStored: stored },
    },
    checks,
  );
}

runMain("drill:db-outage", main);
