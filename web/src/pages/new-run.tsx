import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { Run } from '../types.ts';
import { ErrorBox, navigate } from '../ui.tsx';

/** Queues a run: an agent prompt or a script, on a repo, with a blueprint, harness and model. */
export function NewRunPage() {
  const [kind, setKind] = useState<'prompt' | 'script'>('prompt');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <section>
      <h1>New run</h1>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          const text = (name: string) => String(form.get(name) ?? '').trim();
          setBusy(true);
          setError(null);
          try {
            const run = await api<Run>('/api/runs', {
              method: 'POST',
              body: {
                repo: text('repo'),
                [kind]: text('task'),
                blueprint: text('blueprint') || undefined,
                harness: kind === 'prompt' ? text('harness') || undefined : undefined,
                model: kind === 'prompt' ? text('model') || undefined : undefined,
              },
            });
            navigate(`/runs/${run.id}`);
          } catch (err) {
            setError(err);
            setBusy(false);
          }
        }}
      >
        <label>
          Repository
          <input name="repo" required placeholder="/srv/git/app or https://github.com/org/app" />
        </label>
        <fieldset class="segmented">
          <legend>What to do</legend>
          <label>
            <input type="radio" name="kind" checked={kind === 'prompt'} onChange={() => setKind('prompt')} />{' '}
            Agent prompt
          </label>
          <label>
            <input type="radio" name="kind" checked={kind === 'script'} onChange={() => setKind('script')} />{' '}
            Script
          </label>
        </fieldset>
        <label>
          {kind === 'prompt' ? 'Prompt' : 'Script (shell)'}
          <textarea
            name="task"
            required
            rows={kind === 'prompt' ? 5 : 3}
            class={kind === 'script' ? 'mono' : undefined}
            placeholder={kind === 'prompt' ? 'Fix the flaky test in src/…' : 'npm run lint -- --fix'}
          />
        </label>
        <div class="grid3">
          <label>
            Blueprint
            <input name="blueprint" placeholder={kind === 'prompt' ? 'default' : 'script'} />
          </label>
          <label>
            Harness
            <input name="harness" placeholder="builtin" disabled={kind === 'script'} />
          </label>
          <label>
            Model
            <input name="model" placeholder="the server's default" disabled={kind === 'script'} />
          </label>
        </div>
        <p class="help">Harness and model apply to the blueprint's agent steps that name none.</p>
        {error ? <ErrorBox error={error} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Queueing…' : 'Start run'}
        </button>
      </form>
    </section>
  );
}
