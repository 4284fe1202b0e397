import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandsOf, parseDevcontainer, shellQuote } from './devcontainer.ts';

describe('parseDevcontainer', () => {
  it('reads setup from onCreateCommand then postCreateCommand, and env from containerEnv, with comments and trailing commas', () => {
    const text = `{
  // The image is ignored: the sandbox brings its own.
  "image": "mcr.microsoft.com/devcontainers/typescript-node",
  "postCreateCommand": "npm ci",
  "onCreateCommand": ["bash", "-c", "echo 'hello world'"],
  /* block comment */
  "containerEnv": { "NODE_ENV": "development", },
  "customizations": { "vscode": { "extensions": ["biomejs.biome"] } },
}
`;

    const { environment, errors, warnings } = parseDevcontainer(text);

    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(environment).toEqual({
      setup: [`bash -c 'echo '\\''hello world'\\'''`, 'npm ci'],
      env: { NODE_ENV: 'development' },
      test: null,
    });
  });

  it('runs each of the named commands of the object form, in order', () => {
    const text = '{ "postCreateCommand": { "deps": "npm ci", "db": ["./scripts/db.sh", "--seed"] } }';

    expect(parseDevcontainer(text).environment?.setup).toEqual(['npm ci', './scripts/db.sh --seed']);
  });

  it('runs updateContentCommand between onCreateCommand and postCreateCommand, as the spec does', () => {
    const text = '{ "postCreateCommand": "c", "updateContentCommand": "b", "onCreateCommand": "a" }';

    expect(parseDevcontainer(text).environment?.setup).toEqual(['a', 'b', 'c']);
  });

  it('warns that devcontainer variables in containerEnv are not expanded', () => {
    const variable = ['$', '{localEnv:HOME}'].join('');
    const { environment, warnings } = parseDevcontainer(
      `{\n  "containerEnv": { "HOME_DIR": "${variable}" }\n}`,
    );

    expect(environment?.env).toEqual({ HOME_DIR: variable });
    expect(warnings).toEqual([expect.objectContaining({ path: 'containerEnv.HOME_DIR', line: 2 })]);
  });

  it.each([
    ['a syntax error', '{\n  "postCreateCommand": "npm ci"\n  "x": 1\n}', '', 3, 'JSON syntax error'],
    ['a command of the wrong type', '{\n  "postCreateCommand": 42\n}', 'postCreateCommand', 2, 'expected'],
    [
      'a containerEnv value that is not a string',
      '{\n  "containerEnv": {\n    "N": 1\n  }\n}',
      'containerEnv.N',
      3,
      'expected a string',
    ],
  ])('reports %s with its path and line', (_case, text, path, line, message) => {
    const { environment, errors } = parseDevcontainer(text);

    expect(environment).toBeUndefined();
    expect(errors).toContainEqual(
      expect.objectContaining({ path, line, message: expect.stringContaining(message) }),
    );
  });
});

describe('commandsOf', () => {
  it.each([
    ['a string', 'make deps', ['make deps']],
    ['an empty string', '  ', []],
    ['an argv list', ['npm', 'run', 'build'], ['npm run build']],
    ['an empty argv list', [], []],
    ['named commands', { a: 'one', b: ['two', 'x y'] }, ['one', "two 'x y'"]],
  ])('turns %s into shell commands', (_case, command, expected) => {
    expect(commandsOf(command)).toEqual(expected);
  });
});

describe('shellQuote', () => {
  it.each([['plain'], ['with space'], ["it's"], [''], ['$(whoami) `id` "q" \\ *']])(
    'quotes %j so sh reads it back unchanged',
    (arg) => {
      const echoed = execFileSync('sh', ['-c', `printf %s ${shellQuote(arg)}`], { encoding: 'utf8' });

      expect(echoed).toBe(arg);
    },
  );
});
