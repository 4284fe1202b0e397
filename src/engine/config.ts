import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { toolsDir } from '../agents/tools/index.ts';
import { homePaths } from '../core/home.ts';
import type { ModelGatewayOptions } from '../egress/gateway/index.ts';
import { closedAncestor } from '../sandbox/local/mounts.ts';
import type { SandboxLimits } from '../sandbox/types.ts';
import { type GithubSettings, githubSettings } from '../scm/github/settings.ts';
import type { CommitAuthor } from '../scm/types.ts';

export interface EngineConfig {
  /** `$NIGHTSHIFT_HOME`: database (embedded), mirrors, bases, run state. */
  home: string;
  /** PostgreSQL instead of the embedded database (`DATABASE_URL`). */
  databaseUrl?: string;
  /** Runs this process executes at once. */
  concurrency: number;
  /** Runs of one repo active at once, across all workers. */
  perRepoConcurrency: number;
  /** Runs active at once across all workers (PostgreSQL with several workers); unlimited when unset. */
  globalConcurrency?: number;
  leaseMs: number;
  maxAttempts: number;
  /** Wall-clock limit of a run when neither the request nor the blueprint sets one. */
  defaultTimeoutMs: number;
  limits: SandboxLimits;
  author: CommitAuthor;
  defaultHarness: string;
  /** Where external agent CLIs are installed (`NIGHTSHIFT_TOOLS_DIR`, default `$NIGHTSHIFT_HOME/tools`). */
  toolsDir: string;
  /** Where running sandboxes keep their state (see `sandboxStateDir`). */
  runsDir: string;
  /** `provider:model` of the built-in agent when a step names none (`NIGHTSHIFT_MODEL`); else chosen by the configured provider. */
  defaultModel?: string;
  /** The bubblewrap binary of the local sandbox provider (`bwrap` on PATH by default). */
  bwrapPath?: string;
  /** Secret values by name, from `NIGHTSHIFT_SECRET_<NAME>`; an environment names the ones its setup gets. */
  secrets: Record<string, string>;
  /** Trace every program a sandbox runs into the audit log (strace; `NIGHTSHIFT_TRACE_EXECS=0` turns it off). */
  traceExecs: boolean;
  /** Model providers the per-run gateway forwards to, with their keys; null when none is configured. */
  modelProviders: ModelGatewayOptions['providers'] | null;
  /** GitHub App or token, API and webhook settings (`NIGHTSHIFT_GITHUB_*`); GitHub repos need it. */
  github?: GithubSettings;
}

/** Defaults, then environment variables (documented in docs/configuration.md). */
export function engineConfig(home: string, env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const int = (name: string, fallback: number) => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${name} must be a positive whole number, got "${value}"`);
    return n;
  };
  return {
    home,
    databaseUrl: env.DATABASE_URL || undefined,
    concurrency: int('NIGHTSHIFT_CONCURRENCY', 2),
    perRepoConcurrency: int('NIGHTSHIFT_PER_REPO_CONCURRENCY', 2),
    globalConcurrency: env.NIGHTSHIFT_GLOBAL_CONCURRENCY
      ? int('NIGHTSHIFT_GLOBAL_CONCURRENCY', 1)
      : undefined,
    leaseMs: int('NIGHTSHIFT_LEASE_MS', 30_000),
    maxAttempts: int('NIGHTSHIFT_MAX_ATTEMPTS', 3),
    defaultTimeoutMs: int('NIGHTSHIFT_RUN_TIMEOUT_MS', 30 * 60_000),
    limits: {
      memoryBytes: int('NIGHTSHIFT_MEMORY_MB', 4096) * 1024 * 1024,
      pids: int('NIGHTSHIFT_PIDS', 1024),
    },
    author: {
      name: env.NIGHTSHIFT_GIT_AUTHOR_NAME || 'Nightshift',
      email: env.NIGHTSHIFT_GIT_AUTHOR_EMAIL || `nightshift@${safeHost()}`,
    },
    defaultHarness: env.NIGHTSHIFT_HARNESS || 'builtin',
    toolsDir: toolsDir(home, env),
    runsDir: sandboxStateDir(home),
    defaultModel: env.NIGHTSHIFT_MODEL || undefined,
    bwrapPath: env.NIGHTSHIFT_BWRAP || undefined,
    modelProviders: modelProviders(env),
    traceExecs: env.NIGHTSHIFT_TRACE_EXECS !== '0',
    github: githubSettings(env),
    secrets: Object.fromEntries(
      Object.entries(env)
        .filter(([key, value]) => key.startsWith('NIGHTSHIFT_SECRET_') && value !== undefined)
        .map(([key, value]) => [key.slice('NIGHTSHIFT_SECRET_'.length), value as string]),
    ),
  };
}

/**
 * Model providers from the host's environment: `ANTHROPIC_API_KEY` (+ `NIGHTSHIFT_ANTHROPIC_BASE_URL`),
 * `OPENAI_API_KEY` (+ `NIGHTSHIFT_OPENAI_BASE_URL`), or an OpenAI-compatible server
 * (`NIGHTSHIFT_OPENAI_BASE_URL` without a key, e.g. a local Ollama). The keys stay on the host.
 */
function modelProviders(env: NodeJS.ProcessEnv): ModelGatewayOptions['providers'] | null {
  const providers: ModelGatewayOptions['providers'] = {};
  if (env.ANTHROPIC_API_KEY) {
    providers.anthropic = {
      apiKey: env.ANTHROPIC_API_KEY,
      baseUrl: env.NIGHTSHIFT_ANTHROPIC_BASE_URL || undefined,
    };
  }
  if (env.OPENAI_API_KEY) {
    providers.openai = { apiKey: env.OPENAI_API_KEY, baseUrl: env.NIGHTSHIFT_OPENAI_BASE_URL || undefined };
  } else if (env.NIGHTSHIFT_OPENAI_BASE_URL) {
    providers.openaiCompatible = { baseUrl: env.NIGHTSHIFT_OPENAI_BASE_URL };
  }
  return Object.keys(providers).length > 0 ? providers : null;
}

/** Where root keeps sandbox state when the home is closed to the sandbox's own uid (as `/root` is). */
export const ROOT_RUNS_DIR = '/var/lib/nightshift/runs';

/**
 * Where running sandboxes keep their state: `$NIGHTSHIFT_HOME/runs`, or as root, when the
 * sandbox's own uid cannot reach that (a home under `/root`), `/var/lib/nightshift/runs`. Its
 * bubblewrap then reaches the state by path; otherwise every exec must first show it elsewhere.
 */
export function sandboxStateDir(home: string, asRoot = process.getuid?.() === 0): string {
  const runs = homePaths(home).runs;
  return asRoot && closedAncestor(join(runs, 'run'), true) ? ROOT_RUNS_DIR : runs;
}

function safeHost(): string {
  try {
    return hostname() || 'localhost';
  } catch {
    return 'localhost';
  }
}

/** Who asked for a run, as recorded on it. */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid${process.getuid?.() ?? ''}`;
  }
}
