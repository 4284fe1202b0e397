import type { FailureGroup, OpenFailure } from '../types.ts';
import { when } from '../ui.tsx';

/** Failures grouped by message, biggest group first: count, message, the first repos. */
export function FailureGroups(props: { label: string; groups: FailureGroup[] }) {
  if (props.groups.length === 0) return null;
  return (
    <ul class="failures" aria-label={props.label}>
      {props.groups.map((f) => (
        <li key={f.reason}>
          <strong>{f.count}×</strong> {f.reason}
          <span class="muted small">
            {' '}
            {f.repos.join(', ')}
            {/* The API names the first few repos of a group. */}
            {f.count > f.repos.length ? ' …' : ''}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** Why a waiting change is not open yet: its attempts, the last one's message, when it is tried again. */
export function OpenFailureNote(props: { failure: OpenFailure }) {
  const { attempts, message, at, nextAttemptAt } = props.failure;
  const next = nextAttemptAt !== null && Date.parse(nextAttemptAt) > Date.now() ? nextAttemptAt : null;
  return (
    <span class="open-failure" title={`last attempt ${when(at)}`}>
      open failed ×{attempts}: {message} ·{' '}
      {next ? (
        <>
          next try at <time dateTime={next}>{when(next)}</time>
        </>
      ) : (
        'next try due'
      )}
    </span>
  );
}
