/**
 * SQL for the seconds to wait before trying something again, over `attempts`, the column
 * counting the attempts made before this one: a minute, doubling, at most an hour. Set when an
 * attempt is claimed, so a failed attempt (or a process that dies during one) is not retried on
 * every pass.
 *
 * @example
 * `UPDATE changes c SET open_attempts = c.open_attempts + 1,
 *    next_open_at = now() + make_interval(secs => ${backoffSeconds('c.open_attempts')})`
 */
export function backoffSeconds(attempts: string): string {
  return `least(3600, 60 * power(2, least(${attempts}, 6)))`;
}

/**
 * Attempts at answering where a run came from (a GitHub comment or review, a Slack reply) before
 * giving up: with the backoff the last is about two hours after the first, so an outage of the
 * API on that scale loses no answer.
 */
export const ANSWER_ATTEMPTS = 8;

/**
 * Failed drives of a durable swarm before servers stop taking it up (its spec running again
 * still continues it): with the backoff the last is about two hours after the first.
 */
export const SWARM_DRIVE_ATTEMPTS = 8;
