import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directoryView } from './view.ts';

describe('directoryView', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-view-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a command in the directory and returns its output and exit code', async () => {
    await writeFile(join(dir, 'a.txt'), 'hello');
    const view = directoryView(dir);

    const result = await view.exec(['sh', '-c', 'cat a.txt; echo oops >&2; exit 3']);

    expect(view.path).toBe(dir);
    expect(result).toEqual({ exitCode: 3, stdout: 'hello', stderr: 'oops\n' });
  });

  it('resolves cwd against the directory and passes env and stdin', async () => {
    await mkdir(join(dir, 'sub'));

    const result = await directoryView(dir).exec(['sh', '-c', 'pwd; echo "$GREETING"; cat'], {
      cwd: 'sub',
      env: { GREETING: 'hi' },
      stdin: 'from stdin',
    });

    expect(result.stdout).toBe(`${join(dir, 'sub')}\nhi\nfrom stdin`);
  });

  it('gives exit code 127 for a command that does not exist', async () => {
    const result = await directoryView(dir).exec(['no-such-command-here']);

    expect(result.exitCode).toBe(127);
    expect(result.stderr).toContain('no-such-command-here');
  });
});
