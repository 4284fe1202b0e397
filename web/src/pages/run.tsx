import { useEffect, useState } from 'preact/hooks';
import { plural } from '../../../src/core/plural.ts';
import { api, followEvents } from '../api.ts';
import type { Run, RunDetails, RunEvent } from '../types.ts';
import { ago, Badge, duration, ErrorBox, Link, Loading, navigate, runOutcome, useLoad } from '../ui.tsx';
import { DiffView } from './diff-view.tsx';
import { Log, Timeline, Transcript, Usage } from './run-parts.tsx';
import { AnswerFact, ParentFact, RelatedRuns, SwarmFact } from './run-relations.tsx';

const TABS = ['Transcript', 'Steps', 'Log', 'Diff'] as const;
type Tab = (typeof TABS)[number];

/** The tab a key moves to from tab `i`, or null for keys the tab list does not handle. */
function tabKey(key: string, i: number): number | null {
  if (key === 'ArrowRight') return (i + 1) % TABS.length;
  if (key === 'ArrowLeft') return (i - 1 + TABS.length) % TABS.length;
  if (key === 'Home') return 0;
  if (key === 'End') return TABS.length - 1;
  return null;
}

/** One run: live transcript, steps, log, diff, usage, and the buttons that steer it. */
export function RunPage(props: { id: string }) {
  const details = useLoad((signal) => api<RunDetails>(`/api/runs/${props.id}`, { signal }), [props.id]);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [streamError, setStreamError] = useState<unknown>(null);
  const [tab, setTab] = useState<Tab>('Transcript');
  const { reload } = details;

  useEffect(() => {
    setEvents([]);
    const aborter = new AbortController();
    followEvents(
      props.id,
      (event) => {
        setEvents((list) => (list.some((e) => e.seq === event.seq) ? list : [...list, event]));
        if (['run.status', 'run.completed', 'change.created', 'model.call'].includes(event.type)) reload();
      },
      aborter.signal,
    )
      .then(reload)
      .catch(setStreamError);
    return () => aborter.abort();
  }, [props.id, reload]);

  if (details.data === null)
    return details.error ? <ErrorBox error={details.error} /> : <Loading what="the run" />;
  const { run, repo, change, usage, parent, swarm, agent, lease, answer } = details.data;
  const live = run.status !== 'completed';
  return (
    <section>
      <p class="crumbs">
        <Link href="/runs">Runs</Link> / <code>{run.id}</code>
      </p>
      <div class="title-row">
        <h1 class="run-title">{run.inputs.prompt ?? run.inputs.script ?? run.blueprint}</h1>
        <Badge value={runOutcome(run)} />
      </div>
      <dl class="facts">
        <div>
          <dt>Repo</dt>
          <dd>{repo.name}</dd>
        </div>
        <div>
          <dt>Blueprint</dt>
          <dd>{run.blueprint}</dd>
        </div>
        <div>
          <dt>Trigger</dt>
          <dd>
            {run.trigger}
            {run.author ? ` by ${run.author}` : ''}
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{ago(run.startedAt ?? run.createdAt)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            {run.startedAt
              ? duration(Date.parse(run.finishedAt ?? new Date().toISOString()) - Date.parse(run.startedAt))
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Change</dt>
          <dd>
            {change ? (
              change.url ? (
                <a href={change.url}>{change.title}</a>
              ) : (
                <span>
                  {change.branch} <span class="muted">({change.state})</span>
                </span>
              )
            ) : (
              '—'
            )}
            {change && (
              <span class="muted small">
                {' '}
                {plural(change.diffstat.files, 'file')} +{change.diffstat.insertions} −
                {change.diffstat.deletions}
              </span>
            )}
          </dd>
        </div>
        <div>
          <dt>Audit</dt>
          <dd>
            <Link href={`/audit?run=${run.id}`}>Entries of this run</Link>
          </dd>
        </div>
        {run.continues && (
          <div>
            <dt>Continues</dt>
            <dd>
              <Link href={`/runs/${run.continues}`}>{run.continues}</Link>
            </dd>
          </div>
        )}
        {answer && <AnswerFact answer={answer} ended={!live} />}
        {parent && <ParentFact parent={parent} />}
        {swarm && <SwarmFact swarm={swarm} />}
      </dl>
      {live && lease?.lapsed && (
        <p class="state unavailable" role="status">
          Not executing now: its worker <code>{lease.worker}</code> stopped (its lease lapsed{' '}
          {ago(lease.expiresAt)}); the next worker to claim runs takes it over.
        </p>
      )}
      {run.reason && <p class="reason">{run.reason}</p>}
      <Actions run={run} agent={agent} repoUrl={repo.url} onChange={reload} />
      {streamError ? <ErrorBox error={streamError} /> : null}
      <RelatedRuns details={details.data} reload={reload} />
      <div class="tabs" role="tablist" aria-label="Run views">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls="tabpanel"
            tabIndex={tab === t ? 0 : -1}
            onClick={() => setTab(t)}
            onKeyDown={(e) => {
              // The tab list is one stop for Tab; arrows, Home and End move between tabs.
              const next = tabKey(e.key, TABS.indexOf(t));
              if (next === null) return;
              e.preventDefault();
              setTab(TABS[next]!);
              document.getElementById(`tab-${TABS[next]}`)?.focus();
            }}
          >
            {t}
            {t === 'Diff' && change ? ` (${change.diffstat.files})` : ''}
          </button>
        ))}
      </div>
      <div id="tabpanel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'Transcript' && <Transcript events={events} />}
        {tab === 'Steps' && <Timeline events={events} />}
        {tab === 'Log' && <Log events={events} />}
        {tab === 'Diff' && <DiffTab runId={run.id} hasChange={change !== null} live={live} />}
      </div>
      <h2>Usage and cost</h2>
      <Usage usage={usage} />
    </section>
  );
}

function DiffTab(props: { runId: string; hasChange: boolean; live: boolean }) {
  const diff = useLoad(
    (signal) =>
      props.hasChange
        ? api<string>(`/api/runs/${props.runId}/diff`, { text: true, signal })
        : Promise.resolve(null),
    [props.runId, props.hasChange],
  );
  if (!props.hasChange)
    return (
      <p class="state empty">
        {props.live ? 'No change yet: the diff appears when the run publishes.' : 'This run made no change.'}
      </p>
    );
  if (diff.error) return <ErrorBox error={diff.error} />;
  if (diff.data === null) return <Loading what="the diff" />;
  return <DiffView diff={diff.data} />;
}

/** Follow-up and stop (for a run with an agent step), cancel and retry. */
function Actions(props: { run: Run; agent: boolean; repoUrl: string; onChange: () => void }) {
  const { run } = props;
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const live = run.status !== 'completed';
  const act = async (name: string, work: () => Promise<void>) => {
    setBusy(name);
    setError(null);
    setNotice(null);
    try {
      await work();
      props.onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const path = `/api/runs/${run.id}`;
  return (
    <div class="actions">
      {props.agent && (
        <form
          class="follow-up"
          onSubmit={(e) => {
            e.preventDefault();
            act('say', async () => {
              const result = await api<{ delivery: 'queued' | 'continued'; run: Run }>(`${path}/say`, {
                method: 'POST',
                body: { message },
              });
              setMessage('');
              if (result.delivery === 'continued') navigate(`/runs/${result.run.id}`);
              else setNotice('Follow-up queued: the agent gets it when its current turn ends.');
            });
          }}
        >
          <label for="follow-up">Follow-up</label>
          <div class="row">
            <textarea
              id="follow-up"
              rows={2}
              value={message}
              onInput={(e) => setMessage(e.currentTarget.value)}
              placeholder={live ? 'Tell the agent what to do next' : 'Continue this run on its branch'}
            />
            <button type="submit" disabled={busy !== null || message.trim() === ''}>
              {busy === 'say' ? 'Sending…' : 'Send'}
            </button>
          </div>
        </form>
      )}
      <div class="row buttons">
        {live && props.agent && (
          <button
            type="button"
            class="secondary"
            disabled={busy !== null}
            onClick={() => act('stop', () => api(`${path}/stop`, { method: 'POST', body: {} }))}
          >
            Stop agent
          </button>
        )}
        {live && (
          <button
            type="button"
            class="danger"
            disabled={busy !== null}
            onClick={() => act('cancel', () => api(`${path}/cancel`, { method: 'POST', body: {} }))}
          >
            Cancel run
          </button>
        )}
        {!live && (
          <button
            type="button"
            class="secondary"
            disabled={busy !== null}
            onClick={() =>
              act('retry', async () => {
                const again = await api<Run>('/api/runs', {
                  method: 'POST',
                  body: {
                    repo: props.repoUrl,
                    prompt: run.inputs.prompt,
                    script: run.inputs.script,
                    values: run.inputs.values,
                    blueprint: run.blueprint,
                    harness: run.inputs.harness,
                    model: run.inputs.model,
                  },
                });
                navigate(`/runs/${again.id}`);
              })
            }
          >
            Retry
          </button>
        )}
      </div>
      {notice && (
        <p class="state ok" role="status">
          {notice}
        </p>
      )}
      {error ? <ErrorBox error={error} /> : null}
    </div>
  );
}
