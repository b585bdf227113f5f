// Structured JSON logs (pino). Secrets never reach a log line: values are never passed to
// the logger, and common secret-bearing keys are redacted as a second line of defence.

import { pino, type Logger } from 'pino';

export type { Logger };

export function makeLogger(bindings: Record<string, unknown> = {}, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['password', 'token', 'authToken', 'encPassword', 'license', '*.password', '*.token', '*.authToken', '*.encPassword', '*.license', '*.secrets'],
      censor: '[redacted]',
    },
  });
}
