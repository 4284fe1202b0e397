import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireHomeLock, lockOwner, removeStale } from './home-lock.ts';

const run = promisify(execFile);
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function lockDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-lock-'));
  dirs.push(dir);
  return dir;
}

describe('the home lock', () => {
  it('is taken whole, refused while its owner lives, and taken over from a dead one', async () => {
    const path = join(await lockDir(), 'lock');
    await writeFile(path, JSON.stringify({ pid: 2 ** 22 + 1, startTime: '1', command: 'gone' }));

    const release = acquireHomeLock(path, 'first');
    const owner = lockOwner(path);

    expect(owner).toMatchObject({ pid: process.pid, command: 'first' });
    expect(() => acquireHomeLock(path, 'second')).toThrow(
      `the Nightshift home is in use by process ${process.pid} (first)`,
    );
    release();
    expect(lockOwner(path)).toBeNull();
    // Nothing of this process's is left beside it.
    expect(await readdir(join(path, '..'))).toEqual([]);
  });

  it('keeps a live lock that replaced the stale one it was about to remove', async () => {
    const path = join(await lockDir(), 'lock');
    const release = acquireHomeLock(path, 'live');

    // Another process read the lock before this one took it, found it stale, and removes it now.
    removeStale(path);

    expect(lockOwner(path)).toMatchObject({ pid: process.pid, command: 'live' });
    release();
  });

  it('has one owner when many processes race for it, a stale lock in place', async () => {
    const dir = await lockDir();
    const path = join(dir, 'lock');
    const script = join(dir, 'take.mts');
    // Each process takes the lock (or is refused), holds it long enough for all to have tried, and says which.
    await writeFile(
      script,
      `import { acquireHomeLock } from ${JSON.stringify(join(import.meta.dirname, 'home-lock.ts'))};
// All start at the same moment, so their attempts overlap.
await new Promise((resolve) => setTimeout(resolve, Number(process.argv[2]) - Date.now()));
let release;
try { release = acquireHomeLock(${JSON.stringify(path)}, 'race'); } catch (error) { console.log(error.code); process.exit(0); }
console.log('owner');
setTimeout(() => release(), 4000);
`,
    );
    for (let round = 0; round < 2; round++) {
      await writeFile(path, JSON.stringify({ pid: 2 ** 22 + 1, startTime: '1', command: 'gone' }));

      const at = String(Date.now() + 3000);
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, () =>
          run(process.execPath, ['--import', 'tsx', script, at]).then(({ stdout }) => stdout.trim()),
        ),
      );

      expect(outcomes.filter((outcome) => outcome === 'owner')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'HOME_LOCKED')).toHaveLength(5);
    }
  }, 120_000);
});
