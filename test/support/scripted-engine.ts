import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { HarnessRegistry } from '../../src/agents/registry.ts';
import { Engine, engineConfig } from '../../src/engine/index.ts';
import { type DatabaseKind, newPostgresDatabase } from './databases.ts';
import { makeRepo } from './repos.ts';

/**
 * An engine with a running worker on `kind`'s database, whose default harness is `scripted`
 * (tests register their own `ScriptedHarness` in `harnesses`), in a temp dir removed afterwards.
 */
export function scriptedEngine(kind: DatabaseKind, name: string) {
  const dir = mkdtempSync(join(tmpdir(), `nightshift-${name}-`));
  const harnesses = new HarnessRegistry();
  const state = { dir, harnesses } as { dir: string; harnesses: HarnessRegistry; engine: Engine };
  let repos = 0;

  beforeAll(async () => {
    const config = {
      ...engineConfig(join(dir, 'home'), {}),
      databaseUrl: kind === 'postgres' ? await newPostgresDatabase() : undefined,
      defaultHarness: 'scripted',
      limits: { memoryBytes: 256 * 1024 * 1024, pids: 256 },
    };
    state.engine = await Engine.open(config, { harnesses });
    await state.engine.startWorker();
  });

  afterAll(async () => {
    await state.engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new git repo in the temp dir with `files` committed. */
  async function newRepo(files: Record<string, string> = { 'README.md': '# demo\n' }): Promise<string> {
    const repo = join(dir, `repo${repos++}`);
    await makeRepo(repo, files);
    return repo;
  }

  return { state, newRepo };
}
