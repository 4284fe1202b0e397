import type { Hono } from 'hono';
import { NightshiftError } from '../../core/errors.ts';
import type { Engine } from '../../engine/engine.ts';
import type { GithubScmProvider } from '../../scm/github/index.ts';
import type { GithubSettings } from '../../scm/github/settings.ts';
import { RoutingScmProvider } from '../../scm/index.ts';
import { githubWebhookRoutes } from './routes.ts';
import { GithubDeliveryWorker, type GithubWorkerOptions } from './worker.ts';

export { webhookDeliveryMetrics } from '../deliveries.ts';
export { GithubConfigInvalidError, parseGithubConfig } from './config.ts';
export { type ReactionDeps, react } from './reactions.ts';
export { DEFAULT_MAX_BODY_BYTES, type GithubWebhookRoutesDeps, githubWebhookRoutes } from './routes.ts';
export { GithubConfigFile } from './schema.ts';
export { signBody, verifySignature } from './verify.ts';
export { GithubDeliveryWorker } from './worker.ts';

/** The GitHub trigger of a server: the webhook routes and the worker that processes deliveries. */
export interface GithubTrigger {
  /** Mount at `/webhooks/github`, outside API auth. */
  routes: Hono;
  worker: GithubDeliveryWorker;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Builds the GitHub trigger of an engine from its settings (`engine.config.github` unless
 * given): routes that verify and queue deliveries, and a worker that reacts to them.
 *
 * @example
 * const github = createGithubTrigger(engine);
 * app.route('/webhooks/github', github.routes);
 * github.start();
 */
export function createGithubTrigger(
  engine: Engine,
  options: { settings?: GithubSettings; github?: GithubScmProvider; worker?: GithubWorkerOptions } = {},
): GithubTrigger {
  const settings = options.settings ?? engine.config.github;
  const github = options.github ?? (engine.scm instanceof RoutingScmProvider ? engine.scm.github : undefined);
  if (!settings || !github) {
    throw new NightshiftError('INVALID_INPUT', 'GitHub is not configured', {
      hint: 'set NIGHTSHIFT_GITHUB_APP_ID and NIGHTSHIFT_GITHUB_PRIVATE_KEY_FILE (or NIGHTSHIFT_GITHUB_TOKEN); see docs/github.md',
    });
  }
  if (settings.webhookSecrets.length === 0) {
    throw new NightshiftError('INVALID_INPUT', 'no GitHub webhook secret is set', {
      hint: 'set NIGHTSHIFT_GITHUB_WEBHOOK_SECRET to the secret of the app’s webhook',
    });
  }
  const log = engine.log.child({ trigger: 'github' });
  const worker = new GithubDeliveryWorker(
    {
      store: engine.store,
      submit: (request) => engine.submit(request),
      github,
      home: engine.config.home,
      log,
      botLogin: settings.botLogin,
      installationId: settings.auth.kind === 'app' ? settings.auth.installationId : undefined,
      runUrl: settings.publicUrl ? (id) => `${settings.publicUrl}/runs/${id}` : undefined,
    },
    options.worker,
  );
  const routes = githubWebhookRoutes({
    db: engine.store.db,
    secrets: settings.webhookSecrets,
    maxBodyBytes: settings.maxBodyBytes,
    log,
    onAccepted: () => worker.wake(),
  });
  return { routes, worker, start: () => worker.start(), stop: () => worker.stop() };
}
