/** The part of autocannon's API the bench uses (the package ships no types). */
declare module "autocannon" {
  type Request = {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (req: Request, context: Record<string, unknown>) => Request;
    /** Per-connection context: lets a connection chain requests (the refresh scenario). */
    onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
  };
  type Options = Request & {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    timeout?: number;
    requests?: Request[];
  };
  type Histogram = { average: number; mean: number; p50: number; p99: number; max: number };
  type Result = {
    requests: Histogram & { total: number };
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    "2xx": number;
  };
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
