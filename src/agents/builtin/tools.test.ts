import { mkdir, mkdtemp, rm, writeFile as writeHostFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSandboxProvider } from '../../sandbox/local/index.ts';
import type { LocalSandbox } from '../../sandbox/local/sandbox.ts';
import { editFile, readFile, writeFile } from './files.ts';
import { grepFiles, listFiles } from './search.ts';
import { runShell } from './tools.ts';

let root: string;
let sandbox: LocalSandbox;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nightshift-builtin-tools-'));
  const base = join(root, 'base');
  await mkdir(join(base, 'src'), { recursive: true });
  await writeHostFile(join(base, 'src', 'app.ts'), 'const a = 1;\nconst b = 1;\nexport { a, b };\n');
  await writeHostFile(join(base, 'src', 'app.test.ts'), 'test(a);\n');
  await writeHostFile(join(base, 'README.md'), '# Demo\nSee src/app.ts\n');
  await writeHostFile(
    join(base, 'lines.txt'),
    `${Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n')}\n`,
  );
  sandbox = await new LocalSandboxProvider().create({
    runId: 'run_0000000000builtintools1',
    baseDir: base,
    stateDir: join(root, 'state'),
    limits: { memoryBytes: 256 * 1024 * 1024, pids: 128 },
  });
});

afterAll(async () => {
  await sandbox.destroy({ discard: true });
  await rm(root, { recursive: true, force: true });
});

const shell = (command: string, timeout_seconds?: number) =>
  runShell({ sandbox, env: {}, maxChars: 1000, commandTimeoutMs: 30_000 }, { command, timeout_seconds });

describe('the built-in agent tools', () => {
  it('runs a shell command in the workspace and reports its exit code and combined output', async () => {
    const output = await shell('pwd; echo to-stderr >&2; exit 3');

    expect(output).toBe('exit code: 3\n/workspace\nto-stderr\n');
  });

  it('truncates long command output in the middle, with a marker', async () => {
    const output = await shell('echo START; head -c 5000 /dev/zero | tr "\\0" x; echo; echo END');

    expect(output.length).toBeLessThan(1100);
    expect(output).toMatch(/^exit code: 0\nSTART\n/);
    expect(output).toMatch(/\[\.\.\. \d+ characters truncated \.\.\.\]/);
    expect(output).toMatch(/END\n$/);
  });

  it('kills a command past its timeout and says so', async () => {
    const output = await shell('echo started; sleep 30', 1);

    expect(output).toBe('the command timed out after 1 s and was killed\nstarted\n');
  });

  it('reads a file whole, or a range of its lines with a note', async () => {
    expect(await readFile(sandbox, { path: 'src/app.ts' })).toBe(
      'const a = 1;\nconst b = 1;\nexport { a, b };\n',
    );
    expect(await readFile(sandbox, { path: 'lines.txt', offset: 3, limit: 2 })).toBe(
      'line 3\nline 4\n\n[lines 3-4 of 10; pass offset and limit for others]',
    );
  });

  it('writes a new file in a new folder inside the sandbox, and says whether it existed', async () => {
    const first = await writeFile(sandbox, { path: 'docs/new.md', content: 'hello\n' });
    const second = await writeFile(sandbox, { path: './docs/new.md', content: 'hello again\n' });

    expect([first.kind, second.kind]).toEqual(['added', 'modified']);
    expect((await sandbox.exec(['cat', 'docs/new.md'])).stdout).toBe('hello again\n');
  });

  it('edits a file when the old text occurs exactly once', async () => {
    await writeFile(sandbox, { path: 'edit-once.ts', content: 'let x = $1;\nlet y = 2;\n' });

    const result = await editFile(sandbox, {
      path: 'edit-once.ts',
      oldString: 'y = 2',
      newString: 'y = $&3',
    });

    expect(result.replacements).toBe(1);
    expect(await readFile(sandbox, { path: 'edit-once.ts' })).toBe('let x = $1;\nlet y = $&3;\n');
  });

  it('refuses an edit whose old text occurs twice or not at all, leaving the file as it was', async () => {
    // Both settle before either is awaited on its own: a rejection never goes unhandled meanwhile.
    const [twice, missing] = await Promise.allSettled([
      editFile(sandbox, { path: 'src/app.ts', oldString: '= 1;', newString: '= 2;' }),
      editFile(sandbox, { path: 'src/app.ts', oldString: 'const c', newString: 'const d' }),
    ]);

    expect(twice).toMatchObject({
      status: 'rejected',
      reason: {
        message: expect.stringMatching(/occurs 2 times in src\/app\.ts: include more surrounding lines/),
      },
    });
    expect(missing).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/old_string was not found in src\/app\.ts/) },
    });
    expect(await readFile(sandbox, { path: 'src/app.ts' })).toBe(
      'const a = 1;\nconst b = 1;\nexport { a, b };\n',
    );
  });

  it('replaces every occurrence when asked to', async () => {
    await writeFile(sandbox, { path: 'all.txt', content: 'a a a\n' });

    const result = await editFile(sandbox, {
      path: 'all.txt',
      oldString: 'a',
      newString: 'b',
      replaceAll: true,
    });

    expect(result.replacements).toBe(3);
    expect(await readFile(sandbox, { path: 'all.txt' })).toBe('b b b\n');
  });

  it.each([['../etc/passwd'], ['/etc/passwd'], ['src/../../etc/passwd'], ['/workspace/../home']])(
    'refuses the path %s outside the workspace',
    async (path) => {
      await expect(readFile(sandbox, { path })).rejects.toThrow(/outside the workspace/);
      await expect(writeFile(sandbox, { path, content: 'x' })).rejects.toThrow(/outside the workspace/);
      await expect(listFiles(sandbox, { path })).rejects.toThrow(/outside the workspace/);
    },
  );

  it('says why a file cannot be read', async () => {
    await expect(readFile(sandbox, { path: 'nope.txt' })).rejects.toThrow(
      /cannot read nope\.txt: .*No such file/,
    );
  });

  it('lists files, filtered by a glob, relative to the workspace', async () => {
    expect(await listFiles(sandbox, { pattern: '*.ts' })).toBe('edit-once.ts\nsrc/app.test.ts\nsrc/app.ts');
    expect(await listFiles(sandbox, { path: 'src', pattern: '**/*.test.ts' })).toBe('src/app.test.ts');
  });

  it('greps file contents with line numbers, and says when nothing matches', async () => {
    expect(await grepFiles(sandbox, { pattern: 'const [ab]', path: 'src' })).toBe(
      'src/app.ts:1:const a = 1;\nsrc/app.ts:2:const b = 1;',
    );
    expect(await grepFiles(sandbox, { pattern: 'app\\.ts', glob: '*.md' })).toBe(
      'README.md:2:See src/app.ts',
    );
    expect(await grepFiles(sandbox, { pattern: 'no such text anywhere' })).toBe('no matches');
  });
});
