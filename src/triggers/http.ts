import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type pino from 'pino';
import { type ErrorCode, type NightshiftError, toNightshiftError } from '../core/errors.ts';

/** HTTP status of each error code the trigger and automation routes raise. */
const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  INVALID_INPUT: 400,
  AUTOMATION_INVALID: 422,
  SIGNATURE_INVALID: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
};

/** The JSON error body every Nightshift route answers with. */
export function errorResponse(c: Context, error: NightshiftError, status?: ContentfulStatusCode): Response {
  return c.json(
    { error: { code: error.code, message: error.message, hint: error.hint ?? null } },
    status ?? STATUS[error.code] ?? 500,
  );
}

/** Maps thrown errors to `{ error: { code, message, hint } }` with their status; unknown ones are logged. */
export function handleErrors(app: Hono, log: pino.Logger): void {
  app.onError((thrown, c) => {
    const error = toNightshiftError(thrown);
    if (error.code === 'INTERNAL') log.error({ err: thrown, path: c.req.path }, 'request failed');
    return errorResponse(c, error);
  });
}

/** Refuses bodies over `maxBytes` with 413 before reading them whole. */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json(
        {
          error: {
            code: 'INVALID_INPUT',
            message: `the body is larger than ${maxBytes} bytes`,
            hint: 'send a smaller payload (NIGHTSHIFT_WEBHOOK_MAX_BYTES sets the limit)',
          },
        },
        413,
      ),
  });
}

/** The trigger settings read from the environment (documented in docs/configuration.md). */
export interface TriggerConfig {
  /** Largest webhook or Slack body accepted (bytes). */
  maxBodyBytes: number;
  slack: {
    signingSecret?: string;
    botToken?: string;
    /** Slack's Web API (a test double in tests). */
    apiUrl: string;
  };
  /** Base URL of this server, for links to runs in Slack answers. */
  publicUrl?: string;
  /** Server-wide automations directory. */
  automationsDir?: string;
}

export function triggerConfig(env: NodeJS.ProcessEnv = process.env): TriggerConfig {
  const max = Number(env.NIGHTSHIFT_WEBHOOK_MAX_BYTES || 1024 * 1024);
  return {
    maxBodyBytes: Number.isInteger(max) && max > 0 ? max : 1024 * 1024,
    slack: {
      signingSecret: env.NIGHTSHIFT_SLACK_SIGNING_SECRET || undefined,
      botToken: env.NIGHTSHIFT_SLACK_BOT_TOKEN || undefined,
      apiUrl: (env.NIGHTSHIFT_SLACK_API_URL || 'https://slack.com/api').replace(/\/+$/, ''),
    },
    publicUrl: env.NIGHTSHIFT_PUBLIC_URL?.replace(/\/+$/, '') || undefined,
    automationsDir: env.NIGHTSHIFT_AUTOMATIONS_DIR || undefined,
  };
}
