import { describe, expect, it } from 'vitest';
import { defaultModelFor, parseModelSpec } from './model.ts';

describe('model specs of the built-in agent', () => {
  it.each([
    ['anthropic:claude-sonnet-4-5', { provider: 'anthropic', model: 'claude-sonnet-4-5' }],
    ['openai:gpt-5', { provider: 'openai', model: 'gpt-5' }],
    ['openai-responses:gpt-5', { provider: 'openai-responses', model: 'gpt-5' }],
    ['openai-compatible:llama3:8b', { provider: 'openai-compatible', model: 'llama3:8b' }],
    ['claude-opus-4-1', { provider: 'anthropic', model: 'claude-opus-4-1' }],
    ['gpt-5-mini', { provider: 'openai', model: 'gpt-5-mini' }],
  ])('reads %s', (spec, expected) => {
    expect(parseModelSpec(spec)).toEqual(expected);
  });

  it.each([['mistral:large'], ['anthropic:'], ['']])('refuses %j, naming the providers', (spec) => {
    expect(() => parseModelSpec(spec)).toThrow(/is not PROVIDER:MODEL/);
  });

  it('defaults to the provider the server has a key for', () => {
    expect(defaultModelFor({ anthropic: {}, openai: {} })).toBe('anthropic:claude-sonnet-4-5');
    expect(defaultModelFor({ openai: {} })).toBe('openai:gpt-5');
  });
});
