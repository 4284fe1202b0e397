/**
 * How a swarm's drives failed, for `swarm status` and the dashboard: `its drive failed 2 times
 * (last: MESSAGE); a server takes it up again in 3m, or ...`; null when none failed.
 */
export function driveFailureText(
  swarm: {
    durable: boolean;
    driveFailure: { message: string; failures: number; nextAttemptAt: Date | string | null } | null;
  },
  now = Date.now(),
): string | null {
  const failure = swarm.driveFailure;
  if (!failure) return null;
  const times = failure.failures === 1 ? 'once' : `${failure.failures} times`;
  const head = `its drive failed ${times} (last: ${failure.message})`;
  const again = '`nightshift swarm SPEC` continues it';
  if (!swarm.durable) return `${head}; ${again}`;
  if (failure.nextAttemptAt === null) return `${head}; servers gave up on it: ${again}`;
  const seconds = Math.max(0, Math.round((new Date(failure.nextAttemptAt).getTime() - now) / 1000));
  const wait =
    seconds < 60
      ? `${seconds}s`
      : seconds < 3600
        ? `${Math.ceil(seconds / 60)}m`
        : `${Math.round(seconds / 3600)}h`;
  return `${head}; a server takes it up again in ${wait}, or ${again} now`;
}
