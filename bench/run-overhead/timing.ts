import { performance } from 'node:perf_hooks';
import type { Sandbox, SandboxProvider } from '../../src/sandbox/types.ts';
import type { ScmProvider } from '../../src/scm/types.ts';

/**
 * Durations of provider calls, by name (`scm.fetch`, `sandbox.create` ...), summed since the
 * last `take`. Runs are executed one at a time, so what is taken after a run belongs to it.
 */
export class Spans {
  private current = new Map<string, number>();

  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.current.set(name, (this.current.get(name) ?? 0) + performance.now() - start);
    }
  }

  /** The durations recorded since the last call, and a fresh start. */
  take(): Record<string, number> {
    const taken = Object.fromEntries(this.current);
    this.current = new Map();
    return taken;
  }
}

/** An SCM provider that records how long each of its calls takes. */
export function timedScm(scm: ScmProvider, spans: Spans): ScmProvider {
  return {
    name: scm.name,
    resolve: (location) => spans.time('scm.resolve', () => scm.resolve(location)),
    fetch: (repo, ref, options) => spans.time('scm.fetch', () => scm.fetch(repo, ref, options)),
    checkout: (repo, commit) => spans.time('scm.checkout', () => scm.checkout(repo, commit)),
    publish: (input) => spans.time('scm.publish', () => scm.publish(input)),
    openChange: (input) => spans.time('scm.openChange', () => scm.openChange(input)),
    gitAccess: (repo) => scm.gitAccess(repo),
  };
}

/** A sandbox provider whose sandboxes record how long creating, running, staging and destroying take. */
export function timedSandboxes(provider: SandboxProvider, spans: Spans): SandboxProvider {
  return {
    name: provider.name,
    check: () => provider.check(),
    create: async (spec) =>
      timedSandbox(await spans.time('sandbox.create', () => provider.create(spec)), spans),
  };
}

function timedSandbox(sandbox: Sandbox, spans: Spans): Sandbox {
  const view = sandbox.view;
  return {
    id: sandbox.id,
    workspacePath: sandbox.workspacePath,
    exec: (argv, options) => spans.time('sandbox.exec', () => sandbox.exec(argv, options)),
    view: {
      path: view.path,
      exec: (argv, options) => spans.time('view.exec', () => view.exec(argv, options)),
    },
    killAll: () => sandbox.killAll(),
    destroy: (options) => spans.time('sandbox.destroy', () => sandbox.destroy(options)),
  };
}
