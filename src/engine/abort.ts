/** Why a run's work was interrupted: the `signal.reason` of its AbortController. */
export class RunAbort extends Error {
  constructor(
    readonly kind: 'cancelled' | 'timed_out' | 'budget_exceeded' | 'lease_lost' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = 'RunAbort';
  }
}

export function abortOf(signal: AbortSignal): RunAbort | null {
  return signal.aborted && signal.reason instanceof RunAbort ? signal.reason : null;
}
