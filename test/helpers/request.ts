import { SELF } from "cloudflare:test";

export const BASE_URL = "http://127.0.0.1:8787";

export type ApiResponse<T = any> = { status: number; headers: Headers; body: T; text: string };

export type RequestOptions = {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  /** Send this string as the body verbatim (e.g. malformed JSON). */
  rawBody?: BodyInit;
};

/** Calls the Worker like a client would and returns status, headers and the parsed body. */
export async function api<T = any>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(options.body);
  }
  const res = await SELF.fetch(new URL(path, BASE_URL), { method, headers, body, redirect: "manual" });
  const text = await res.text();
  let parsed: unknown = text;
  if (/json/.test(res.headers.get("Content-Type") ?? "") && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** An assertion message carrying the response, so a failure shows what the API actually said. */
export const describeResponse = (res: ApiResponse) => `${res.status} ${res.text.slice(0, 800)}`;

/** A random client IP (sent as CF-Connecting-IP) so per-IP rate limits never couple tests. */
export const randomIp = () => `10.${Array.from(crypto.getRandomValues(new Uint8Array(3))).join(".")}`;
