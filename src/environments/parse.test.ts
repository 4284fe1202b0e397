import { describe, expect, it } from 'vitest';
import { parseEnvironmentFile } from './parse.ts';
import { environmentTemplateValues } from './types.ts';

describe('parseEnvironmentFile', () => {
  it('normalizes setup, env and test', () => {
    const text =
      'setup:\n  - npm ci\n  - npm run build\nenv:\n  NODE_ENV: test\n  PORT: 3000\ntest: npm test\n';

    const { environment, errors } = parseEnvironmentFile(text);

    expect(errors).toEqual([]);
    expect(environment).toEqual({
      setup: ['npm ci', 'npm run build'],
      env: { NODE_ENV: 'test', PORT: '3000' },
      test: 'npm test',
    });
  });

  it.each([
    ['a single setup string', 'setup: make deps\n', { setup: ['make deps'], env: {}, test: null }],
    ['an empty file', '# nothing yet\n', { setup: [], env: {}, test: null }],
    ['an empty test command', 'test: ""\n', { setup: [], env: {}, test: null }],
  ])('accepts %s', (_case, text, expected) => {
    expect(parseEnvironmentFile(text).environment).toEqual(expected);
  });

  it.each([
    [
      'an unknown key',
      'setup: npm ci\ntests: npm test\n',
      'tests',
      2,
      'unknown key `tests` (did you mean `test`?)',
    ],
    [
      'a setup item that is not a string',
      'setup:\n  - npm ci\n  - { run: x }\n',
      'setup[1]',
      3,
      'expected a string',
    ],
    ['a bad variable name', 'env:\n  NODE-ENV: x\n', 'env.NODE-ENV', 2, 'variable name'],
    ['a test that is a list', 'test: [a]\n', 'test', 1, 'expected a string, got a list'],
    ['a YAML syntax error', 'setup: npm ci\ntest: [a\n', '', 3, 'Flow sequence'],
    ['a list at the top', '- npm ci\n', '', 1, 'expected a mapping'],
  ])('reports %s with its dot-path and line', (_case, text, path, line, message) => {
    const { environment, errors } = parseEnvironmentFile(text);

    expect(environment).toBeUndefined();
    expect(errors).toContainEqual(
      expect.objectContaining({ path, line, message: expect.stringContaining(message) }),
    );
  });
});

describe('environmentTemplateValues', () => {
  it('joins setup commands with newlines and gives an empty test when there is none', () => {
    const values = environmentTemplateValues({ setup: ['npm ci', 'npm run build'], env: {}, test: null });

    expect(values).toEqual({ setup: 'npm ci\nnpm run build', test: '' });
  });
});
