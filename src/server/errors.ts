import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { formatProblem } from '../blueprints/problems.ts';
import { validateWithSchema } from '../blueprints/zod-problems.ts';
import { type ErrorCode, NightshiftError, toNightshiftError } from '../core/errors.ts';

/** The one place error codes become HTTP statuses; anything unlisted is a 500. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  INVALID_INPUT: 400,
  BLUEPRINT_INVALID: 400,
  BLUEPRINT_NOT_FOUND: 400,
  REPO_INVALID: 400,
  ENVIRONMENT_INVALID: 400,
  POLICY_INVALID: 400,
  HARNESS_UNAVAILABLE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  CONFLICT: 409,
  POLICY_DENIED: 403,
  HOME_LOCKED: 503,
  SANDBOX_UNAVAILABLE: 503,
  STORE_FAILED: 503,
};

export function statusFor(code: ErrorCode): ContentfulStatusCode {
  return STATUS_BY_CODE[code] ?? 500;
}

/** `{ error: { code, message, hint } }` with the status of the code. */
export function errorResponse(c: Context, error: unknown): Response {
  const e = toNightshiftError(error);
  return c.json({ error: { code: e.code, message: e.message, hint: e.hint ?? null } }, statusFor(e.code));
}

/**
 * Validates request input against its schema; every problem is reported with its dot-path
 * under `where` (`body.timeoutMs: expected a number, got a string`).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  data: unknown,
  where: 'body' | 'query',
): z.output<S> {
  const { value, problems } = validateWithSchema(schema, data, { basePath: [where] });
  if (problems.length === 0) return value as z.output<S>;
  throw new NightshiftError(
    'INVALID_INPUT',
    `invalid request ${where}: ${problems.map((p) => formatProblem(p)).join('; ')}`,
    { hint: 'see /openapi.json for the fields this route takes' },
  );
}
