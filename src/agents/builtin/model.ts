import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import { invalidInput, NightshiftError } from '../../core/errors.ts';
import { socketFetch } from './socket-fetch.ts';

/** The providers the built-in agent speaks, by the prefix of a model spec. */
export const MODEL_PROVIDERS = ['anthropic', 'openai', 'openai-responses', 'openai-compatible'] as const;
export type ModelProvider = (typeof MODEL_PROVIDERS)[number];

/** The model of a run when neither the step nor the harness options name one. */
export const DEFAULT_MODEL = 'anthropic:claude-sonnet-4-5';

/**
 * Sent as the API key: the model gateway removes whatever key a client sends and adds the
 * real one, which never leaves it.
 */
export const GATEWAY_PLACEHOLDER_KEY = 'nightshift-model-gateway';

export interface ModelSpec {
  provider: ModelProvider;
  model: string;
}

/**
 * Reads `provider:model`: `anthropic:claude-sonnet-4-5` (Messages API), `openai:gpt-5` (Chat
 * Completions), `openai-responses:gpt-5` (Responses API), `openai-compatible:llama3` (any
 * OpenAI-compatible server, e.g. Ollama). A name without a provider is taken as Anthropic's
 * when it starts with `claude`, else OpenAI's.
 */
export function parseModelSpec(spec: string): ModelSpec {
  const colon = spec.indexOf(':');
  const prefix = colon === -1 ? null : spec.slice(0, colon);
  if (prefix !== null && (MODEL_PROVIDERS as readonly string[]).includes(prefix)) {
    const model = spec.slice(colon + 1).trim();
    if (model !== '') return { provider: prefix as ModelProvider, model };
  }
  if (prefix === null && spec.trim() !== '') {
    return { provider: spec.startsWith('claude') ? 'anthropic' : 'openai', model: spec.trim() };
  }
  throw invalidInput(
    `model "${spec}" is not PROVIDER:MODEL`,
    `use one of ${MODEL_PROVIDERS.map((p) => `${p}:NAME`).join(', ')}, e.g. ${DEFAULT_MODEL}`,
  );
}

/** Why the built-in agent cannot run when the run has no model gateway (no provider configured). */
export function noGatewayError(): NightshiftError {
  return new NightshiftError(
    'HARNESS_UNAVAILABLE',
    'the built-in agent has no model provider: set ANTHROPIC_API_KEY or OPENAI_API_KEY (or NIGHTSHIFT_OPENAI_BASE_URL for an OpenAI-compatible server) where Nightshift runs',
    {
      hint: 'the key stays on the host: the run reaches the model through its model gateway (docs/agents.md)',
    },
  );
}

/**
 * The AI SDK model for `spec`, reached only through the run's model gateway on its Unix
 * socket, with a placeholder key the gateway replaces.
 */
export function gatewayModel(spec: ModelSpec, gatewaySocket: string): LanguageModel {
  const baseURL = 'http://model-gateway/v1';
  const apiKey = GATEWAY_PLACEHOLDER_KEY;
  const fetch = socketFetch(gatewaySocket);
  switch (spec.provider) {
    case 'anthropic':
      return createAnthropic({ baseURL, apiKey, fetch })(spec.model);
    case 'openai':
      return createOpenAI({ baseURL, apiKey, fetch }).chat(spec.model);
    case 'openai-responses':
      return createOpenAI({ baseURL, apiKey, fetch }).responses(spec.model);
    case 'openai-compatible':
      return createOpenAICompatible({
        name: 'openai-compatible',
        baseURL,
        apiKey,
        fetch,
        includeUsage: true,
      })(spec.model);
  }
}

/**
 * The default model for the providers a server has configured: Anthropic's when it has an
 * Anthropic key, else OpenAI's; an OpenAI-compatible server has no default (name the model
 * with `NIGHTSHIFT_MODEL` or the step's `model`).
 */
export function defaultModelFor(
  providers: { anthropic?: unknown; openai?: unknown; openaiCompatible?: unknown } | null,
): string {
  if (providers?.anthropic || !providers) return DEFAULT_MODEL;
  if (providers.openai) return 'openai:gpt-5';
  return DEFAULT_MODEL;
}
