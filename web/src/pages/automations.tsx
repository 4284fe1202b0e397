import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { AutomationFire, AutomationView } from '../types.ts';
import { ago, Badge, ErrorBox, Link, ListPage, useLoad } from '../ui.tsx';

const base = (name: string) => `/api/automations/${encodeURIComponent(name)}`;
/** Most runs of one fire linked (a fleet automation's fire may start hundreds). */
const LISTED_RUNS = 5;

function trigger(t: AutomationView['automation']['trigger']): string {
  if (t.kind === 'cron')
    return `cron ${t.cron}${t.timezone && t.timezone !== 'UTC' ? ` (${t.timezone})` : ''}`;
  if (t.kind === 'webhook') return `webhook ${t.webhook}`;
  return t.kind;
}

/** Automations (API of branch feat/auto: GET /api/automations): triggers, next fire, last runs. */
export function AutomationsPage() {
  const list = useLoad(
    (signal) => api<{ automations: AutomationView[] }>('/api/automations', { signal }),
    [],
    5000,
  );
  return (
    <ListPage
      title="Automations"
      what="automations"
      list={list}
      items={(data) => data.automations}
      empty={
        <>
          No automations yet: add one under automations/ and run <code>nightshift automations apply</code>.
        </>
      }
    >
      {(automations) =>
        automations.map((a) => <AutomationCard key={a.automation.name} view={a} onChange={list.reload} />)
      }
    </ListPage>
  );
}

function AutomationCard(props: { view: AutomationView; onChange: () => void }) {
  const { automation, nextFireAt } = props.view;
  const fires = useLoad(
    (signal) => api<{ fires: AutomationFire[] }>(`${base(automation.name)}/history?limit=5`, { signal }),
    [automation.name],
    10_000,
  );
  const [error, setError] = useState<unknown>(null);
  const act = async (path: string) => {
    setError(null);
    try {
      await api(`${base(automation.name)}/${path}`, { method: 'POST', body: {} });
      props.onChange();
      fires.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <li class="card">
      <div class="row">
        <strong>{automation.name}</strong>
        <Badge value={automation.enabled ? 'enabled' : 'disabled'} />
      </div>
      {automation.description && <p class="muted">{automation.description}</p>}
      {automation.fleet && (
        <p class="small">
          Applies the fleet spec <code>{automation.fleet}</code>
        </p>
      )}
      {automation.swarm && (
        <p class="small">
          Starts the swarm spec <code>{automation.swarm}</code>: see <Link href="/swarms">Swarms</Link>
        </p>
      )}
      <p class="small">
        {trigger(automation.trigger)} · next fire{' '}
        {nextFireAt ? <time dateTime={nextFireAt}>{new Date(nextFireAt).toLocaleString()}</time> : '—'}
      </p>
      <div class="small">
        Last runs:{' '}
        {fires.data?.fires.length
          ? fires.data.fires.map((f) => (
              <span key={f.id} class="fire">
                <Badge value={f.outcome} title={f.reason ?? undefined} />
                {f.runIds.slice(0, LISTED_RUNS).map((id) => (
                  <Link key={id} href={`/runs/${id}`}>
                    {id.slice(-6)}
                  </Link>
                ))}
                {f.runIds.length > LISTED_RUNS && (
                  <span class="muted"> +{f.runIds.length - LISTED_RUNS} more</span>
                )}{' '}
                <span class="muted">{ago(f.slot ?? f.createdAt ?? null)}</span>
              </span>
            ))
          : fires.error
            ? 'unavailable'
            : 'none'}
      </div>
      <div class="row buttons">
        <button type="button" onClick={() => act('run')}>
          Run now
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => act(automation.enabled ? 'disable' : 'enable')}
        >
          {automation.enabled ? 'Disable' : 'Enable'}
        </button>
      </div>
      {error ? <ErrorBox error={error} /> : null}
    </li>
  );
}
