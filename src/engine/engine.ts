import { mkdirSync } from 'node:fs';
import type pino from 'pino';
import { BuiltinHarness, defaultModelFor } from '../agents/builtin/index.ts';
import { HarnessRegistry } from '../agents/registry.ts';
import { loadBlueprint } from '../blueprints/load.ts';
import { parseTemplate } from '../blueprints/template.ts';
import type { Blueprint } from '../blueprints/types.ts';
import { invalidInput } from '../core/errors.ts';
import { homePaths } from '../core/home.ts';
import type { Run } from '../core/run.ts';
import { FleetService } from '../fleets/service.ts';
import { serverPolicyFile } from '../policy/load.ts';
import { LocalSandboxProvider } from '../sandbox/local/index.ts';
import type { SandboxProvider } from '../sandbox/types.ts';
import { LocalScmProvider } from '../scm/local/index.ts';
import type { ScmProvider } from '../scm/types.ts';
import { Store } from '../store/index.ts';
import { expireForeignLeases } from '../store/queue.ts';
import type { EngineConfig } from './config.ts';
import { acquireHomeLock } from './home-lock.ts';
import { createLogger } from './log.ts';
import type { ProvisionDeps } from './provision.ts';
import { Worker } from './worker.ts';

/** What a person (or a trigger) asks for. */
export interface RunRequest {
  /** A path or `file://` URL of a git repository. */
  repo: string;
  prompt?: string;
  script?: string;
  values?: Record<string, string>;
  /** A built-in blueprint name or a YAML file path; default `default` with a prompt, `script` with a script. */
  blueprint?: string;
  /** Directory relative paths are resolved against. */
  cwd?: string;
  baseRef?: string;
  timeoutMs?: number;
  priority?: number;
  trigger?: string;
  author?: string | null;
}

export interface EngineParts {
  sandboxes?: SandboxProvider;
  scm?: ScmProvider;
  harnesses?: HarnessRegistry;
  logger?: pino.Logger;
}

/**
 * The engine of one process: the store, the providers and a worker. With the embedded
 * database it owns the Nightshift home (a lock file) until closed.
 */
export class Engine {
  readonly worker: Worker;
  /** Fleet operations and the rollout loop (started with the worker). */
  readonly fleets: FleetService;
  private closed = false;

  private constructor(
    readonly config: EngineConfig,
    readonly store: Store,
    readonly sandboxes: SandboxProvider,
    readonly scm: ScmProvider,
    readonly harnesses: HarnessRegistry,
    readonly log: pino.Logger,
    private readonly releaseLock: () => void,
  ) {
    const paths = homePaths(config.home);
    this.fleets = new FleetService({ store, scm, log, defaultTimeoutMs: config.defaultTimeoutMs });
    this.worker = new Worker(
      {
        ...this.provisionDeps(),
        store,
        harnesses,
        defaultHarness: config.defaultHarness,
        author: config.author,
        runsDir: paths.runs,
        secrets: config.secrets,
      },
      {
        concurrency: config.concurrency,
        perRepoConcurrency: config.perRepoConcurrency,
        globalConcurrency: config.globalConcurrency,
        leaseMs: config.leaseMs,
        maxAttempts: config.maxAttempts,
        pollMs: store.db.kind === 'postgres' ? 500 : 1000,
      },
      log,
    );
  }

  /** What provisioning a governed sandbox needs (runs, and `nightshift sandbox exec`). */
  provisionDeps(): ProvisionDeps {
    return {
      scm: this.scm,
      sandboxes: this.sandboxes,
      limits: this.config.limits,
      serverPolicyFile: serverPolicyFile(this.config.home),
      modelProviders: this.config.modelProviders,
      node: process.execPath,
    };
  }

  /** Opens the store (taking the home's lock for the embedded database) and builds the providers. */
  static async open(config: EngineConfig, parts: EngineParts = {}, command = 'nightshift'): Promise<Engine> {
    const paths = homePaths(config.home);
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    const release = config.databaseUrl ? () => {} : acquireHomeLock(paths.lock, command);
    try {
      const store = await Store.open({
        url: config.databaseUrl,
        dir: config.databaseUrl ? undefined : paths.database,
      });
      const log = parts.logger ?? createLogger();
      return new Engine(
        config,
        store,
        parts.sandboxes ??
          new LocalSandboxProvider({
            log,
            bwrapPath: config.bwrapPath,
            hiddenPaths: [paths.home],
            traceExecs: config.traceExecs,
          }),
        parts.scm ?? new LocalScmProvider({ mirrorsDir: paths.mirrors, basesDir: paths.bases }),
        parts.harnesses ??
          new HarnessRegistry().register(
            new BuiltinHarness({
              defaultModel: config.defaultModel ?? defaultModelFor(config.modelProviders),
            }),
          ),
        log,
        release,
      );
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Validates a request and queues its run. Nothing is queued when anything is wrong. */
  async submit(request: RunRequest): Promise<Run> {
    if (request.prompt === undefined && request.script === undefined) {
      throw invalidInput('a run needs a prompt or a script', 'pass `--prompt TEXT` or `--script CMD`');
    }
    const name = request.blueprint ?? (request.prompt !== undefined ? 'default' : 'script');
    const { blueprint } = await loadBlueprint(name, { cwd: request.cwd ?? process.cwd() });
    this.checkInputs(blueprint, request);
    const resolved = await this.scm.resolve(request.repo);
    const repo = await this.store.repos.upsert(resolved);
    return this.store.createRun({
      repoId: repo.id,
      blueprint: blueprint.name,
      blueprintSpec: blueprint,
      inputs: { prompt: request.prompt, script: request.script, values: request.values },
      timeoutMs: request.timeoutMs ?? blueprint.timeoutMs ?? this.config.defaultTimeoutMs,
      baseRef: request.baseRef ?? null,
      priority: request.priority,
      trigger: request.trigger,
      author: request.author,
    });
  }

  /** The id of the registered repo at `location`, or null when Nightshift has never seen it. */
  async findRepoId(location: string): Promise<string | null> {
    const { url } = await this.scm.resolve(location);
    return (await this.store.repos.list()).find((repo) => repo.url === url)?.id ?? null;
  }

  /** Starts executing queued runs (checking first that sandboxes work here). */
  async startWorker(): Promise<void> {
    await this.sandboxes.check();
    if (this.store.db.kind === 'pglite') {
      // The home lock makes this process the only one: leases held by others belong to dead processes.
      const taken = await expireForeignLeases(this.store.db, this.worker.id);
      if (taken > 0) this.log.warn({ runs: taken }, 'resuming runs left by a process that stopped');
    }
    this.worker.start();
    this.fleets.start();
  }

  async close(options: { drain?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fleets.stop();
    await this.worker.stop(options);
    await this.store.close();
    this.releaseLock();
  }

  private checkInputs(blueprint: Blueprint, request: RunRequest): void {
    const used = new Set<string>();
    for (const step of blueprint.steps) {
      const texts =
        step.kind === 'agent'
          ? [step.prompt]
          : step.kind === 'publish'
            ? [step.title, step.body]
            : [step.command];
      for (const text of texts) {
        for (const expression of parseTemplate(text).expressions)
          used.add(expression.variable.split('.')[0] ?? '');
      }
      if (step.kind === 'agent') this.harnesses.get(step.harness ?? this.config.defaultHarness);
    }
    if (used.has('prompt') && request.prompt === undefined) {
      throw invalidInput(`blueprint ${blueprint.name} needs a prompt`, 'pass `--prompt TEXT`');
    }
    if (used.has('script') && request.script === undefined) {
      throw invalidInput(`blueprint ${blueprint.name} needs a script`, 'pass `--script CMD`');
    }
  }
}
