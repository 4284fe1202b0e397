import { fireAutomation } from '../../automations/fire.ts';
import { targetName } from '../../automations/parse.ts';
import type { AutomationService } from '../../automations/service.ts';
import type { Delivery } from '../deliveries.ts';
import { type DeliveryResult, DeliveryWorker, type DeliveryWorkerOptions } from '../delivery-worker.ts';
import { fireResult } from '../webhook/worker.ts';
import { runLink } from './answers.ts';
import type { SlackClient } from './client.ts';
import { automationForChannel, readSlackMessage } from './message.ts';
import type { SlackAsk } from './routes.ts';

export interface SlackWorkerDeps {
  service: AutomationService;
  /** The bot; without it runs still start, but nobody is answered. */
  client?: SlackClient;
  publicUrl?: string;
}

/**
 * Starts the runs Slack asked for, from the queue (sources `slack`, `slack-command`), and
 * answers in the thread. A request processed twice (its worker died) resumes the fire it made
 * instead of starting its runs again.
 */
export class SlackDeliveryWorker extends DeliveryWorker {
  constructor(deps: SlackWorkerDeps, options: DeliveryWorkerOptions = {}) {
    super(
      {
        db: deps.service.deps.db,
        log: deps.service.deps.log,
        sources: { prefix: 'slack' },
        process: (delivery) => processAsk(deps, delivery),
      },
      options,
    );
  }
}

async function processAsk(deps: SlackWorkerDeps, delivery: Delivery): Promise<DeliveryResult> {
  const { service, client } = deps;
  const ask = delivery.payload as SlackAsk;
  const automations = (await service.queries.list()).map((s) => s.automation);
  const automation = automationForChannel(automations, ask.channel);
  const say = async (text: string, threadTs?: string) =>
    client ? client.postMessage({ channel: ask.channel, text, threadTs }) : undefined;
  if (!automation) {
    await say('No Nightshift automation takes requests in this channel.', ask.threadTs);
    return { outcome: 'ignored', reason: `no automation takes requests in ${ask.channel}` };
  }
  const read = readSlackMessage(automation, ask.channel, ask.text);
  if (!read.ok) {
    await say(read.answer, ask.threadTs);
    return { outcome: 'ignored', reason: read.answer };
  }
  const threadTs = ask.threadTs ?? (await say(`<@${ask.user}> asked: ${read.prompt}`));
  const fire = (await fireAutomation(service.fireDeps, automation, {
    kind: 'slack',
    slack: { text: read.prompt, user: ask.user, channel: ask.channel, repo: read.target },
    reply: threadTs ? { channel: ask.channel, threadTs } : null,
    delivery: `${delivery.source}:${delivery.deliveryId}`,
  }))!;
  const repo = targetName(read.target);
  const text =
    fire.outcome === 'started'
      ? `Started ${fire.runIds.map((id) => `run ${runLink(id, deps.publicUrl)}`).join(', ')} on ${repo}. I will answer here when it ends.`
      : `Not started (${fire.outcome}): ${fire.reason ?? 'see the automation history'}`;
  await say(text, threadTs);
  return fireResult(fire);
}
