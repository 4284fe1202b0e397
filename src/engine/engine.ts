import { mkdirSync } from 'node:fs';
import type pino from 'pino';
import { BuiltinHarness, defaultModelFor } from '../agents/builtin/index.ts';
import { ClaudeCodeHarness } from '../agents/claude-code/index.ts';
import { CodexHarness } from '../agents/codex/index.ts';
import { OpenCodeHarness } from '../agents/opencode/index.ts';
import { HarnessRegistry } from '../agents/registry.ts';
import { loadBlueprint } from '../blueprints/load.ts';
import { parseTemplate } from '../blueprints/template.ts';
import { type Blueprint, hasAgentStep } from '../blueprints/types.ts';
import type { RunAnswer } from '../core/answer.ts';
import { invalidInput, NightshiftError } from '../core/errors.ts';
import { homePaths } from '../core/home.ts';
import type { Change, Repo, Run } from '../core/run.ts';
import { FleetService } from '../fleets/service.ts';
import { SwarmDrives } from '../fleets/swarm-drives.ts';
import { type RunSwarm, swarmQueries } from '../fleets/swarm-store.ts';
import { serverPolicyFile } from '../policy/load.ts';
import { LocalSandboxProvider } from '../sandbox/local/index.ts';
import type { SandboxProvider } from '../sandbox/types.ts';
import { scmProviderFor } from '../scm/index.ts';
import type { ScmProvider } from '../scm/types.ts';
import { runAnswer } from '../store/answers.ts';
import { type StepUsage, Store } from '../store/index.ts';
import { expireForeignLeases, leaseOf } from '../store/queue.ts';
import { type RunLink, runChildrenQueries } from '../store/run-children.ts';
import type { EngineConfig } from './config.ts';
import { agentBlueprint, continueRun } from './continue.ts';
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
  /** Harness for agent steps that name none; default `NIGHTSHIFT_HARNESS` or `builtin`. */
  harness?: string;
  /** `provider:model` for agent steps that name none, e.g. `openai:gpt-5`. */
  model?: string;
  /** A built-in blueprint name or a YAML file path; default `default` with a prompt, `script` with a script. */
  blueprint?: string;
  /** Directory relative paths are resolved against. */
  cwd?: string;
  baseRef?: string;
  timeoutMs?: number;
  priority?: number;
  trigger?: string;
  author?: string | null;
  /** Publish to this existing branch instead of a new `nightshift/...` one. */
  branch?: string;
}

/** A run with what a person wants to see beside it. */
export interface RunDetails {
  run: Run;
  repo: Repo;
  change: Change | null;
  /** Model usage by step and model, as the gateway metered it. */
  usage: StepUsage[];
  /** The run that started this one: an agent's `start_run`, or the planner of its swarm. */
  parent: RunLink | null;
  /** The runs this one started, oldest first (at most 100). */
  children: RunLink[];
  /** The swarm this run is part of, its role there, and every run of the swarm. */
  swarm: RunSwarm | null;
  /** Whether its blueprint has an agent step: only then does it take follow-ups and stops. */
  agent: boolean;
  /**
   * The worker executing it and until when its lease holds (renewed while it runs); `lapsed`
   * when the worker stopped and no other took the run over yet. Null when no worker holds it.
   */
  lease: { worker: string; expiresAt: Date; lapsed: boolean } | null;
  /** The answer posted where it came from once it ended (GitHub, Slack), and how that went; else null. */
  answer: RunAnswer | null;
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
  /** The swarms this process drives (`nightshift swarm`, here or through the API). */
  readonly swarms: SwarmDrives;
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
    this.fleets = new FleetService({
      store,
      scm,
      log,
      defaultTimeoutMs: config.defaultTimeoutMs,
      unrunnable: (blueprint) => this.withoutModelProvider(blueprint),
    });
    this.worker = new Worker(
      {
        ...this.provisionDeps(),
        store,
        harnesses,
        defaultHarness: config.defaultHarness,
        author: config.author,
        runsDir: config.runsDir,
        sessionsDir: paths.sessions,
        secrets: config.secrets,
        log,
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
    this.swarms = new SwarmDrives(
      {
        store,
        scm,
        author: config.author,
        defaultTimeoutMs: config.defaultTimeoutMs,
        unrunnable: (blueprint) => this.withoutModelProvider(blueprint),
        driver: { id: this.worker.id, leaseMs: config.leaseMs },
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
        parts.scm ?? scmProviderFor(config, paths),
        parts.harnesses ??
          new HarnessRegistry()
            .register(
              new BuiltinHarness({
                defaultModel: config.defaultModel ?? defaultModelFor(config.modelProviders),
              }),
            )
            .register(new ClaudeCodeHarness({ toolsDir: config.toolsDir }))
            .register(new CodexHarness({ toolsDir: config.toolsDir }))
            .register(new OpenCodeHarness({ toolsDir: config.toolsDir })),
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
    if (request.model !== undefined && !/^[a-z][\w-]*:\S+$/.test(request.model)) {
      throw invalidInput(
        `model "${request.model}" is not provider:model`,
        'e.g. anthropic:claude-sonnet-4-5 or openai:gpt-5',
      );
    }
    const resolved = await this.scm.resolve(request.repo);
    const repo = await this.store.repos.upsert(resolved);
    return this.store.createRun({
      repoId: repo.id,
      blueprint: blueprint.name,
      blueprintSpec: blueprint,
      inputs: {
        prompt: request.prompt,
        script: request.script,
        values: request.values,
        harness: request.harness,
        model: request.model,
      },
      timeoutMs: request.timeoutMs ?? blueprint.timeoutMs ?? this.config.defaultTimeoutMs,
      baseRef: request.baseRef ?? null,
      priority: request.priority,
      trigger: request.trigger,
      author: request.author,
      branch: request.branch,
    });
  }

  /** A run with its repo, change, model usage, and the runs it is related to. */
  async runDetails(id: string): Promise<RunDetails> {
    const run = await this.store.getRun(id);
    const related = runChildrenQueries(this.store.db);
    const [repo, change, usage, parent, children, swarm, blueprint, lease, answer] = await Promise.all([
      this.store.repos.get(run.repoId),
      this.store.changes.forRun(run.id),
      this.store.usage.forRun(run.id),
      related.parent(run.id),
      related.children(run.id),
      swarmQueries(this.store.db).forRun(run.id),
      this.store.blueprintSpec(run.id),
      leaseOf(this.store.db, run.id),
      runAnswer(this.store.db, run.id),
    ]);
    const agent = hasAgentStep(blueprint as Blueprint);
    return { run, repo, change, usage, parent, children, swarm, agent, lease, answer };
  }

  /**
   * Sends a run's agent a follow-up: queued for the live agent while the run has not completed
   * (delivered when its current turn ends), or, once it has, a new run that continues it on
   * the same branch with the conversation resumed.
   */
  async say(
    runId: string,
    message: string,
    author: string | null,
  ): Promise<{ delivery: 'queued' | 'continued'; run: Run }> {
    if (message.trim() === '')
      throw invalidInput('the message is empty', 'say what the agent should do next');
    const run = await this.store.getRun(runId);
    if (run.status !== 'completed') {
      // A completed run is checked by continueRun, below.
      await agentBlueprint(this.store, run, 'start a new run with `nightshift run`');
      try {
        await this.store.steer(run.id, { kind: 'follow_up', text: message, author });
        return { delivery: 'queued', run: await this.store.getRun(run.id) };
      } catch (error) {
        // It completed meanwhile: continue it instead.
        if (!(error instanceof NightshiftError && error.code === 'CONFLICT')) throw error;
      }
    }
    return { delivery: 'continued', run: await continueRun(this.store, run.id, { prompt: message, author }) };
  }

  /** Halts a run's agent (later agent steps and fix rounds are skipped); the run goes on to its checks. */
  async stopAgent(runId: string, by: string | null): Promise<Run> {
    const run = await this.store.getRun(runId);
    if (run.status === 'completed') {
      throw new NightshiftError('CONFLICT', `run ${run.id} has already completed`, {
        hint: 'nothing to stop; to end a run before it completes use `nightshift cancel RUN`',
      });
    }
    await agentBlueprint(this.store, run, 'to end the run before it completes use `nightshift cancel RUN`');
    await this.store.steer(run.id, { kind: 'stop', author: by });
    return this.store.getRun(run.id);
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

  /**
   * Claims no more runs; the runs executing go on until `close`. A server stops claiming first,
   * so that no run starts while it drains its requests, only to be given back.
   */
  stopClaiming(): Promise<void> {
    return this.worker.stopClaiming();
  }

  async close(options: { drain?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.swarms.close();
    await this.fleets.stop();
    await this.worker.stop(options);
    await this.store.close();
    this.releaseLock();
  }

  /**
   * The error every run of `blueprint` would end with at its first agent step, because its
   * harness needs a model provider and none is configured here; null when it can run.
   */
  withoutModelProvider(blueprint: Blueprint): NightshiftError | null {
    if (this.config.modelProviders) return null;
    for (const step of blueprint.steps) {
      if (step.kind !== 'agent') continue;
      const chosen = this.harnesses.get(step.harness ?? this.config.defaultHarness);
      const error = chosen.withoutModelProvider?.();
      if (error) return error;
    }
    return null;
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
      if (step.kind === 'agent') {
        this.harnesses.get(step.harness ?? request.harness ?? this.config.defaultHarness);
      }
    }
    if (used.has('prompt') && request.prompt === undefined) {
      throw invalidInput(`blueprint ${blueprint.name} needs a prompt`, 'pass `--prompt TEXT`');
    }
    if (used.has('script') && request.script === undefined) {
      throw invalidInput(`blueprint ${blueprint.name} needs a script`, 'pass `--script CMD`');
    }
  }
}
