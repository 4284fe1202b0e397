import { type AuditVerification, auditRunId, exportAudit, verifyAudit } from '../audit/index.ts';
import { notFound } from '../core/errors.ts';
import type { RunEvent } from '../core/events.ts';
import type { Run } from '../core/run.ts';
import type { Engine, RunDetails, RunRequest } from '../engine/index.ts';
import type { Scope } from '../server/schema.ts';
import { createToken } from '../server/tokens.ts';
import type { ApiToken, ListedRun, RunFilter } from '../store/index.ts';
import { type AutomationsClient, embeddedAutomations } from './automations-client.ts';
import { embeddedFleets, type FleetsClient } from './fleets-client.ts';
import { embeddedSwarms, type SwarmsClient } from './swarms-client.ts';

export type { RunDetails } from '../engine/index.ts';

/** What became of a follow-up: queued for the live agent, or a new run continuing a completed one. */
export interface SayResult {
  delivery: 'queued' | 'continued';
  run: Run;
}

/**
 * What the CLI needs from Nightshift. The embedded client works on the engine in this process;
 * the remote one talks to the API (src/server/app.ts) of the process that owns the home, or
 * of a server given with `--server`.
 */
export interface Client {
  readonly mode: 'embedded' | 'remote';
  /** The engine, when this process owns the home (embedded mode). */
  readonly engine?: Engine;
  submit(request: RunRequest): Promise<Run>;
  run(id: string): Promise<RunDetails>;
  runs(filter: RunFilter & { repo?: string }): Promise<ListedRun[]>;
  /** Events after `after`; with `wait`, blocks until there are some (or the run has ended). */
  events(runId: string, after: number, wait: boolean, signal?: AbortSignal): Promise<RunEvent[]>;
  /**
   * The run's events after `after`, live, until the run's last event (or `signal` aborts).
   * Throws `OWNER_GONE` when the process owning the home stopped: open Nightshift again and
   * resume after the last event seen.
   */
  streamEvents(runId: string, after: number, signal?: AbortSignal): AsyncIterable<RunEvent>;
  cancel(runId: string, by: string | null): Promise<Run>;
  /** Sends the run's agent a follow-up (see `Engine.say`). */
  say(runId: string, message: string, author: string | null): Promise<SayResult>;
  /** Halts the run's agent (see `Engine.stopAgent`). */
  stop(runId: string, by: string | null): Promise<Run>;
  /** Checks the audit log's hash chain. */
  auditVerify(): Promise<AuditVerification>;
  /** The audit log as JSON lines; `since` is an ISO time, `runId` a run id or suffix. */
  auditExport(filter: AuditExportFilter): AsyncIterable<string>;
  /** Creates an API token; `token` is the secret, shown once. */
  createToken(request: { name: string; scopes: Scope[]; createdBy?: string | null }): Promise<{
    token: string;
    record: ApiToken;
  }>;
  listTokens(): Promise<ApiToken[]>;
  revokeToken(idOrName: string): Promise<ApiToken>;
  /** `nightshift automations`: here, or through the API of the process owning the home. */
  readonly automations: AutomationsClient;
  /** `nightshift fleet`: here, or through the API of the process owning the home. */
  readonly fleets: FleetsClient;
  /** `nightshift swarm`: driven here, or by the process owning the home. */
  readonly swarms: SwarmsClient;
  close(): Promise<void>;
}

export interface AuditExportFilter {
  since?: string;
  runId?: string;
}

/** The client over an engine owned by this process. */
export function embeddedClient(engine: Engine): Client {
  const { store } = engine;
  return {
    mode: 'embedded',
    engine,
    submit: (request) => engine.submit(request),
    run: (id) => engine.runDetails(id),
    async runs(filter) {
      if (!filter.repo) return store.listRuns(filter);
      const repoId = await engine.findRepoId(filter.repo);
      return repoId ? store.listRuns({ ...filter, repoId }) : [];
    },
    async events(runId, after, wait, signal) {
      const run = await store.getRun(runId);
      if (!wait) return store.events(run.id, after);
      return store.waitForEvents(run.id, after, signal);
    },
    async *streamEvents(runId, after, signal) {
      const run = await store.getRun(runId);
      let last = after;
      while (!signal?.aborted) {
        let events = await store.events(run.id, last);
        if (events.length === 0) {
          if ((await store.getRun(run.id)).status === 'completed') return;
          events = await store.waitForEvents(run.id, last, signal);
        }
        for (const event of events) {
          yield event;
          last = event.seq;
          if (event.type === 'run.completed') return;
        }
      }
    },
    cancel: (runId, by) => store.requestCancel(runId, by),
    say: (runId, message, author) => engine.say(runId, message, author),
    stop: (runId, by) => engine.stopAgent(runId, by),
    auditVerify: () => verifyAudit(store.db),
    async *auditExport(filter) {
      const runId = filter.runId ? await auditRunId(store, filter.runId) : undefined;
      const since = filter.since ? new Date(filter.since) : undefined;
      yield* exportAudit(store.db, { runId, since });
    },
    createToken: (request) => createToken(store, request),
    listTokens: () => store.tokens.list(),
    async revokeToken(idOrName) {
      const revoked = await store.tokens.revoke(idOrName);
      if (!revoked) throw notFound('token', idOrName, 'list tokens with `nightshift token list`');
      return revoked;
    },
    automations: embeddedAutomations(engine),
    fleets: embeddedFleets(engine),
    swarms: embeddedSwarms(engine),
    close: () => engine.close(),
  };
}
