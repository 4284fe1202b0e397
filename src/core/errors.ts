/**
 * Typed errors with stable codes. Every surface (CLI, HTTP) catches them once and maps the
 * code to an exit code or status; `hint` tells the user what to do about it.
 */
export type ErrorCode =
  | 'INVALID_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'BLUEPRINT_INVALID'
  | 'BLUEPRINT_NOT_FOUND'
  | 'AUTOMATION_INVALID'
  | 'SIGNATURE_INVALID'
  | 'ENVIRONMENT_INVALID'
  | 'POLICY_INVALID'
  | 'REPO_INVALID'
  | 'SCM_FAILED'
  | 'SANDBOX_UNAVAILABLE'
  | 'SANDBOX_FAILED'
  | 'HARNESS_UNAVAILABLE'
  | 'EGRESS_UNAVAILABLE'
  | 'STORE_FAILED'
  | 'HOME_LOCKED'
  | 'OWNER_GONE'
  | 'POLICY_DENIED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

export class NightshiftError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'NightshiftError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** An error's message, with its hint in parentheses when it has one: what went wrong and what to do, on one line. */
export function messageWithHint(error: unknown): string {
  if (error instanceof NightshiftError && error.hint) return `${error.message} (${error.hint})`;
  return error instanceof Error ? error.message : String(error);
}

export function notFound(what: string, id: string, hint?: string): NightshiftError {
  return new NightshiftError('NOT_FOUND', `${what} ${id} does not exist`, { hint });
}

export function invalidInput(message: string, hint?: string): NightshiftError {
  return new NightshiftError('INVALID_INPUT', message, { hint });
}

/** Wraps anything thrown into a NightshiftError, keeping typed errors as they are. */
export function toNightshiftError(error: unknown): NightshiftError {
  if (error instanceof NightshiftError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new NightshiftError('INTERNAL', message, { cause: error });
}
