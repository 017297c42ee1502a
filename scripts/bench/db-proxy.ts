/**
 * A TCP proxy between the Worker's HYPERDRIVE binding and Postgres that makes the database "far away" and
 * counts round trips (issue 14).
 *
 * - Start-up (SSLRequest, StartupMessage, authentication, up to the server's first ReadyForQuery) passes
 *   through undelayed: Hyperdrive does that part at the edge, next to the Worker.
 * - After it, every chunk is delayed by half the RTT in each direction, in order.
 * - A round trip is a flight: the Worker sends protocol messages that expect an answer after having received
 *   something since its previous flight. Messages sent before any answer arrived join the same flight
 *   (pipelining). A flight made of Terminate alone expects no answer and is not counted.
 *
 * With a delay of a few milliseconds the count is deterministic: a driver writes one flight within a tick,
 * while its answer cannot reach it before a full RTT. `onRoundTrip` is called as each flight begins, so a
 * caller can tell which flights came before an event of its own (the chat's webhook call).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export type ProxiedConnection = {
  id: number;
  openedAt: number;
  closedAt: number | null;
  /** Flights after start-up (Terminate-only flights excluded). */
  roundTrips: number;
};

export type DbProxy = {
  /** The upstream URL with host and port replaced by the proxy's. */
  url: string;
  connections: ProxiedConnection[];
  /** When each flight began (Date.now(), every connection, in order): a log that only grows. */
  flights: number[];
  /** Connections not closed yet. */
  openConnections: () => number;
  setRttMs: (ms: number) => void;
  stop: () => Promise<void>;
};

const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;
const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'

export async function startDbProxy(upstreamUrl: string, options: { rttMs: number }): Promise<DbProxy> {
  const upstream = new URL(upstreamUrl);
  let rttMs = options.rttMs;
  const flights: number[] = [];
  const connections: ProxiedConnection[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const conn: ProxiedConnection = {
      id: connections.length + 1,
      openedAt: performance.now(),
      closedAt: null,
      roundTrips: 0,
    };
    connections.push(conn);
    const pg = tcpConnect(Number(upstream.port || 5432), upstream.hostname);
    sockets.add(client);
    sockets.add(pg);
    client.setNoDelay(true);
    pg.setNoDelay(true);

    // --- protocol state -------------------------------------------------------------------------------
    let started = false; // past the start-up exchange (first ReadyForQuery forwarded)
    let sslReplyPending = 0; // single-byte answers ('N'/'S') owed to SSLRequest/GSSENCRequest
    let untypedFront = true; // the next frontend message has no type byte (start-up packets)
    let front = Buffer.alloc(0);
    let back = Buffer.alloc(0);
    let answered = true; // the Worker has received something since its last flight
    // Chunks keep their order: each direction is a FIFO released by equal delays.
    const later = (fn: () => void) => {
      const half = rttMs / 2;
      if (!started || half <= 0) fn();
      else setTimeout(fn, half);
    };

    /** Types of the complete frontend messages in `front` (consumed), for the flight rule. */
    function frontendTypes(): number[] {
      const types: number[] = [];
      for (;;) {
        if (untypedFront) {
          if (front.length < 4) break;
          const length = front.readUInt32BE(0);
          if (front.length < length) break;
          const code = length >= 8 ? front.readUInt32BE(4) : 0;
          if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) sslReplyPending++;
          else untypedFront = false; // StartupMessage (or CancelRequest); typed messages follow
          front = front.subarray(length);
          types.push(0);
          continue;
        }
        if (front.length < 5) break;
        const length = front.readUInt32BE(1);
        if (front.length < 1 + length) break;
        types.push(front[0] ?? 0);
        front = front.subarray(1 + length);
      }
      return types;
    }

    /** True once the backend's first ReadyForQuery is in `back` (start-up done); consumes what it read. */
    function startupEnds(): boolean {
      for (;;) {
        if (sslReplyPending > 0) {
          if (back.length < 1) return false;
          sslReplyPending--;
          back = back.subarray(1);
          continue;
        }
        if (back.length < 5) return false;
        const length = back.readUInt32BE(1);
        if (back.length < 1 + length) return false;
        const type = back[0];
        back = back.subarray(1 + length);
        if (type === READY_FOR_QUERY) return true;
      }
    }

    client.on("data", (chunk: Buffer) => {
      if (started) {
        front = Buffer.concat([front, chunk]);
        const types = frontendTypes();
        const expectsAnswer = types.some((t) => t !== TERMINATE);
        if (answered && expectsAnswer) {
          answered = false;
          conn.roundTrips++;
          flights.push(Date.now());
        }
      } else {
        front = Buffer.concat([front, chunk]);
        frontendTypes();
      }
      later(() => pg.write(chunk));
    });
    pg.on("data", (chunk: Buffer) => {
      if (!started) {
        back = Buffer.concat([back, chunk]);
        const ends = startupEnds();
        client.write(chunk);
        if (ends) {
          started = true;
          back = Buffer.alloc(0);
          answered = true;
        }
        return;
      }
      later(() => {
        client.write(chunk);
        answered = true;
      });
    });
    const close = () => {
      if (conn.closedAt === null) conn.closedAt = performance.now();
      later(() => {
        client.destroy();
        pg.destroy();
      });
    };
    client.on("end", () => later(() => pg.end()));
    pg.on("end", () => later(() => client.end()));
    client.on("close", close);
    pg.on("close", close);
    client.on("error", close);
    pg.on("error", close);
    client.on("close", () => sockets.delete(client));
    pg.on("close", () => sockets.delete(pg));
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("db proxy: no port");
  const url = new URL(upstreamUrl);
  url.hostname = "127.0.0.1";
  url.port = String(address.port);
  return {
    url: url.toString(),
    connections,
    flights,
    openConnections: () => connections.filter((c) => c.closedAt === null).length,
    setRttMs: (ms) => {
      rttMs = ms;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
