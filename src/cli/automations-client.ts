import pino from 'pino';
import { AutomationService, type AutomationView, syncAutomations } from '../automations/index.ts';
import type { Engine } from '../engine/index.ts';
import type { AutomationFire } from '../store/automations.ts';
import { call, type Endpoint } from './http.ts';

/** Where `automations apply` reads files: the directory and the repos given (paths on the host of the home). */
export interface AutomationsApplyInput {
  dir: string;
  repos: string[];
}

/** What `nightshift automations` needs, in this process or over the API (`/api/automations`). */
export interface AutomationsClient {
  list(): Promise<AutomationView[]>;
  /** Fires an automation now, on all its targets. */
  run(name: string): Promise<AutomationFire>;
  history(name: string, limit: number): Promise<AutomationFire[]>;
  /** Syncs the database with the files: upserts their automations, removes those gone from them. */
  apply(input: AutomationsApplyInput): Promise<{ applied: string[]; removed: string[] }>;
}

const path = (name: string) => `/api/automations/${encodeURIComponent(name)}`;

/** Automations on the engine of this process. */
export function embeddedAutomations(engine: Engine): AutomationsClient {
  const service = new AutomationService({
    db: engine.store.db,
    submit: (request) => engine.submit(request),
    applyFleet: (file, author) => engine.fleets.applyFile(file, author),
    log: pino({ level: 'warn' }),
  });
  return {
    list: () => service.list(),
    run: (name) => service.runNow(name),
    history: (name, limit) => service.history(name, limit),
    async apply(input) {
      const { applied, removed } = await syncAutomations(service, input);
      return { applied, removed };
    },
  };
}

/** Automations of the process owning the home (its socket) or of a server (`--server`). */
export function remoteAutomations(endpoint: Endpoint): AutomationsClient {
  return {
    async list() {
      return (await call<{ automations: AutomationView[] }>(endpoint, 'GET', '/api/automations')).automations;
    },
    run: (name) => call<AutomationFire>(endpoint, 'POST', `${path(name)}/run`, {}),
    async history(name, limit) {
      const answer = await call<{ fires: AutomationFire[] }>(
        endpoint,
        'GET',
        `${path(name)}/history?limit=${limit}`,
      );
      return answer.fires;
    },
    apply: (input) => call(endpoint, 'POST', '/api/automations/apply', input),
  };
}
