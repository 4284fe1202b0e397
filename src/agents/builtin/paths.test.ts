import { describe, expect, it } from 'vitest';
import { globToRegExp, workspacePath } from './paths.ts';

describe('workspace paths of the built-in agent', () => {
  it.each([
    ['src/a.ts', '/workspace/src/a.ts'],
    ['./src/../b.ts', '/workspace/b.ts'],
    ['/workspace/c.ts', '/workspace/c.ts'],
    ['', '/workspace'],
  ])('resolves %j to %s', (path, expected) => {
    expect(workspacePath(path)).toBe(expected);
  });

  it.each([['..'], ['../x'], ['/etc/passwd'], ['/workspacefoo/x'], ['a/../../x']])(
    'refuses %j, which leaves the workspace',
    (path) => {
      expect(() => workspacePath(path)).toThrow(/outside the workspace/);
    },
  );
});

describe('globs of list_files', () => {
  it.each([
    ['*.ts', 'src/deep/a.ts', true],
    ['*.ts', 'a.tsx', false],
    ['src/*.ts', 'src/deep/a.ts', false],
    ['src/**/*.ts', 'src/deep/a.ts', true],
    ['src/**/*.ts', 'src/a.ts', true],
    ['*.{js,ts}', 'b.js', true],
    ['a?.md', 'ab.md', true],
  ])('%s matches %s: %s', (glob, path, expected) => {
    expect(globToRegExp(glob).test(path)).toBe(expected);
  });
});
