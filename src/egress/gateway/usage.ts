/** Token counts read from a provider's payloads, field by field as they arrive. */
export interface UsageReading {
  model?: string;
  input?: number;
  cacheWrite?: number;
  cacheRead?: number;
  output?: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Folds the usage found in one payload into `reading`. Payloads are whole JSON responses or the
 * data of one SSE event, of any of the three APIs: Anthropic (`usage`, `message.usage` in
 * `message_start`, `usage` in `message_delta`, whose counts are cumulative), Chat Completions
 * (`usage` of the last chunk) and Responses (`response.usage` in `response.completed`). Later
 * values replace earlier ones, field by field.
 */
export function readUsage(reading: UsageReading, payload: unknown): void {
  if (!isObject(payload)) return;
  for (const holder of [payload, payload.message, payload.response]) {
    if (!isObject(holder)) continue;
    if (typeof holder.model === 'string' && holder.model) reading.model = holder.model;
    const usage = holder.usage;
    if (!isObject(usage)) continue;
    const input = count(usage.input_tokens) ?? count(usage.prompt_tokens);
    const output = count(usage.output_tokens) ?? count(usage.completion_tokens);
    const cacheWrite = count(usage.cache_creation_input_tokens);
    const cacheRead = count(usage.cache_read_input_tokens);
    if (input !== undefined) reading.input = input;
    if (output !== undefined) reading.output = output;
    if (cacheWrite !== undefined) reading.cacheWrite = cacheWrite;
    if (cacheRead !== undefined) reading.cacheRead = cacheRead;
  }
}

/** Input tokens of a reading: Anthropic counts cache writes and reads apart, OpenAI inside. */
export function inputTokensOf(reading: UsageReading): number {
  return (reading.input ?? 0) + (reading.cacheWrite ?? 0) + (reading.cacheRead ?? 0);
}
