import { NightshiftError } from '../core/errors.ts';

/** A change broke a publish rule (`PublishInput.review` refused it); nothing was pushed. */
export class PublishDeniedError extends NightshiftError {
  readonly reason: string;

  constructor(reason: string) {
    super('POLICY_DENIED', `the change was not published: ${reason}`, {
      hint: 'see the effective policy with `nightshift policy explain --repo PATH`',
    });
    this.name = 'PublishDeniedError';
    this.reason = reason;
  }
}
