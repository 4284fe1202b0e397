import { useState } from 'preact/hooks';
import { ApiError, api, session } from '../api.ts';

/** Asks for an API token and checks it against the server before keeping it. */
export function SignIn(props: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main class="signin" id="main">
      <h1>◐ Nightshift</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await api('/api/runs?limit=1', { token: token.trim() });
            session.set(token.trim());
            props.onSignedIn();
          } catch (err) {
            setError(
              err instanceof ApiError && err.status === 401
                ? 'That token is wrong, revoked or malformed.'
                : err instanceof ApiError && err.status === 403
                  ? 'That token may not read runs (it needs the scope runs:read).'
                  : err instanceof Error
                    ? err.message
                    : String(err),
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby="token-help"
          aria-invalid={error ? 'true' : undefined}
        />
        <p id="token-help" class="help">
          Create one on the server with <code>nightshift token create --name me --scope runs:write</code>. It
          is kept in this tab only.
        </p>
        {error && (
          <p class="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
