/**
 * The bench's zero-latency persona webhook in its own process, so autocannon (in the runner) and the webhook
 * never share an event loop. Prints `{"url": "..."}` once listening; stops on SIGTERM or when stdin closes.
 */
import { startWebhookFake } from "../fakes/index.ts";

const webhook = await startWebhookFake();
const stop = () => void webhook.stop().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.stdout.write(`${JSON.stringify({ url: webhook.url })}\n`);
