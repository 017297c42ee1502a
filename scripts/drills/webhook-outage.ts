/**
 * `npm run drill:webhook-outage`: a persona's webhook answers 500 for a while, then recovers.
 *
 * Four members chat with one persona at a steady pace. After a healthy phase the webhook fake is scripted to
 * answer 500 (`--outage` seconds), then restored. The breaker's open time is shortened to `--cooldown`
 * (BREAKER_OPEN_SECONDS) so the drill sees several probes. The drill reports:
 * - responses by status per phase;
 * - user messages stored: every chat the gate admitted must have its user message in the database, whatever
 *   the relay's outcome (a chat refused with 503 PERSONA_UNAVAILABLE stores nothing — the client is told to
 *   retry after Retry-After);
 * - outbound calls while the breaker is open: only the probe chats may reach the webhook, at most one per
 *   cooldown (a probe's own retries included in its calls);
 * - recovery: from the webhook answering again to the first relayed chat.
 * Flags: --before 5 --outage 25 --cooldown 10 --workers 4 --pause-ms 100
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

const say = (message: string) => console.log(`[drill:webhook-outage] ${message}`);
const { values: flags } = parseArgs({
  options: {
    before: { type: "string", default: "5" },
    outage: { type: "string", default: "25" },
    cooldown: { type: "string", default: "10" },
    workers: { type: "string", default: "4" },
    "pause-ms": { type: "string", default: "100" },
  },
});
const COOLDOWN = Number(flags.cooldown);
const WORKERS = Number(flags.workers);

type WebhookCall = { receivedAt: string; json: { message?: string } | null };

async function main() {
  const stack = await startDrillStack({
    name: "webhook-outage",
    // Member n owns conversation n; every conversation talks to the one persona p1.
    workspace: { label: "drill", members: 10, conversations: 10, messages: 20, personas: 1, branch: 2 },
    signIn: WORKERS,
    vars: { BREAKER_OPEN_SECONDS: String(COOLDOWN) },
    log: say,
  });
  const { worker, workspace, tokens, webhookUrl } = stack;
  const personaPath = "/bench/drill/p1";
  const script = (behaviours: unknown[]) =>
    fetch(`${webhookUrl}/__control/script`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path: personaPath, behaviours }),
    }).then((res) => {
      if (!res.ok) throw new Error(`webhook script: ${res.status}`);
    });
  const webhookStartedAt = Date.now();
  const clock = startClock();
  const load = startLoad({
    workers: WORKERS,
    pauseMs: Number(flags["pause-ms"]),
    clock,
    send: (seq, w) => ({
      kind: "chat",
      request: fetch(`${worker.baseUrl}/api/personas/${workspace.personaId(1)}/chat`, {
        method: "POST",
        headers: { Authorization: `Bearer ${tokens[w]}`, "Content-Type": "application/json" },
        body: JSON.stringify({ message: `drill-${seq}`, conversationId: workspace.conversationId(w + 1) }),
      }),
    }),
  });

  say(`healthy webhook for ${flags.before} s…`);
  await sleep(Number(flags.before) * 1000);
  await script([{ kind: "status", status: 500, body: "drill: webhook down" }]);
  const outageStarted = clock();
  say(`webhook answers 500 from ${outageStarted} s for ${flags.outage} s (breaker cooldown ${COOLDOWN} s)`);
  await sleep(Number(flags.outage) * 1000);
  await script([]);
  const webhookRecovered = clock();
  say(`webhook answers again from ${webhookRecovered} s; waiting for the breaker to close…`);
  const deadline = webhookRecovered + COOLDOWN * 2 + 10;
  const relayedAfterRecovery = () =>
    load.samples.some((s) => s.status === 200 && s.startedAt > webhookRecovered);
  while (!relayedAfterRecovery() && clock() < deadline) await sleep(200);
  await sleep(5000);
  const samples = await load.stop();

  // What reached the webhook, and what the database holds.
  const calls = (await (
    await fetch(`${webhookUrl}/__control/requests?path=${encodeURIComponent(personaPath)}`)
  ).json()) as WebhookCall[];
  const callAt = (call: WebhookCall) => Math.round(Date.parse(call.receivedAt) - webhookStartedAt) / 1000;
  const seqOf = (message: string | undefined) => Number(message?.replace(/^drill-/, "") ?? Number.NaN);
  const sql = postgres(stack.pg.url, { max: 1, onnotice: () => {} });
  const rows = await sql<{ content: string }[]>`
    SELECT content FROM messages WHERE role = 'USER' AND content LIKE 'drill-%'`;
  await sql.end();
  const storedSeqs = new Set(rows.map((r) => seqOf(r.content)));

  const refused = (s: Sample) => s.code === "PERSONA_UNAVAILABLE" || s.status === 429;
  const admitted = samples.filter((s) => s.status !== 0 && !refused(s));
  const lostMessages = admitted.filter((s) => !storedSeqs.has(s.seq));
  const refusedButStored = samples.filter((s) => refused(s) && storedSeqs.has(s.seq));

  // The breaker is provably open once a refusal has been answered; it closes with the first relayed chat.
  const firstRefusal = samples.filter(refused).sort((a, b) => a.endedAt - b.endedAt)[0];
  const closingChat = samples
    .filter((s) => s.status === 200 && s.startedAt > outageStarted)
    .sort((a, b) => a.startedAt - b.startedAt)[0];
  const openFrom = firstRefusal?.endedAt ?? Number.POSITIVE_INFINITY;
  const openUntil = closingChat?.startedAt ?? clock();
  const probes = admitted.filter((s) => s.startedAt > openFrom && s.startedAt <= openUntil);
  const probeSeqs = new Set(probes.map((p) => p.seq));
  const callsWhileOpen = calls.filter((c) => callAt(c) > openFrom && callAt(c) <= openUntil);
  const probeCalls = callsWhileOpen.filter((c) => probeSeqs.has(seqOf(c.json?.message)));
  const lateRetries = callsWhileOpen.length - probeCalls.length;
  const openSeconds = Math.max(0, openUntil - openFrom);
  const allowedProbes = Math.floor(openSeconds / COOLDOWN) + 1;
  const recovery = samples
    .filter((s) => s.status === 200 && s.startedAt > webhookRecovered)
    .sort((a, b) => a.endedAt - b.endedAt)[0];
  const recoverySeconds = recovery ? Math.round((recovery.endedAt - webhookRecovered) * 1000) / 1000 : null;
  const failedAfterRecovery = samples.filter(
    (s) => recovery && s.startedAt > recovery.endedAt && s.status !== 200,
  );

  const phases = {
    healthy: countByStatus(samples.filter((s) => s.startedAt < outageStarted)),
    outage: countByStatus(
      samples.filter((s) => s.startedAt >= outageStarted && s.startedAt < webhookRecovered),
    ),
    recovered: countByStatus(samples.filter((s) => s.startedAt >= webhookRecovered)),
  };
  printPhases(phases, "chats");
  console.log(
    `\nuser messages: ${admitted.length} chats admitted, ${admitted.length - lostMessages.length} stored, ` +
      `${lostMessages.length} lost; ${samples.filter(refused).length} refused before storing (${refusedButStored.length} of them stored)`,
  );
  console.log(
    `breaker open from ${openFrom} s to ${openUntil} s (${openSeconds.toFixed(1)} s): ${probes.length} probe chats ` +
      `at ${probes.map((p) => `${p.startedAt} s → ${p.status}`).join(", ") || "–"}; ${callsWhileOpen.length} webhook calls ` +
      `(${probeCalls.length} by probes, ${lateRetries} late retries of chats admitted before it opened)`,
  );
  console.log(
    `recovery: first relayed chat ${recoverySeconds ?? "never"} s after the webhook answered again`,
  );

  const checks: Check[] = [
    {
      name: "every admitted chat's user message is stored",
      holds: admitted.length > 0 && lostMessages.length === 0,
      detail: `${admitted.length - lostMessages.length}/${admitted.length}`,
    },
    {
      name: "refused chats store nothing",
      holds: refusedButStored.length === 0,
      detail: `${refusedButStored.length} stored`,
    },
    {
      name: "the breaker opened during the outage",
      holds: firstRefusal !== undefined && firstRefusal.retryAfter !== null,
      detail: firstRefusal
        ? `first 503 PERSONA_UNAVAILABLE answered at ${firstRefusal.endedAt} s, Retry-After ${firstRefusal.retryAfter}`
        : "never",
    },
    {
      name: "≤ 1 probe per cooldown while open",
      holds: probes.length <= allowedProbes,
      detail: `${probes.length} probes in ${openSeconds.toFixed(1)} s (allowed ${allowedProbes} at ${COOLDOWN} s)`,
    },
    {
      name: `recovery within one cooldown (${COOLDOWN} s) + 2 s`,
      holds: recoverySeconds !== null && recoverySeconds <= COOLDOWN + 2,
      detail: `${recoverySeconds ?? "never"} s`,
    },
    {
      name: "every chat relays once recovered",
      holds: recovery !== undefined && failedAfterRecovery.length === 0,
      detail: `${failedAfterRecovery.length} failures after the first relayed chat`,
    },
  ];
  finish(
    stack,
    "webhook-outage",
    {
      timeline_s: {
        outageStarted,
        webhookRecovered,
        breakerOpenFrom: openFrom,
        breakerClosedAt: openUntil,
        end: clock(),
      },
      phases,
      userMessages: {
        admitted: admitted.length,
        lost: lostMessages.length,
        refused: samples.filter(refused).length,
      },
      breaker: {
        cooldown_s: COOLDOWN,
        probes: probes.map((p) => ({ at: p.startedAt, status: p.status })),
        webhookCallsWhileOpen: callsWhileOpen.length,
        probeCalls: probeCalls.length,
        lateRetries,
      },
      recovery_s: recoverySeconds,
    },
    checks,
  );
}

runMain("drill:webhook-outage", main);
