import type { Engine } from '../engine/index.ts';
import { parseSwarmSpec, specOrThrow } from '../fleets/parse.ts';
import type { SwarmProgress } from '../fleets/swarm-drives.ts';
import type { SwarmFilter, SwarmSummary } from '../fleets/swarm-store.ts';
import { call, type Endpoint } from './http.ts';

/** A swarm spec file to start: its text (YAML), its name for messages, where its paths start. */
export interface SwarmStartInput {
  text: string;
  file: string;
  /** The spec file's directory (a path on the host of the home). */
  cwd: string;
}

/** What `nightshift swarm` needs, in this process or over the API (`/api/swarms`). */
export interface SwarmsClient {
  /**
   * Has the process owning the home drive the swarm (see `SwarmDrives.start`): `attached` when
   * it drove the same spec already.
   */
  start(input: SwarmStartInput): Promise<{ id: string; name: string; attached: boolean }>;
  /** The execution as it stands, with its progress lines after `after`. */
  progress(id: string, after: number): Promise<SwarmProgress>;
  /** The latest execution of each swarm, or the one `filter.id` names (see `swarmQueries.summaries`). */
  list(filter?: SwarmFilter): Promise<SwarmSummary[]>;
  /** Cancels an unfinished execution (see `SwarmDrives.cancel`). */
  cancel(id: string, by: string | null): Promise<{ swarm: SwarmSummary; cancelled: number }>;
}

/** Swarms driven by the engine of this process. */
export function embeddedSwarms(engine: Engine): SwarmsClient {
  return {
    start: ({ text, file, cwd }) => engine.swarms.start(specOrThrow(parseSwarmSpec, text, file), cwd),
    progress: (id, after) => engine.swarms.progress(id, after),
    list: (filter) => engine.swarms.list(filter),
    cancel: (id, by) => engine.swarms.cancel(id, by),
  };
}

/** Swarms driven by the process that owns the home (its socket), or by a server (`--server`). */
export function remoteSwarms(endpoint: Endpoint): SwarmsClient {
  return {
    start: (input) => call(endpoint, 'POST', '/api/swarms', input),
    progress: (id, after) => call(endpoint, 'GET', `/api/swarms/${encodeURIComponent(id)}?after=${after}`),
    list: async (filter = {}) => {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(filter))
        if (value !== undefined) query.set(key, String(value));
      const { swarms } = await call<{ swarms: SwarmSummary[] }>(endpoint, 'GET', `/api/swarms?${query}`);
      return swarms;
    },
    cancel: (id, by) => call(endpoint, 'POST', `/api/swarms/${encodeURIComponent(id)}/cancel`, { by }),
  };
}
