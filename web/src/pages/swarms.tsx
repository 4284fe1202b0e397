import { useState } from 'preact/hooks';
import { driveFailureText } from '../../../src/fleets/drive-failure.ts';
import { api } from '../api.ts';
import type { SwarmSummary } from '../types.ts';
import { ago, Badge, capitalized, ErrorBox, Link, ListPage, runOutcome, useLoad } from '../ui.tsx';
import { roleOf } from './run-relations.tsx';

/** The states of a swarm that has ended: nothing drives it, and it cannot be cancelled. */
const ENDED = ['completed', 'failed', 'cancelled'];

/** Swarms (`GET /api/swarms`): the latest execution of each, its runs and change; Cancel while it goes on. */
export function SwarmsPage() {
  const list = useLoad((signal) => api<{ swarms: SwarmSummary[] }>('/api/swarms', { signal }), [], 3000);
  return (
    <ListPage
      title="Swarms"
      what="swarms"
      list={list}
      items={(data) => data.swarms}
      empty={
        <>
          No swarms yet: start one with <code>nightshift swarm swarm.yaml</code>.
        </>
      }
    >
      {(swarms) => swarms.map((swarm) => <SwarmCard key={swarm.id} swarm={swarm} onChange={list.reload} />)}
    </ListPage>
  );
}

function SwarmCard(props: { swarm: SwarmSummary; onChange: () => void }) {
  const { swarm } = props;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const cancel = async () => {
    setError(null);
    setBusy(true);
    try {
      await api(`/api/swarms/${encodeURIComponent(swarm.id)}/cancel`, { method: 'POST', body: {} });
      props.onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const ended = ENDED.includes(swarm.state);
  return (
    <li class="card" aria-label={`Swarm ${swarm.name}`}>
      <div class="row">
        <Badge value={swarm.state} title={swarm.reason ?? undefined} /> <strong>{swarm.name}</strong>
      </div>
      <p class="small">
        {swarm.repo} · <span class="muted">updated {ago(swarm.updatedAt)}</span>{' '}
        <code class="small muted">{swarm.id}</code>
      </p>
      {swarm.reason && <p class="muted small">{swarm.reason}</p>}
      {!ended && (
        <p class="muted small">
          {swarm.driver
            ? `Driven by ${swarm.driver}`
            : swarm.durable
              ? 'No process drives it now: a server takes it up when one runs'
              : 'No process drives it now: run its spec again to continue it'}
        </p>
      )}
      {!ended && swarm.driveFailure && (
        <p class="small trouble" role="status">
          {capitalized(driveFailureText(swarm)!)}
        </p>
      )}
      {swarm.runs.length > 0 && (
        <ul class="related" aria-label={`Runs of swarm ${swarm.name}`}>
          {swarm.runs.map((r) => (
            <li key={r.id}>
              <Badge value={runOutcome(r)} />{' '}
              <Link href={`/runs/${r.id}`}>
                <code>{r.id}</code>
              </Link>{' '}
              <span class="muted small">{roleOf(r)}</span>
            </li>
          ))}
        </ul>
      )}
      {swarm.change && (
        <p class="small">
          Change: <code>{swarm.change.branch}</code> <code>{swarm.change.headCommit.slice(0, 8)}</code>
          {swarm.change.url && (
            <>
              {' '}
              <a href={swarm.change.url}>pull request</a>
            </>
          )}
        </p>
      )}
      {!ended && (
        <div class="row buttons">
          <button type="button" class="secondary" disabled={busy} onClick={cancel}>
            Cancel swarm
          </button>
        </div>
      )}
      {error ? <ErrorBox error={error} /> : null}
    </li>
  );
}
