import { targetName } from '../../automations/parse.ts';
import type { Automation, SlackTrigger } from '../../automations/types.ts';

/** What a Slack message asks for: the target and the prompt, or why it cannot be done. */
export type SlackAsk = { ok: true; target: string; prompt: string } | { ok: false; answer: string };

/**
 * Reads a message (mentions removed): a first word naming a target (`api fix the flaky test`,
 * also `repo:api` or `api:`) picks it; otherwise the channel's default target, or the only one.
 */
export function readSlackMessage(automation: Automation, channel: string, text: string): SlackAsk {
  const clean = text.replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/g, ' ').trim();
  const [first = '', ...rest] = clean.split(/\s+/);
  const word = first.replace(/^repo:/, '').replace(/:$/, '');
  const named = automation.targets.find((target) => targetName(target) === word);
  const names = automation.targets.map(targetName).join(', ');
  if (named) {
    const prompt = rest.join(' ').trim();
    return prompt
      ? { ok: true, target: named, prompt }
      : { ok: false, answer: `What should I do in ${word}?` };
  }
  const fallback = (automation.trigger as SlackTrigger).channels[channel];
  const target =
    automation.targets.find((t) => targetName(t) === fallback || t === fallback) ??
    (automation.targets.length === 1 ? automation.targets[0] : undefined);
  if (!target) return { ok: false, answer: `Which repo? Start the message with one of: ${names}` };
  if (!clean) return { ok: false, answer: 'What should I do? Write the task after the mention.' };
  return { ok: true, target, prompt: clean };
}

/** The Slack automation that answers in `channel`: one listing it, else one listing no channels. */
export function automationForChannel(automations: Automation[], channel: string): Automation | undefined {
  const slack = automations.filter((a) => a.enabled && a.trigger.kind === 'slack');
  return (
    slack.find((a) => channel in (a.trigger as SlackTrigger).channels) ??
    slack.find((a) => Object.keys((a.trigger as SlackTrigger).channels).length === 0)
  );
}
