import { chown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitIn } from './support/repos.ts';
import { scriptedEngine } from './support/scripted-engine.ts';

const NOBODY = 65534;
const SANDBOX_UID = 61000;

async function owners(dir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    found.set(path, (await lstat(path)).uid);
  }
  return found;
}

/**
 * Under root the sandbox runs as a dedicated uid, and the base checkout is handed to it. The
 * base's git objects are hard links of the source repository's: handing them over must not hand
 * the source's files to the sandbox uid.
 */
describe.runIf(process.getuid?.() === 0)('a run as root and the source repository', () => {
  const { state, newRepo } = scriptedEngine('pglite', 'ownership', { traceExecs: false });

  it('leaves every file of the source with its owner, and none to the sandbox uid', async () => {
    const repo = await newRepo({ 'notes.txt': 'one\n', 'src/app.ts': 'export {};\n' });
    await gitIn(repo, 'gc', '--quiet');
    for (const path of [repo, ...(await owners(repo)).keys()]) await chown(path, NOBODY, NOBODY);
    const before = await owners(repo);

    const run = await state.engine.submit({ cwd: state.dir, repo, script: 'echo two >> notes.txt' });
    let current = await state.engine.store.getRun(run.id);
    while (current.status !== 'completed') {
      await new Promise((resolve) => setTimeout(resolve, 50));
      current = await state.engine.store.getRun(run.id);
    }

    expect(current.conclusion).toBe('success');
    const after = await owners(repo);
    const changed = [...before].filter(([path, uid]) => after.get(path) !== uid).map(([path]) => path);
    expect(changed).toEqual([]);
    expect([...after].filter(([, uid]) => uid === SANDBOX_UID)).toEqual([]);
  });
});
