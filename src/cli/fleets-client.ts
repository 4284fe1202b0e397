import type { Engine } from '../engine/index.ts';
import type { ApplySummary, PlannedRepo, UnusableTarget } from '../fleets/apply.ts';
import { parseFleetSpec, specOrThrow } from '../fleets/parse.ts';
import type { RefreshSummary } from '../fleets/refresh.ts';
import type { FleetProgress, FleetStatus } from '../fleets/service.ts';
import type { Fleet, FleetCounts, FleetListed, FleetRepoRow, FleetRepoState } from '../fleets/store.ts';
import { call, type Endpoint } from './http.ts';

/** What applying a spec needs besides the spec: where its relative paths start, and who asks. */
export interface FleetApplyInput {
  /** The spec file's text (YAML), and its name for messages. */
  text: string;
  file: string;
  /** The spec file's directory (a path on the host of the home). */
  cwd: string;
  dryRun?: boolean;
  author: string | null;
}

/**
 * Who hears of each repo an apply plans, of each target it leaves out, and that it waits for an
 * apply of the same fleet in another process (with the engine in this process only).
 */
export interface ApplyListener {
  onRepo?: (repo: PlannedRepo) => void;
  onUnusable?: (target: UnusableTarget) => void;
  onWait?: () => void;
}

/** What `nightshift fleet` needs, in this process or over the API (`/api/fleets`). */
export interface FleetsClient {
  list(): Promise<FleetListed[]>;
  status(name: string): Promise<FleetStatus>;
  /** The fleet's state and counts only: what following it reads a few times a second. */
  progress(name: string): Promise<FleetProgress>;
  /** The repo table, page by page. */
  repos(name: string, state?: FleetRepoState): AsyncIterable<FleetRepoRow>;
  series(name: string): Promise<{ at: Date; counts: FleetCounts }[]>;
  /**
   * Plans (and unless `dryRun`, queues) the runs of a spec file's `text`, telling `listener`
   * of each repo and each target left out: as they are found with the engine in this process,
   * once the server answered otherwise.
   */
  apply(input: FleetApplyInput, listener?: ApplyListener): Promise<ApplySummary>;
  retry(name: string, by: string | null): Promise<{ retried: number }>;
  pause(name: string, reason: string): Promise<{ fleet: Fleet }>;
  resume(name: string): Promise<{ fleet: Fleet }>;
  /** Reads the state and checks of the fleet's pull requests from GitHub. */
  refresh(name: string): Promise<RefreshSummary>;
  cancel(name: string, by: string | null): Promise<{ fleet: Fleet; cancelled: number }>;
}

const path = (name: string) => `/api/fleets/${encodeURIComponent(name)}`;

/** Fleets on the engine of this process. */
export function embeddedFleets(engine: Engine): FleetsClient {
  const { fleets } = engine;
  return {
    list: () => fleets.queries.list(),
    status: (name) => fleets.status(name),
    progress: (name) => fleets.progress(name),
    repos: (name, state) => fleets.queries.repos(name, state),
    series: (name) => fleets.queries.series(name),
    apply: ({ text, file, ...input }, listener) =>
      fleets.apply(specOrThrow(parseFleetSpec, text, file), { ...input, ...listener }),
    retry: (name, by) => fleets.retryFailed(name, by),
    pause: async (name, reason) => ({ fleet: await fleets.pause(name, reason) }),
    resume: async (name) => ({ fleet: await fleets.resume(name) }),
    refresh: (name) => fleets.refresh(name),
    cancel: (name, by) => fleets.cancel(name, by),
  };
}

/** Fleets of the process owning the home (its socket) or of a server (`--server`). */
export function remoteFleets(endpoint: Endpoint): FleetsClient {
  return {
    async list() {
      return (await call<{ fleets: FleetListed[] }>(endpoint, 'GET', '/api/fleets')).fleets;
    },
    status: (name) => call<FleetStatus>(endpoint, 'GET', path(name)),
    progress: (name) => call<FleetProgress>(endpoint, 'GET', `${path(name)}/progress`),
    async *repos(name, state) {
      let after = 0;
      for (;;) {
        const q = new URLSearchParams({ after: String(after), limit: '500' });
        if (state) q.set('state', state);
        const page = await call<{ repos: FleetRepoRow[]; nextAfter: number | null }>(
          endpoint,
          'GET',
          `${path(name)}/repos?${q}`,
        );
        yield* page.repos;
        if (page.nextAfter === null) return;
        after = page.nextAfter;
      }
    },
    async series(name) {
      return (
        await call<{ series: { at: Date; counts: FleetCounts }[] }>(endpoint, 'GET', `${path(name)}/series`)
      ).series;
    },
    async apply(input, listener) {
      const { planned, ...summary } = await call<ApplySummary & { planned: PlannedRepo[] }>(
        endpoint,
        'POST',
        '/api/fleets/apply',
        input,
      );
      for (const repo of planned) listener?.onRepo?.(repo);
      for (const target of summary.unusable) listener?.onUnusable?.(target);
      return summary;
    },
    retry: (name, by) => call(endpoint, 'POST', `${path(name)}/retry`, { by }),
    pause: async (name, reason) => ({
      fleet: await call<Fleet>(endpoint, 'POST', `${path(name)}/pause`, { reason }),
    }),
    resume: async (name) => ({ fleet: await call<Fleet>(endpoint, 'POST', `${path(name)}/resume`, {}) }),
    refresh: (name) => call<RefreshSummary>(endpoint, 'POST', `${path(name)}/refresh`, {}),
    cancel: (name, by) => call(endpoint, 'POST', `${path(name)}/cancel`, { by }),
  };
}
