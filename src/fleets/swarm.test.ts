import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { markersGate } from './swarm.ts';

const run = promisify(execFile);

describe('the converge run’s markers gate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-markers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the gate over `conflicts` as a blueprint step runs (`sh -ec`): its exit code and output. */
  async function gate(conflicts: string[]): Promise<{ code: number; stdout: string }> {
    try {
      const { stdout } = await run('sh', ['-ec', markersGate(conflicts)], { cwd: dir });
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string };
      return { code: failed.code, stdout: failed.stdout };
    }
  }

  it('fails while a file the merge left conflicted has a marker, naming it', async () => {
    writeFileSync(join(dir, "it's.txt"), 'a\n<<<<<<< HEAD\nb\n');
    writeFileSync(join(dir, 'clean.txt'), 'resolved\n');

    expect(await gate(['clean.txt', "it's.txt"])).toEqual({
      code: 1,
      stdout: "conflict markers left in: it's.txt\n",
    });
  });

  it('passes once they are resolved or deleted, whatever other files hold', async () => {
    writeFileSync(join(dir, 'docs.md'), 'A conflict looks like\n>>>>>>> theirs\n');
    writeFileSync(join(dir, 'clean.txt'), 'resolved\n');

    expect(await gate(['clean.txt', 'deleted.txt'])).toEqual({ code: 0, stdout: '' });
  });
});
