/**
 * The bench's counting pass (issue 14): every scenario's requests sent one at a time to a Worker whose
 * HYPERDRIVE binding goes through the delaying proxy (db-proxy.ts). Per scenario it reports the database round
 * trips and connections of one request (the median of the samples, which must all agree), the p50 latency with
 * the delay and without it, and for the relaying routes the round trips before and after the webhook fake
 * received the relay.
 *
 * A request's round trips are the flights of every connection it opened, counted until they are all closed
 * (the client is ended through waitUntil after the response), so work done after the response counts too.
 */
import type { DbProxy } from "./db-proxy.ts";

export type CountRequest = { method: string; path: string; headers?: Record<string, string>; body?: string };

export type CountScenario = {
  name: string;
  route: string;
  /** Builds sample i; may call the API first (a fresh refresh token, a new share link). */
  request: (i: number) => CountRequest | Promise<CountRequest>;
  /** The route relays to the persona webhook: split the count at the moment the fake received the relay. */
  relays?: boolean;
};

export type RoundTripResult = {
  route: string;
  round_trips: number;
  /** Only for relaying routes: flights that began after the webhook fake received the relay. */
  round_trips_after_webhook?: number;
  connections: number;
  p50_ms_at_rtt: number;
  p50_ms_no_delay: number;
  /** Every sample's count, to show it is deterministic. */
  samples: number[];
  non2xx: number;
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)] ?? 0) : 0;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function quiet(proxy: DbProxy, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (proxy.openConnections() > 0 && Date.now() < deadline) await sleep(5);
}

type Sample = { ms: number; flights: number[]; connections: number; relayedAt?: number; status: number };

async function sample(
  proxy: DbProxy,
  baseUrl: string,
  webhookUrl: string,
  scenario: CountScenario,
  i: number,
): Promise<Sample> {
  const request = await scenario.request(i);
  await quiet(proxy, 3000);
  if (scenario.relays) await fetch(`${webhookUrl}/__control/requests`, { method: "DELETE" });
  const firstFlight = proxy.flights.length;
  const firstConnection = proxy.connections.length;
  const started = performance.now();
  const res = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  await res.arrayBuffer();
  const ms = performance.now() - started;
  await sleep(20); // waitUntil work starts after the response
  await quiet(proxy, 3000);
  let relayedAt: number | undefined;
  if (scenario.relays) {
    const recorded = (await (await fetch(`${webhookUrl}/__control/requests`)).json()) as Array<{
      receivedAt: string;
    }>;
    const last = recorded.at(-1);
    if (last) relayedAt = Date.parse(last.receivedAt);
  }
  return {
    ms,
    flights: proxy.flights.slice(firstFlight),
    connections: proxy.connections.length - firstConnection,
    relayedAt,
    status: res.status,
  };
}

/** Runs each scenario `samples` times with the proxy's delay at `rttMs`, then `samples` times without it. */
export async function countRoundTrips(options: {
  proxy: DbProxy;
  baseUrl: string;
  webhookUrl: string;
  rttMs: number;
  samples: number;
  scenarios: CountScenario[];
  say: (message: string) => void;
}): Promise<Record<string, RoundTripResult>> {
  const { proxy, baseUrl, webhookUrl, rttMs, samples } = options;
  const results: Record<string, RoundTripResult> = {};
  let counter = 0;
  for (const scenario of options.scenarios) {
    // Warm-up: the isolate's key cache and JIT, so the samples count the steady state.
    proxy.setRttMs(0);
    await sample(proxy, baseUrl, webhookUrl, scenario, counter++);
    const noDelay: number[] = [];
    for (let n = 0; n < samples; n++)
      noDelay.push((await sample(proxy, baseUrl, webhookUrl, scenario, counter++)).ms);
    proxy.setRttMs(rttMs);
    const delayed: Sample[] = [];
    for (let n = 0; n < samples; n++)
      delayed.push(await sample(proxy, baseUrl, webhookUrl, scenario, counter++));
    proxy.setRttMs(0);
    const counts = delayed.map((s) => s.flights.length);
    const result: RoundTripResult = {
      route: scenario.route,
      round_trips: median(counts),
      connections: median(delayed.map((s) => s.connections)),
      p50_ms_at_rtt: Math.round(median(delayed.map((s) => s.ms)) * 10) / 10,
      p50_ms_no_delay: Math.round(median(noDelay) * 10) / 10,
      samples: counts,
      non2xx: delayed.filter((s) => s.status < 200 || s.status > 299).length,
    };
    if (scenario.relays) {
      result.round_trips_after_webhook = median(
        delayed.map((s) =>
          s.relayedAt === undefined ? 0 : s.flights.filter((t) => t > (s.relayedAt ?? 0)).length,
        ),
      );
    }
    results[scenario.name] = result;
    options.say(
      `${scenario.name.padEnd(28)} round trips ${String(result.round_trips).padStart(3)}${
        result.round_trips_after_webhook !== undefined
          ? ` (after webhook ${result.round_trips_after_webhook})`
          : ""
      }  connections ${result.connections}  p50 ${result.p50_ms_no_delay} ms → ${result.p50_ms_at_rtt} ms at ${rttMs} ms RTT${
        new Set(counts).size > 1 ? `  samples ${counts.join(",")}` : ""
      }${result.non2xx ? `  non2xx ${result.non2xx}` : ""}`,
    );
  }
  return results;
}
