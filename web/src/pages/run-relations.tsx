import { useEffect, useState } from 'preact/hooks';
import { answerStanding } from '../../../src/core/answer.ts';
import type { ListedRun, RunDetails, RunLink, RunSwarm } from '../types.ts';
import { Badge, Link, runOutcome } from '../ui.tsx';

/** Most sub-runs listed before **Show all**. */
const SHOWN = 10;
/** Most children `GET /api/runs/:id` gives. */
const API_CHILDREN = 100;
/** How often the run is read again while a related run has not completed (their events are not followed). */
const POLL_MS = 3000;

/** A run's role in its swarm: `planner`, `facet ID` or `converge`. */
export function roleOf(run: { role: string; facet: string | null }): string {
  return run.facet ? `${run.role} ${run.facet}` : run.role;
}

/**
 * The tags of a run in the runs list, from `GET /api/runs`: its role in its swarm (`facet docs
 * in swarm NAME`), and the run that started it (an agent's `start_run` or its swarm's planner; a
 * continued sub-run keeps its parent), linked by the last 8 characters of its id.
 */
export function RelationTags(props: { run: ListedRun }) {
  const { parent, swarm } = props.run;
  return (
    <>
      {swarm && (
        <span class="tag">
          {roleOf(swarm)} in swarm {swarm.name}
        </span>
      )}
      {parent && (
        <span class="tag">
          sub-run of{' '}
          <Link href={`/runs/${parent.id}`}>
            <code>{parent.id.slice(-8)}</code>
          </Link>
        </span>
      )}
    </>
  );
}

/** The run that started this one (an agent's `start_run`, or its swarm's planner), for the facts. */
export function ParentFact(props: { parent: RunLink }) {
  const { parent } = props;
  return (
    <div class="wide">
      <dt>Parent</dt>
      <dd>
        <Link href={`/runs/${parent.id}`}>
          <code>{parent.id}</code>
        </Link>{' '}
        <Badge value={runOutcome(parent)} /> <span class="muted small">{parent.blueprint}</span>
      </dd>
    </div>
  );
}

/** The answer posted where the run came from (GitHub, Slack), and where posting it stands. */
export function AnswerFact(props: { answer: NonNullable<RunDetails['answer']>; ended: boolean }) {
  const { answer } = props;
  const { text, failed } = answerStanding(answer, props.ended);
  return (
    <div class="wide">
      <dt>Answer</dt>
      <dd>
        {answer.to}: <span class={failed ? 'trouble' : 'muted'}>{text}</span>
      </dd>
    </div>
  );
}

/** This run's role in its swarm, and the swarm's name, state (its reason on hover) and id, for the facts. */
export function SwarmFact(props: { swarm: RunSwarm }) {
  const { swarm } = props;
  return (
    <div class="wide">
      <dt>Swarm</dt>
      <dd>
        {roleOf(swarm)} in {swarm.name} <Badge value={swarm.state} title={swarm.reason ?? undefined} />{' '}
        <code class="small muted">{swarm.id}</code>
      </dd>
    </div>
  );
}

/**
 * The runs this one started, each with its outcome (and role, in a swarm); then the runs of its
 * swarm, unless they are all listed already (a planner's sub-runs are its swarm). Read again
 * every few seconds while one of them has not completed.
 */
export function RelatedRuns(props: { details: RunDetails; reload: () => void }) {
  const { run, parent, children, swarm } = props.details;
  const [all, setAll] = useState(false);
  const related = [parent, ...children, ...(swarm?.runs ?? [])];
  const pending = related.some((r) => r && r.id !== run.id && r.status !== 'completed');
  const { reload } = props;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [pending, reload]);
  const roles = new Map(swarm?.runs.map((r) => [r.id, roleOf(r)]));
  const listed = new Set([run.id, parent?.id, ...children.map((c) => c.id)]);
  const shown = all ? children : children.slice(0, SHOWN);
  return (
    <>
      {children.length > 0 && (
        <>
          <h2>Sub-runs</h2>
          <ul class="related" aria-label="Sub-runs">
            {shown.map((c) => (
              <li key={c.id}>
                <Badge value={runOutcome(c)} />{' '}
                <Link href={`/runs/${c.id}`}>
                  <code>{c.id}</code>
                </Link>{' '}
                <span class="muted small">{[roles.get(c.id), c.blueprint].filter(Boolean).join(' · ')}</span>
              </li>
            ))}
          </ul>
          {shown.length < children.length && (
            <button type="button" class="secondary" onClick={() => setAll(true)}>
              Show all {children.length}
            </button>
          )}
          {all && children.length >= API_CHILDREN && (
            <p class="muted small">The first {API_CHILDREN} sub-runs are listed.</p>
          )}
        </>
      )}
      {swarm?.runs.some((r) => !listed.has(r.id)) && (
        <>
          <h2>Swarm {swarm.name}</h2>
          <ul class="related" aria-label={`Runs of swarm ${swarm.name}`}>
            {swarm.runs.map((r) => (
              <li key={r.id}>
                <Badge value={runOutcome(r)} />{' '}
                {r.id === run.id ? (
                  <code>{r.id}</code>
                ) : (
                  <Link href={`/runs/${r.id}`}>
                    <code>{r.id}</code>
                  </Link>
                )}{' '}
                <span class="muted small">
                  {roleOf(r)}
                  {r.id === run.id ? ' · this run' : ''}
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
