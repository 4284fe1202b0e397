import { Hono } from 'hono';
import type pino from 'pino';
import {
  type AutomationDeps,
  AutomationService,
  automationRoutes,
  automationsDir,
  syncAutomations,
} from '../automations/index.ts';
import type { Engine } from '../engine/index.ts';
import { startScheduler } from '../triggers/cron/index.ts';
import { createGithubTrigger, webhookDeliveryMetrics } from '../triggers/github/index.ts';
import { triggerConfig } from '../triggers/http.ts';
import { answerEndedRuns, SlackDeliveryWorker, slackClient, slackRoutes } from '../triggers/slack/index.ts';
import { webhookInRoutes } from '../triggers/webhook/routes.ts';
import { WebhookDeliveryWorker } from '../triggers/webhook/worker.ts';
import type { ServerModule } from './app.ts';
import { requireScope } from './auth.ts';
import { fleetsModule } from './fleets.ts';
import { automationSpecs, githubSpecs, slackSpecs, webhookInSpecs } from './module-specs.ts';
import type { AppEnv } from './router.ts';
import { swarmsModule } from './swarms.ts';

/** What `nightshift serve` adds beside the core API, and the background work those parts need. */
export interface ServerParts {
  modules: ServerModule[];
  /** Syncs automation files, starts the cron scheduler (with Slack answers) and the GitHub worker. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The modules `nightshift serve` mounts: automations (API), fleets (API), generic webhooks,
 * Slack and, when GitHub is configured, GitHub webhooks. Each part adds itself here.
 */
export function serverModules(engine: Engine, env: NodeJS.ProcessEnv = process.env): ServerParts {
  const log = engine.log.child({ part: 'triggers' });
  const config = triggerConfig(env);
  const deps = { ...automationDeps(engine, log), env };
  const automations = new AutomationService(deps);
  const slack = config.slack.botToken ? slackClient(config.slack.apiUrl, config.slack.botToken) : undefined;
  const webhookWorker = new WebhookDeliveryWorker(automations);
  const slackWorker = new SlackDeliveryWorker({
    service: automations,
    client: slack,
    publicUrl: config.publicUrl,
  });
  const modules: ServerModule[] = [
    ...apiModules(engine),
    {
      name: 'webhooks',
      basePath: '/webhooks/in',
      routes: webhookInRoutes({
        ...deps,
        maxBodyBytes: config.maxBodyBytes,
        onAccepted: () => webhookWorker.wake(),
      }),
      public: true,
      specs: webhookInSpecs('/webhooks/in'),
      // Deliveries of every source (GitHub, Slack, generic hooks) share one table.
      metrics: async () => (await webhookDeliveryMetrics(engine.store.db)).split('\n').filter(Boolean),
    },
    {
      name: 'slack',
      basePath: '/slack',
      routes: slackRoutes({
        ...deps,
        slack: config.slack,
        publicUrl: config.publicUrl,
        maxBodyBytes: config.maxBodyBytes,
        onAccepted: () => slackWorker.wake(),
      }),
      public: true,
      specs: slackSpecs('/slack'),
    },
  ];
  const github = engine.config.github?.webhookSecrets.length ? createGithubTrigger(engine) : null;
  if (github) {
    modules.push({
      name: 'github',
      basePath: '/webhooks/github',
      routes: github.routes,
      public: true,
      specs: githubSpecs('/webhooks/github'),
    });
  }
  let scheduler: ReturnType<typeof startScheduler> | null = null;
  return {
    modules,
    async start() {
      await syncAutomations(automations, {
        dir: config.automationsDir ?? automationsDir(engine.config.home, env),
      });
      scheduler = startScheduler(deps, {
        tasks: slack
          ? [
              () =>
                answerEndedRuns({
                  db: engine.store.db,
                  automations: automations.queries,
                  client: slack,
                  log,
                  now: () => new Date(),
                  publicUrl: config.publicUrl,
                }),
            ]
          : [],
      });
      webhookWorker.start();
      slackWorker.start();
      github?.start();
      // The swarms a server drove go on after it restarts; those of a server gone, in another.
      engine.swarms.keepResuming(engine.config.leaseMs);
    },
    async stop() {
      await Promise.all([scheduler?.stop(), github?.stop(), webhookWorker.stop(), slackWorker.stop()]);
    },
  };
}

/**
 * Reading needs `runs:read`; anything else (create, change, enable, run now) needs `runs:write`;
 * `apply` reads files on this server's file system, so it needs `admin`.
 */
function scoped(routes: Hono): Hono<AppEnv> {
  const read = requireScope('runs:read');
  const write = requireScope('runs:write');
  const admin = requireScope('admin');
  return new Hono<AppEnv>()
    .use('*', (c, next) =>
      c.req.method === 'GET' || c.req.method === 'HEAD'
        ? read(c, next)
        : c.req.method === 'POST' && c.req.path.endsWith('/automations/apply')
          ? admin(c, next)
          : write(c, next),
    )
    .route('/', routes);
}

/**
 * The API modules of every Nightshift process serving the home (`nightshift serve`, and the
 * home's socket of any CLI process owning it): automations, fleets and swarms, without the triggers.
 */
export function apiModules(engine: Engine): ServerModule[] {
  const deps = automationDeps(engine, engine.log.child({ part: 'api' }));
  return [
    {
      name: 'automations',
      basePath: '/api/automations',
      routes: scoped(automationRoutes(deps)),
      specs: automationSpecs('/api/automations'),
    },
    fleetsModule(engine),
    swarmsModule(engine),
  ];
}

/** What automations need of the engine: its database, `submit`, and applying a fleet or starting a swarm automation's spec. */
function automationDeps(engine: Engine, log: pino.Logger): AutomationDeps {
  return {
    db: engine.store.db,
    submit: engine.submit.bind(engine),
    applyFleet: engine.fleets.applyFile.bind(engine.fleets),
    startSwarm: engine.swarms.startFile.bind(engine.swarms),
    log,
  };
}
