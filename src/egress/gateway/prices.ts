import type { ModelPrice } from './types.ts';

/**
 * List prices in USD per million tokens (input, output) of common models, as published by the
 * providers in 2025. Approximate: set `prices` for exact figures. Keys match a model name or a
 * prefix of it (`claude-sonnet-4-5` prices `claude-sonnet-4-5-20250929`); the longest wins.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
};

/** The price of a model: an exact key, else the longest key that prefixes it; undefined when unknown. */
export function priceOf(model: string, prices: Readonly<Record<string, ModelPrice>>): ModelPrice | undefined {
  const exact = prices[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const key of Object.keys(prices)) {
    if (model.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : prices[best];
}

/** Cost in USD of a call; an unknown model costs 0 and comes back with `priced: false`. */
export function costOf(
  model: string,
  inputTokens: number,
  outputTokens: number,
  prices: Readonly<Record<string, ModelPrice>>,
): { costUsd: number; priced: boolean } {
  const price = priceOf(model, prices);
  if (!price) return { costUsd: 0, priced: false };
  return { costUsd: (inputTokens * price.input + outputTokens * price.output) / 1_000_000, priced: true };
}
