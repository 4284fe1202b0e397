import { describe, expect, it } from 'vitest';
import { costOf, DEFAULT_PRICES, priceOf } from './prices.ts';

describe('model prices', () => {
  it.each([
    ['claude-sonnet-4-5-20250929', { input: 3, output: 15 }],
    ['claude-opus-4-5-20251101', { input: 5, output: 25 }],
    ['claude-opus-4-1-20250805', { input: 15, output: 75 }],
    ['gpt-4o-mini-2024-07-18', { input: 0.15, output: 0.6 }],
    ['gpt-4o-2024-08-06', { input: 2.5, output: 10 }],
  ])('prices %s by its longest matching prefix', (model, price) => {
    expect(priceOf(model, DEFAULT_PRICES)).toEqual(price);
  });

  it('computes USD from prices per million tokens', () => {
    expect(costOf('m', 2_000_000, 500_000, { m: { input: 3, output: 15 } })).toEqual({
      costUsd: 13.5,
      priced: true,
    });
  });

  it('counts an unknown model as free and says so', () => {
    expect(costOf('llama3.1:8b', 5000, 1000, DEFAULT_PRICES)).toEqual({ costUsd: 0, priced: false });
  });
});
