import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

/** The current path; `navigate` changes it without reloading. */
export function navigate(to: string): void {
  history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return path;
}

/** A link that navigates inside the dashboard (a normal link for new tabs). */
export function Link(props: {
  href: string;
  class?: string;
  children: ComponentChildren;
  'aria-current'?: 'page';
}) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props['aria-current']}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads data, optionally again every `pollMs` (quietly: the old data stays while reloading). */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  pollMs?: number,
): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    const aborter = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const data = await load(aborter.signal);
        if (!aborter.signal.aborted) setState({ data, error: null, loading: false });
      } catch (error) {
        if (!aborter.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      }
      if (pollMs && !aborter.signal.aborted) timer = setTimeout(run, pollMs);
    };
    setState((s) => ({ ...s, loading: true }));
    run();
    return () => {
      aborter.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload };
}

/** `value` once it has stopped changing for `ms` (for search boxes that query the server). */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * A page listing what `items` picks from `list`: its heading, the error (also when a reload
 * fails: the last list stays below it), "Loading WHAT…" until the first answer, `empty` when
 * there is nothing, else `children` in a list of cards.
 */
export function ListPage<T, I>(props: {
  title: string;
  what: string;
  list: Loaded<T>;
  items: (data: T) => I[];
  empty: ComponentChildren;
  children: (items: I[]) => ComponentChildren;
}) {
  const { list } = props;
  const items = list.data === null ? null : props.items(list.data);
  return (
    <section>
      <h1>{props.title}</h1>
      {list.error ? <ErrorBox error={list.error} what={props.title} /> : null}
      {items === null ? (
        list.error ? null : (
          <Loading what={props.what} />
        )
      ) : items.length === 0 ? (
        <Empty>{props.empty}</Empty>
      ) : (
        <ul class="cards">{props.children(items)}</ul>
      )}
    </section>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p class="state loading" role="status">
      <span class="spinner" aria-hidden="true" /> Loading {props.what}…
    </p>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="state empty">{props.children}</p>;
}

/** An error from the API, with its hint; a missing route says the server lacks that part. */
export function ErrorBox(props: { error: unknown; what?: string }) {
  const { error } = props;
  if (error instanceof ApiError && error.unavailable) {
    return (
      <div class="state unavailable" role="status">
        <strong>{props.what ?? 'This page'} is not available on this server.</strong>
        <p>The server answered 404 for its API ({error.message.replace(/^no route /, '')}).</p>
      </div>
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof ApiError ? error.hint : null;
  return (
    <div class="state error" role="alert">
      <strong>{message}</strong>
      {hint && <p>{hint}</p>}
    </div>
  );
}

/** Status or conclusion as a coloured badge. */
export function Badge(props: { value: string | null; title?: string }) {
  const value = props.value ?? 'unknown';
  return (
    <span class={`badge b-${value}`} title={props.title}>
      {value.replace(/_/g, ' ')}
    </span>
  );
}

export function runOutcome(run: { status: string; conclusion: string | null }): string {
  return run.status === 'completed' ? (run.conclusion ?? 'completed') : run.status;
}

/** `text` with its first letter upper-cased, for a sentence of its own. */
export function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function ago(iso: string | null): string {
  if (!iso) return '—';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86_400) return `${Math.round(s / 3600)}h ago`;
  return new Date(iso).toLocaleDateString();
}

/** A moment as a person reads it: the time for today, else the date and time. */
export function when(iso: string): string {
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString()
    ? date.toLocaleTimeString()
    : date.toLocaleString();
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m}m ${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;
export const num = (n: number) => n.toLocaleString('en-US');
