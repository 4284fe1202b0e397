/**
 * The attack suite's harness: a real Engine on a temp home with a server policy, runs whose
 * `script:` plays a misbehaving agent inside the real sandbox, and what the host sees afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditData, type AuditEntry, listAudit } from '../../src/audit/index.ts';
import type { RunEvent } from '../../src/core/events.ts';
import type { Change, Run } from '../../src/core/run.ts';
import { Engine, engineConfig } from '../../src/engine/index.ts';
import type { SandboxLimits } from '../../src/sandbox/types.ts';
import { type ModelServer, type ScriptedTurn, startModelServer } from '../support/model-server.ts';
import { makeRepo } from '../support/repos.ts';

export interface AttackOptions {
  /** The server policy (`$NIGHTSHIFT_HOME/policy.yml`), YAML. */
  policy: string;
  /** Engine-wide sandbox limits on top of the defaults (e.g. a small `tmpBytes`). */
  limits?: Partial<SandboxLimits>;
  /**
   * Turns of the scripted model the gateway forwards to (reached with the key below). Without
   * it no model provider is configured: no gateway, and no bridge in the sandbox.
   */
  modelScript?: ScriptedTurn[];
  /** The model provider's key, known to the host only. */
  modelKey?: string;
}

export interface AttackResult {
  run: Run;
  events: RunEvent[];
  audit: AuditEntry[];
  /** The host's source repository the run started from (and would publish to). */
  repo: string;
  change: Change | null;
  /** Everything the run's steps printed, stdout and stderr. */
  output: string;
}

export interface AttackLab {
  engine: Engine;
  /** A temp directory of the host, outside every sandbox (the home is in it). */
  dir: string;
  home: string;
  models: ModelServer;
  /**
   * Queues a run of `script` on a repo with `files` (runs with the same files share one repo, as
   * runs of a project do); `finished()` waits for its end.
   */
  start(
    script: string,
    files?: Record<string, string>,
  ): Promise<{ run: Run; repo: string; finished(): Promise<AttackResult> }>;
  /** Runs `script` as the agent of one run and returns what happened. */
  runAttack(script: string, files?: Record<string, string>): Promise<AttackResult>;
  /** Runs `script` on the host repository `repo` (one a test made) and returns what happened. */
  runAttackOn(repo: string, script: string): Promise<AttackResult>;
  /** One run trying every command in turn, each allowed to fail: one run for a table of attacks. */
  runAttacks(commands: string[], files?: Record<string, string>): Promise<AttackResult>;
  close(): Promise<void>;
}

/** A string nobody else has, to find what an attack left behind. */
export function marker(prefix = 'attack'): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/**
 * Opens an Engine with its worker on a fresh temp home governed by `policy`, with model
 * providers pointing at a scripted model server.
 */
export async function openLab(options: AttackOptions): Promise<AttackLab> {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-security-'));
  const home = join(dir, 'home');
  const models = await startModelServer({ script: options.modelScript ?? [] });
  const config = engineConfig(
    home,
    options.modelScript
      ? {
          ANTHROPIC_API_KEY: options.modelKey ?? `sk-ant-${marker('lab')}`,
          NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
        }
      : {},
  );
  const engine = await Engine.open({ ...config, limits: { ...config.limits, ...options.limits } });
  writeFileSync(join(home, 'policy.yml'), options.policy);
  await engine.startWorker();
  const repos = new Map<string, Promise<string>>();

  function repoWith(files: Record<string, string>): Promise<string> {
    const key = JSON.stringify(files);
    let repo = repos.get(key);
    if (!repo) {
      const path = join(dir, `repo${repos.size}`);
      repo = makeRepo(path, files).then(() => path);
      repos.set(key, repo);
    }
    return repo;
  }

  async function finished(runId: string, repo: string): Promise<AttackResult> {
    for (;;) {
      const run = await engine.store.getRun(runId);
      if (run.status === 'completed') {
        const events = await engine.store.events(runId, 0, 100_000);
        const output = events.map((e) => (e.type === 'step.output' ? e.data.text : '')).join('');
        return {
          run,
          events,
          audit: await listAudit(engine.store.db, { runId }),
          repo,
          change: await engine.store.changes.forRun(runId),
          output,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const lab: AttackLab = {
    engine,
    dir,
    home,
    models,
    async start(script, files = { 'README.md': 'a project\n' }) {
      const repo = await repoWith(files);
      const run = await engine.submit({ repo, script });
      return { run, repo, finished: () => finished(run.id, repo) };
    },
    runAttacks(commands, files) {
      return lab.runAttack(commands.map((command) => `${command} || true`).join('\n'), files);
    },
    async runAttack(script, files) {
      const started = await lab.start(script, files);
      return started.finished();
    },
    async runAttackOn(repo, script) {
      const run = await engine.submit({ repo, script });
      return finished(run.id, repo);
    },
    async close() {
      await engine.close();
      await models.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return lab;
}

/** The `exec` entries (programs the kernel saw run) of an audit log. */
export function execs(audit: AuditEntry[]): AuditData<'exec'>[] {
  return audit.filter((e) => e.kind === 'exec').map((e) => e.data as AuditData<'exec'>);
}

/** The traced exec whose argv is exactly `argv`; undefined when the kernel never ran it. */
export function execOf(audit: AuditEntry[], argv: string[]): AuditData<'exec'> | undefined {
  return execs(audit).find((e) => JSON.stringify(e.argv) === JSON.stringify(argv));
}

/** The `egress` decisions of an audit log. */
export function egress(audit: AuditEntry[]): AuditData<'egress'>[] {
  return audit.filter((e) => e.kind === 'egress').map((e) => e.data as AuditData<'egress'>);
}

/** The `policy.denied` entries of an audit log. */
export function denials(audit: AuditEntry[]): AuditData<'policy.denied'>[] {
  return audit.filter((e) => e.kind === 'policy.denied').map((e) => e.data as AuditData<'policy.denied'>);
}

/** The content of `path` as the run's change adds it, or undefined when the change does not have it. */
export function addedFile(change: Change | null, path: string): string | undefined {
  if (!change) return undefined;
  const start = change.diff.indexOf(`+++ b/${path}\n`);
  if (start < 0) return undefined;
  const body = change.diff.slice(start).split('\n').slice(2);
  const lines: string[] = [];
  for (const line of body) {
    if (line.startsWith('diff --git ')) break;
    if (line.startsWith('+')) lines.push(line.slice(1));
  }
  return lines.join('\n');
}

/** `argv` as one shell command line, each argument single-quoted. */
export function shellQuote(argv: string[]): string {
  return argv.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
}
