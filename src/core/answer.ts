import { plural } from './plural.ts';

/**
 * The answer Nightshift posts where a run came from once it ended, and how posting it went: a
 * review or comment on GitHub for a run a GitHub event started, a reply in the Slack thread of
 * the message that fired its automation (once all the fire's runs ended).
 */
export interface RunAnswer {
  via: 'github' | 'slack';
  /** What and where: `review on acme/api#12`, `comment on acme/api#7`, `reply in the Slack thread`. */
  to: string;
  /** When it was posted; null until then. */
  answeredAt: Date | null;
  /** Attempts made so far (the last one may be under way). */
  attempts: number;
  /** The last failed attempt's message; null once posted. */
  error: string | null;
  /** True once the attempts ran out: it is never tried again. */
  givenUp: boolean;
}

/** A failed answer: `failed 2 times (tried again later): ERROR`, or `given up after 8 attempts: ERROR`. */
export function answerTrouble(answer: Pick<RunAnswer, 'attempts' | 'error' | 'givenUp'>): string {
  const how = answer.givenUp
    ? `given up after ${plural(answer.attempts, 'attempt')}`
    : `failed ${answer.attempts === 1 ? 'once' : `${answer.attempts} times`} (tried again later)`;
  return `${how}: ${answer.error}`;
}

/**
 * Where posting a run's answer stands (`show` and the dashboard): `posted T`, its failure, or
 * when it will be posted; `failed` while its last attempt failed.
 */
export function answerStanding(
  answer: Omit<RunAnswer, 'answeredAt'> & { answeredAt: Date | string | null },
  ended: boolean,
): { text: string; failed: boolean } {
  if (answer.answeredAt)
    return { text: `posted ${new Date(answer.answeredAt).toISOString()}`, failed: false };
  if (answer.error) return { text: answerTrouble(answer), failed: true };
  if (ended) return { text: 'due (the server posts it)', failed: false };
  const end = answer.via === 'slack' ? 'runs its message started end' : 'run ends';
  return { text: `to be posted when the ${end}`, failed: false };
}
