/**
 * winston logging: JSON lines when stderr is not a TTY (for log shippers), readable lines on a TTY.
 * Every line can carry job/source/table via child loggers; known secret values and secret-looking
 * keys are redacted before anything is written.
 */
import winston from 'winston';

export type LogFormat = 'json' | 'pretty';
export type Logger = winston.Logger;

const SECRET_KEY = /pass(word)?|secret|token|authorization|private|credential|access_key/i;
const REDACTED = '***';
const secretValues = new Set<string>();

/** Registers values that must never appear in a log line (passwords from config, tokens…). */
export function registerSecrets(values: Iterable<string>): void {
  for (const v of values) if (v.length >= 3) secretValues.add(v);
}

function redactString(s: string): string {
  let out = s;
  for (const secret of secretValues) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  // URLs with inline credentials: scheme://user:pass@host
  return out.replace(/(\w+:\/\/[^:/\s@]+:)[^@\s]+@/g, `$1${REDACTED}@`);
}

export function redact(value: unknown, key = '', seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return SECRET_KEY.test(key) && value ? REDACTED : redactString(value);
  if (value instanceof Error) return { name: value.name, message: redactString(value.message), stack: value.stack && redactString(value.stack) };
  if (Array.isArray(value)) return value.map((v) => redact(v, key, seen));
  if (value !== null && typeof value === 'object') {
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k, seen)]));
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    (info as Record<string, unknown>)[key] = redact(info[key], key);
  }
  return info;
});

const pretty = winston.format.printf((info) => {
  const { level, message, timestamp, job, source, table, ...rest } = info as Record<string, unknown>;
  const ctx = [job, source, table].filter(Boolean).join('/');
  const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  return `${String(timestamp).slice(11, 23)} ${level} ${ctx ? `[${ctx}] ` : ''}${String(message)}${extra}`;
});

export const logger: Logger = winston.createLogger({
  level: process.env.LAKELOADER_LOG_LEVEL ?? 'info',
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
});

export function configureLogging(options: { level?: string; format?: LogFormat }): void {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  logger.level = options.level ?? logger.level;
  logger.format = winston.format.combine(
    winston.format.timestamp(),
    winston.format.errors({ stack: true }),
    redactFormat(),
    format === 'json' ? winston.format.json() : winston.format.combine(winston.format.colorize(), pretty),
  );
}

configureLogging({});
