import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { AUDIT_KINDS, type AuditEntry, type AuditLogPage, type AuditVerification } from '../types.ts';
import { Empty, ErrorBox, Link, Loading, useDebounced, useLoad } from '../ui.tsx';

/** Entries per page of the log. */
const PAGE = 100;

/** Allowed or denied, for the entries that record a decision. */
export function decision(entry: AuditEntry): 'allowed' | 'denied' | '' {
  if (entry.kind === 'egress') return (entry.data as { allowed?: boolean }).allowed ? 'allowed' : 'denied';
  if (entry.kind === 'policy.denied' || entry.kind === 'budget.exceeded') return 'denied';
  return '';
}

function summary(entry: AuditEntry): string {
  const d = entry.data as Record<string, unknown>;
  if (entry.kind === 'exec') return `${(d.argv as string[]).join(' ')} → ${d.exitCode ?? d.signal ?? '?'}`;
  if (entry.kind === 'egress') return `${d.method} ${d.host}:${d.port} (${d.reason})`;
  if (entry.kind === 'model.call')
    return `${d.provider}:${d.model} ${d.inputTokens}/${d.outputTokens} tokens`;
  return Object.entries(d)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(' ');
}

/** The audit log, searched in the database a page at a time, with the hash chain's verification. */
export function AuditPage() {
  // Filters start from the URL (`/audit?run=ID` is linked from a run's page) and are kept there.
  const initial = new URLSearchParams(location.search);
  const [runInput, setRun] = useState(initial.get('run') ?? '');
  const [kind, setKind] = useState(initial.get('kind') ?? '');
  const [dec, setDec] = useState(initial.get('decision') ?? '');
  const [textInput, setText] = useState(initial.get('text') ?? '');
  // Typing settles before the server is asked.
  const run = useDebounced(runInput, 300);
  const text = useDebounced(textInput, 300);
  const [older, setOlder] = useState<{ entries: AuditEntry[]; nextBefore: number | null } | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<unknown>(null);
  const query = (before?: number) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (run.trim()) q.set('run', run.trim());
    if (kind) q.set('kind', kind);
    if (dec) q.set('decision', dec);
    if (text.trim()) q.set('text', text.trim());
    if (before !== undefined) q.set('before', String(before));
    return `/api/audit?${q}`;
  };
  const verify = useLoad((signal) => api<AuditVerification>('/api/audit/verify', { signal }), [], 10_000);
  const log = useLoad((signal) => api<AuditLogPage>(query(), { signal }), [run, kind, dec, text], 5000);
  useEffect(() => {
    setOlder(null);
    const q = new URLSearchParams(query().split('?')[1]);
    q.delete('limit');
    history.replaceState(null, '', `/audit${q.size ? `?${q}` : ''}`);
  }, [run, kind, dec, text]);
  // The first page refreshes every 5 s; entries shown once stay, so a refresh that pushes
  // entries off the first page never opens a gap above the older pages.
  const bySeq = new Map<number, AuditEntry>();
  for (const e of [...(log.data?.entries ?? []), ...(older?.entries ?? [])]) bySeq.set(e.seq, e);
  const entries = [...bySeq.values()].sort((a, b) => b.seq - a.seq);
  const nextBefore = older ? older.nextBefore : (log.data?.nextBefore ?? null);
  const loadOlder = async () => {
    const oldest = entries.at(-1)?.seq;
    if (nextBefore === null || oldest === undefined) return;
    setLoadingOlder(true);
    setOlderError(null);
    try {
      const more = await api<AuditLogPage>(query(oldest));
      setOlder({ entries: [...entries, ...more.entries], nextBefore: more.nextBefore });
    } catch (error) {
      setOlderError(error);
    } finally {
      setLoadingOlder(false);
    }
  };
  const filtered = Boolean(run.trim() || kind || dec || text.trim());
  return (
    <section>
      <h1>Audit log</h1>
      {verify.data ? (
        <p class={`state ${verify.data.ok ? 'ok' : 'error'}`} role="status">
          {verify.data.ok
            ? `Hash chain verified: ${verify.data.entries} entries intact${verify.data.head ? `, head #${verify.data.head.seq} ${verify.data.head.hash.slice(0, 12)}…` : ''}.`
            : `Hash chain BROKEN at #${verify.data.firstBad?.seq}: ${verify.data.firstBad?.problem} (${verify.data.firstBad?.detail}).`}
        </p>
      ) : verify.error ? (
        <ErrorBox error={verify.error} what="Audit verification" />
      ) : (
        <Loading what="the chain verification" />
      )}
      <form class="filters" aria-label="Search the audit log" onSubmit={(e) => e.preventDefault()}>
        <label>
          Run
          <input
            type="search"
            value={runInput}
            placeholder="run id or suffix"
            onInput={(e) => setRun(e.currentTarget.value)}
          />
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">any</option>
            {AUDIT_KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Decision
          <select value={dec} onChange={(e) => setDec(e.currentTarget.value)}>
            <option value="">any</option>
            <option>allowed</option>
            <option>denied</option>
          </select>
        </label>
        <label>
          Text
          <input
            type="search"
            value={textInput}
            placeholder="anything"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
      </form>
      {log.error ? <ErrorBox error={log.error} what="The audit log" /> : null}
      {log.data === null ? (
        log.error ? null : (
          <Loading what="the audit log" />
        )
      ) : entries.length === 0 ? (
        <Empty>{filtered ? 'No audit entries match these filters.' : 'No audit entries yet.'}</Empty>
      ) : (
        <div class="scroll">
          <table class="data audit stacked">
            <caption class="sr-only">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col">Decision</th>
                <th scope="col">Run</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td class="nowrap">{new Date(e.at).toLocaleString()}</td>
                  <td>{e.kind}</td>
                  <td>{decision(e) && <span class={`badge b-${decision(e)}`}>{decision(e)}</span>}</td>
                  <td>{e.run_id ? <Link href={`/runs/${e.run_id}`}>{e.run_id.slice(-8)}</Link> : '—'}</td>
                  <td class="detail">{summary(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {olderError ? <ErrorBox error={olderError} what="Older audit entries" /> : null}
      {nextBefore !== null && log.data ? (
        <button type="button" class="more" onClick={loadOlder} disabled={loadingOlder}>
          {loadingOlder ? 'Loading older entries…' : 'Load older entries'}
        </button>
      ) : null}
    </section>
  );
}
