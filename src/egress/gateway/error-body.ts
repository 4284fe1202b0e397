import type { ModelApi } from './types.ts';

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  502: 'api_error',
};

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  404: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'insufficient_quota',
  502: 'server_error',
};

/**
 * An error body in the provider's own format, so the client's SDK shows our message as it would
 * show the provider's: Anthropic `{ type: 'error', error: { type, message } }`, OpenAI
 * `{ error: { message, type, param, code } }`. `code` is ours (`budget_exceeded`, ...).
 */
export function errorBody(api: ModelApi, status: number, code: string, message: string): string {
  if (api === 'anthropic') {
    return JSON.stringify({
      type: 'error',
      error: { type: ANTHROPIC_TYPES[status] ?? 'api_error', message },
    });
  }
  return JSON.stringify({
    error: { message, type: OPENAI_TYPES[status] ?? 'server_error', param: null, code },
  });
}
