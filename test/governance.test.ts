import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, verifyAudit } from '../src/audit/index.ts';
import type { RunEvent } from '../src/core/events.ts';
import { Engine, engineConfig, type RunRequest } from '../src/engine/index.ts';
import { type ModelServer, startModelServer } from './support/model-server.ts';
import { makeRepo, nightshiftBranches } from './support/repos.ts';

const KEY = 'sk-ant-test-0123456789abcdef-secret';
const SECRET = 'deploy-4f9a1c77e2';

describe('a governed run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-governance-'));
  let models: ModelServer;
  let engine: Engine;
  let repos = 0;

  beforeAll(async () => {
    models = await startModelServer({
      script: Array.from({ length: 6 }, () => ({
        text: 'hello',
        usage: { inputTokens: 40, outputTokens: 10 },
      })),
    });
    const home = join(dir, 'home');
    const config = engineConfig(home, {
      ANTHROPIC_API_KEY: KEY,
      NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
      NIGHTSHIFT_SECRET_DEPLOY_TOKEN: SECRET,
    });
    engine = await Engine.open(config);
    writeFileSync(
      join(home, 'policy.yml'),
      'network:\n  allow: ["allowed.example.invalid"]\nexecutables:\n  deny: [wget]\nbudget:\n  tokens: 100\npublish:\n  max_changed_files: 2\n',
    );
    await engine.startWorker();
  });

  afterAll(async () => {
    await engine?.close();
    await models?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runToEnd(
    request: Omit<RunRequest, 'repo'>,
    files: Record<string, string> = { 'a.txt': 'a\n' },
  ) {
    const repo = join(dir, `repo${repos++}`);
    await makeRepo(repo, files);
    const run = await engine.submit({ repo, ...request });
    for (;;) {
      const current = await engine.store.getRun(run.id);
      if (current.status === 'completed')
        return { run: current, repo, events: await engine.store.events(run.id) };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
    events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);

  it('reaches the model through the gateway, which adds the key the sandbox never sees', async () => {
    const { run, events } = await runToEnd({
      script: [
        'env > env.txt',
        `curl -sS "$ANTHROPIC_BASE_URL/v1/messages" -H 'x-api-key: stolen' -H 'content-type: application/json' \\`,
        `  -d '{"model":"claude-test","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}' > answer.json`,
      ].join('\n'),
    });

    expect(run.conclusion).toBe('success');
    expect(models.requests.at(-1)?.headers['x-api-key']).toBe(KEY);
    expect(ofType(events, 'model.call').map((e) => e.data)).toEqual([
      expect.objectContaining({ provider: 'anthropic', inputTokens: 40, outputTokens: 10, status: 200 }),
    ]);
    const change = await engine.store.changes.forRun(run.id);
    expect(change!.diff).toContain('hello');
    expect(change!.diff).toContain('ANTHROPIC_BASE_URL=http://127.0.0.1:4000');
    expect(change!.diff).not.toContain(KEY);
  });

  it('stops the run with budget_exceeded once the policy budget is spent', async () => {
    const call = `curl -sS "$ANTHROPIC_BASE_URL/v1/messages" -H 'content-type: application/json' -d '{"model":"claude-test","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}'`;

    const { run, events } = await runToEnd({ script: `${call}; ${call}; ${call}; sleep 30` });

    expect(run.conclusion).toBe('budget_exceeded');
    expect(run.reason).toMatch(/model budget is spent \(100 tokens/);
    expect(ofType(events, 'policy.denied').map((e) => e.data.what)).toContain('budget');
  });

  it('refuses a host the policy does not allow, and cloud metadata, through the egress proxy', async () => {
    const { run, events } = await runToEnd({
      script: [
        'curl -s -o /dev/null -w "%{http_code}\\n" http://denied.example.invalid/ > codes.txt || true',
        'curl -s -o /dev/null -w "%{http_code}\\n" http://169.254.169.254/latest/meta-data/ >> codes.txt || true',
      ].join('\n'),
    });

    expect(run.conclusion).toBe('success');
    const change = await engine.store.changes.forRun(run.id);
    expect(change!.diff).toContain('+403\n+403');
    const denied = ofType(events, 'policy.denied').map((e) => e.data);
    expect(denied).toEqual([
      expect.objectContaining({ what: 'egress', reason: expect.stringContaining('denied.example.invalid') }),
      expect.objectContaining({ what: 'egress', reason: expect.stringContaining('169.254.169.254') }),
    ]);
  });

  it('concludes policy_denied and pushes nothing when the change breaks a publish rule', async () => {
    const { run, repo } = await runToEnd({
      script: 'mkdir -p .github/workflows && echo x > .github/workflows/ci.yml',
    });

    expect(run.conclusion).toBe('policy_denied');
    expect(run.reason).toContain('.github/workflows/ci.yml');
    expect(await nightshiftBranches(repo)).toEqual([]);
  });

  it('concludes policy_denied when a change touches more files than the policy allows', async () => {
    const { run } = await runToEnd({ script: 'touch one two three' });

    expect(run.conclusion).toBe('policy_denied');
    expect(run.reason).toMatch(/3 files/);
  });

  it('records the sandbox, egress decisions, model calls and denials in a verifiable audit log', async () => {
    const { run } = await runToEnd({
      script: [
        'curl -s -o /dev/null http://denied.example.invalid/ || true',
        `curl -sS "$ANTHROPIC_BASE_URL/v1/messages" -H 'content-type: application/json' -d '{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' > out.json`,
      ].join('\n'),
    });

    const entries = await listAudit(engine.store.db, { runId: run.id });
    const verification = await verifyAudit(engine.store.db);

    expect(entries.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['sandbox.created', 'egress', 'model.call', 'sandbox.destroyed', 'publish']),
    );
    expect(entries.find((e) => e.kind === 'egress')?.data).toMatchObject({
      host: 'denied.example.invalid',
      allowed: false,
    });
    expect(verification.ok).toBe(true);
  });

  it('traces every program the sandbox runs into the audit log, from the kernel, not from what a harness says', async () => {
    const { run } = await runToEnd({
      script: 'cd sub 2>/dev/null || mkdir sub && cd sub && ls .. > /dev/null && sh -c "exit 0"',
    });

    const execs = (await listAudit(engine.store.db, { runId: run.id, kind: 'exec' })).map((e) => e.data);

    expect(execs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ argv: ['mkdir', 'sub'], cwd: '/workspace', exitCode: 0, source: 'trace' }),
        expect.objectContaining({ argv: ['ls', '..'], cwd: '/workspace/sub', exitCode: 0, source: 'trace' }),
      ]),
    );
  });

  it('fails a run whose script runs a denied program, saying the policy refused it, and audits the refusal', async () => {
    const { run, events } = await runToEnd({ script: 'wget -q -O- http://allowed.example.invalid/' });

    const denied = await listAudit(engine.store.db, { runId: run.id, kind: 'policy.denied' });

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toMatch(/the policy kept it from running wget$/);
    expect(ofType(events, 'policy.denied').map((e) => e.data.what)).toContain('exec');
    expect(denied.map((e) => e.data)).toEqual([expect.objectContaining({ what: 'exec wget' })]);
  });

  it('records the kernel refusing a binary the script wrote into the workspace', async () => {
    const { run } = await runToEnd({ script: 'cp /usr/bin/true ./mine && chmod +x ./mine && ./mine' });

    const denied = await listAudit(engine.store.db, { runId: run.id, kind: 'policy.denied' });

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toMatch(/the policy kept it from running \.\/mine/);
    expect(denied.map((e) => e.data)).toEqual([
      expect.objectContaining({ what: 'exec ./mine', reason: expect.stringContaining('EACCES') }),
    ]);
  });

  it('gives the setup step the secrets its environment names, and nothing after it, never storing a value', async () => {
    const { run, events } = await runToEnd(
      { script: 'echo "script sees [$DEPLOY_TOKEN]" > seen.txt' },
      {
        '.nightshift/environment.yml':
          'secrets: [DEPLOY_TOKEN]\nsetup:\n  - echo "setup got $DEPLOY_TOKEN"\n',
      },
    );

    const audit = await listAudit(engine.store.db, { runId: run.id });
    const change = await engine.store.changes.forRun(run.id);
    const output = ofType(events, 'step.output')
      .map((e) => e.data.text)
      .join('');

    expect(run.conclusion).toBe('success');
    expect(output).toContain('setup got [secret DEPLOY_TOKEN]');
    expect(change!.diff).toContain('+script sees []');
    expect(audit.filter((e) => e.kind === 'secret.used').map((e) => e.data)).toEqual([
      { names: ['DEPLOY_TOKEN'], step: 'setup' },
    ]);
    expect(JSON.stringify([events, audit, change])).not.toContain(SECRET);
  });

  it("keeps a secret out of the run's reason when a failing step prints it as its last error line", async () => {
    const { run } = await runToEnd(
      { script: 'true' },
      {
        '.nightshift/environment.yml':
          'secrets: [DEPLOY_TOKEN]\nsetup:\n  - \'echo "bad token: $DEPLOY_TOKEN" >&2; exit 4\'\n',
      },
    );

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toBe(
      'step setup failed: the command exited with code 4: bad token: [secret DEPLOY_TOKEN]',
    );
    expect(JSON.stringify(run)).not.toContain(SECRET);
  });

  it('stops a run whose environment needs a secret the server does not have, naming it', async () => {
    const { run } = await runToEnd(
      { script: 'true' },
      { '.nightshift/environment.yml': 'secrets: [MISSING_ONE]\n' },
    );

    expect(run.conclusion).toBe('error');
    expect(run.reason).toContain('secrets that are not set: MISSING_ONE');
    expect(run.reason).toContain('NIGHTSHIFT_SECRET_MISSING_ONE');
  });
});
