/**
 * Polls `read` until `ready` holds for its value, for work a route does beside its response (a registration,
 * a reset request: their duration must not show in the answer). Fails with the last value after `timeoutMs`.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  ready: (value: T) => boolean = (value) => value !== undefined && value !== null,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ready(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`still not ready after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
