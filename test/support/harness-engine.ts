import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Harness, HarnessContext, HarnessSession } from '../../src/agents/types.ts';
import type { HarnessEvent, RunEvent } from '../../src/core/events.ts';
import { homePaths } from '../../src/core/home.ts';
import { newId } from '../../src/core/ids.ts';
import { Engine, engineConfig } from '../../src/engine/index.ts';
import { provision } from '../../src/engine/provision.ts';
import { type ModelServer, type ScriptedEntry, type ScriptedTurn, startModelServer } from './model-server.ts';
import { makeRepo } from './repos.ts';

export const LIMITS = { memoryBytes: 2048 * 1024 * 1024, pids: 512 };

/** A repo whose test gate passes only when answer.txt says 42. */
export const REPO_FILES = {
  '.nightshift/environment.yml': 'test: sh check.sh\n',
  'check.sh': 'test "$(cat answer.txt)" = 42 || { echo "answer.txt is not 42"; exit 1; }\n',
};

export const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
  events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);

/** Polls `check` until it holds; generous by default, for a loaded CI machine. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * An engine whose default harness is `harness`, with the scripted model server behind the run's
 * gateway (provider variables from `env`), and the suite's shared tools cache.
 */
export function harnessEngine(harness: string, env: (models: ModelServer) => NodeJS.ProcessEnv) {
  const script: ScriptedEntry[] = [];
  // The temp dir is made in beforeAll: a suite filtered out (`-t`) runs no afterAll to remove it.
  const state = { script, repos: 0 } as {
    dir: string;
    script: ScriptedEntry[];
    repos: number;
    models: ModelServer;
    engine: Engine;
  };
  beforeAll(async () => {
    state.models = await startModelServer({ script });
    state.dir = mkdtempSync(join(tmpdir(), `nightshift-${harness}-`));
    const config = engineConfig(join(state.dir, 'home'), {
      NIGHTSHIFT_HARNESS: harness,
      NIGHTSHIFT_TOOLS_DIR: process.env.NIGHTSHIFT_TOOLS_DIR,
      ...env(state.models),
    });
    state.engine = await Engine.open({ ...config, limits: LIMITS });
    await state.engine.startWorker();
  }, 180_000);
  afterAll(async () => {
    await state.engine?.close();
    await state.models?.close();
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
  });
  async function submit(prompt: string, turns: ScriptedTurn[], files: Record<string, string> = REPO_FILES) {
    script.push(...turns);
    const repo = join(state.dir, `repo${state.repos++}`);
    await makeRepo(repo, files);
    return { repo, run: await state.engine.submit({ repo, prompt }) };
  }
  async function finish(runId: string) {
    await waitFor(async () => (await state.engine.store.getRun(runId)).status === 'completed', 180_000);
    return { run: await state.engine.store.getRun(runId), events: await state.engine.store.events(runId) };
  }
  return { state, submit, finish };
}

/** Every event of a session until it ends. */
export async function collect(events: AsyncIterable<HarnessEvent>): Promise<HarnessEvent[]> {
  const seen: HarnessEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

/**
 * Starts `harness` on `prompt` in a freshly provisioned sandbox of the engine (the same path a
 * run takes: the CLI shown read-only, the gateway bridged in), outside any run, so a test can
 * send follow-ups, stop it, or resume from an earlier session folder.
 */
export async function startHarness(
  engine: Engine,
  harness: Harness,
  prompt: string,
  options: { dir: string; resumeFrom?: string; files?: Record<string, string> },
): Promise<{ session: HarnessSession; sessionDir: string; release: () => Promise<void> }> {
  const id = newId('run');
  const repoDir = join(options.dir, `repo-${id}`);
  await makeRepo(repoDir, options.files ?? REPO_FILES);
  const repo = await engine.store.repos.upsert(await engine.scm.resolve(repoDir));
  const provisioned = await provision(engine.provisionDeps(), {
    id,
    repo,
    baseCommit: null,
    stateDir: join(homePaths(engine.config.home).runs, id),
    files: await harness.sandboxFiles?.(),
    onEgress: () => {},
    onModelCall: () => {},
    onBudgetExceeded: () => {},
  });
  const sessionDir = join(options.dir, 'sessions', id, 'agent');
  mkdirSync(sessionDir, { recursive: true });
  const context: HarnessContext = {
    runId: id,
    stepId: 'agent',
    sessionDir,
    resumeFrom: options.resumeFrom,
    sandbox: provisioned.sandbox,
    env: {},
    modelGatewaySocket: provisioned.modelGatewaySocket,
    signal: new AbortController().signal,
  };
  await harness.prepare?.(context);
  return { session: harness.start(prompt, context), sessionDir, release: () => provisioned.release() };
}
