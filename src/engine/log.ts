import { Writable } from 'node:stream';
import pino from 'pino';

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** Turns pino's JSON lines into `nightshift warning: message (key=value)` for people at a terminal. */
function readableLines(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          const meta = Object.entries(entry)
            .filter(([key]) => !HIDDEN.has(key))
            .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
          out.write(
            `nightshift ${LEVELS[entry.level as number] ?? 'log'}: ${entry.msg}${meta.length ? ` (${meta.join(', ')})` : ''}\n`,
          );
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

/**
 * The engine's logger: structured (pino). JSON lines on stderr with `NIGHTSHIFT_LOG_FORMAT=json`
 * (for log collectors), else one readable line per entry. Level from `NIGHTSHIFT_LOG_LEVEL` (default warn).
 */
export function createLogger(env: NodeJS.ProcessEnv = process.env): pino.Logger {
  const level = env.NIGHTSHIFT_LOG_LEVEL ?? 'warn';
  if (env.NIGHTSHIFT_LOG_FORMAT === 'json') return pino({ level }, pino.destination(2));
  return pino({ level }, readableLines(process.stderr));
}
