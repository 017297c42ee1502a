/** Structured JSON logs: one object per line, always with the trace id so a report can be traced end to end. */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;
export type Logger = {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
};

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(level: LogLevel, base: LogFields = {}): Logger {
  const write = (at: LogLevel, message: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    const line = JSON.stringify({ level: at, time: new Date().toISOString(), message, ...base, ...fields });
    if (at === "error") console.error(line);
    else if (at === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/**
 * Error details for a log line: name, message, driver code, stack and the `cause` chain (drizzle wraps the
 * driver's error) — never sent to clients. A failed query's bound parameters are cut from its message: they
 * can hold emails and token hashes, which have no place in logs.
 */
export function errorFields(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: String(error) };
  const causes: LogFields[] = [];
  for (let e = error.cause, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    causes.push({ name: e.name, message: withoutParams(e.message), code: codeOf(e) });
  }
  return {
    error: error.name,
    errorMessage: withoutParams(error.message),
    code: codeOf(error),
    ...(causes.length ? { causes } : {}),
    stack: error.stack ? withoutParams(error.stack) : undefined,
  };
}

const withoutParams = (text: string) => text.replace(/\nparams: [^\n]*/g, "\nparams: (omitted)");
const codeOf = (error: Error) => {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
};
