import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEventPayload } from '../src/core/events.ts';
import { createToken } from '../src/server/tokens.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';
import { DATABASE_KINDS } from './support/databases.ts';
import { makeRepo } from './support/repos.ts';

interface Message {
  id?: string;
  event: string;
  data: string;
}

/** Reads an SSE response as raw text until `until` says stop (or the stream ends). */
async function readStream(
  res: Response,
  until: (messages: Message[], raw: string) => boolean = () => false,
): Promise<{ messages: Message[]; raw: string; ended: boolean }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let raw = '';
  let messages: Message[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { messages, raw, ended: true };
    raw += value;
    messages = parse(raw);
    if (until(messages, raw)) {
      await reader.cancel();
      return { messages, raw, ended: false };
    }
  }
}

function parse(raw: string): Message[] {
  const complete = raw.slice(0, raw.lastIndexOf('\n\n') + 2);
  return complete
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n').filter((l) => l && !l.startsWith(':') && !l.startsWith('retry:'));
      if (lines.length === 0) return null;
      const field = (name: string) =>
        lines
          .find((l) => l.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      return { id: field('id'), event: field('event') ?? 'message', data: field('data') ?? '' };
    })
    .filter((m) => m !== null) as Message[];
}

const output = (text: string): RunEventPayload => ({
  type: 'step.output',
  data: { step: 'script', stream: 'stdout', text },
});

describe.each(DATABASE_KINDS)('live events over SSE on %s', (kind) => {
  let api: TestApi;
  let repo: string;
  let token: string;

  beforeAll(async () => {
    api = await startTestApi(kind);
    repo = join(api.dir, 'repo');
    await makeRepo(repo, { 'README.md': '# sse\n' });
    token = (await createToken(api.engine.store, { name: 'reader', scopes: ['runs:read'] })).token;
  }, 240_000);

  afterAll(async () => {
    await api?.close();
  });

  async function newRun(): Promise<string> {
    const run = await api.engine.submit({ repo, script: 'true' });
    return run.id;
  }

  const stream = (runId: string, headers: Record<string, string> = {}, query = '') =>
    api.fetch(`/api/runs/${runId}/events/stream${query}`, { token, headers });

  it('sends each event with its seq as id, live, and ends after the run completed', async () => {
    const runId = await newRun();
    const res = await stream(runId);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reading = readStream(res as unknown as Response);

    await api.engine.store.appendEvents(runId, [output('one\n'), output('two\n')]);
    await api.engine.store.completeRun(runId, 'success', null);
    const { messages, ended } = await reading;

    const events = messages.filter((m) => m.event === 'message');
    expect(ended).toBe(true);
    expect(events.map((m) => Number(m.id))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.map((m) => JSON.parse(m.data).seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(JSON.parse(events.at(-1)!.data).type).toBe('run.completed');
    expect(messages.at(-1)!.event).toBe('end');
  });

  it('resumes after Last-Event-ID with no event lost or repeated across reconnects', async () => {
    const runId = await newRun();
    const seen: number[] = [];
    let last = 0;

    // Three connections, each dropped by the client after some events while more are written.
    for (let round = 0; round < 3; round++) {
      await api.engine.store.appendEvents(runId, [output(`a${round}\n`), output(`b${round}\n`)]);
      const res = await stream(runId, { 'last-event-id': String(last) });
      const { messages } = await readStream(res as unknown as Response, (m) => m.length >= 2);
      for (const m of messages.slice(0, 2)) seen.push(Number(m.id));
      last = seen.at(-1)!;
    }
    await api.engine.store.completeRun(runId, 'success', null);
    const rest = await readStream(
      (await stream(runId, { 'last-event-id': String(last) })) as unknown as Response,
    );
    seen.push(...rest.messages.filter((m) => m.event === 'message').map((m) => Number(m.id)));

    const stored = (await api.engine.store.events(runId)).map((e) => e.seq);
    expect(seen).toEqual(stored);
    expect(rest.ended).toBe(true);
  });

  it('takes ?after= when there is no Last-Event-ID, and the header when both are given', async () => {
    const runId = await newRun();
    await api.engine.store.completeRun(runId, 'success', null);

    const byQuery = await readStream((await stream(runId, {}, '?after=2')) as unknown as Response);
    const byHeader = await readStream(
      (await stream(runId, { 'last-event-id': '3' }, '?after=1')) as unknown as Response,
    );

    expect(byQuery.messages.filter((m) => m.event === 'message').map((m) => m.id)).toEqual(['3', '4']);
    expect(byHeader.messages.filter((m) => m.event === 'message').map((m) => m.id)).toEqual(['4']);
  });

  it('rejects a malformed Last-Event-ID and a stream of an unknown run', async () => {
    const runId = await newRun();

    const bad = await stream(runId, { 'last-event-id': 'seven' });
    const unknown = await stream('run_0000000000000000zzzz');

    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('INVALID_INPUT');
    expect(unknown.status).toBe(404);
  });

  it('keeps an idle stream alive with heartbeat comments', async () => {
    const runId = await newRun();

    const { raw, ended } = await readStream(
      (await stream(runId, { 'last-event-id': '2' })) as unknown as Response,
      (_m, text) => (text.match(/^: heartbeat$/gm) ?? []).length >= 2,
    );

    expect(ended).toBe(false);
    expect(raw).toMatch(/^retry: 1000$/m);
  });
});
