import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeliveries, webhookDeliveryMetrics } from '../src/triggers/deliveries.ts';
import { signBody } from '../src/triggers/github/verify.ts';
import { type GithubEnv, OLD_SECRET, SECRET, startGithubEnv, waitFor } from './support/github-env.ts';
import { examplePayload, send, signedDelivery } from './support/github-payloads.ts';

const REPO = 'acme/widgets';

/** An issue comment (a real payload) on issue `number` of `repo`, written by `login`. */
function comment(
  body: string,
  options: { login?: string; type?: string; number?: number; repo?: string; pr?: boolean } = {},
) {
  const payload = examplePayload(
    'issue_comment',
    options.repo ?? REPO,
    (p) => p.action === 'created' && !p.issue.pull_request,
  );
  payload.comment.body = body;
  payload.comment.user = {
    ...payload.comment.user,
    login: options.login ?? 'Codertocat',
    type: options.type ?? 'User',
  };
  payload.sender = payload.comment.user;
  payload.issue.number = options.number ?? 1;
  if (options.pr) payload.issue.pull_request = { url: 'x' };
  return payload;
}

function labeled(label: string, login = 'Codertocat') {
  const payload = examplePayload('issues', REPO, (p) => p.action === 'labeled');
  payload.label = { ...payload.label, name: label };
  payload.sender = { ...payload.sender, login, type: 'User' };
  payload.issue.number = 2;
  payload.issue.title = 'Spelling mistake in the README';
  payload.issue.body = 'It says "helo" instead of "hello".';
  return payload;
}

describe('GitHub webhooks', () => {
  let env: GithubEnv;
  const url = () => env.webhookUrl;

  beforeAll(async () => {
    env = await startGithubEnv({ repos: { [REPO]: { 'README.md': 'helo\n' } }, maxBodyBytes: 256 * 1024 });
    env.github.permissions.set('Codertocat', 'admin');
    env.github.permissions.set('reader', 'read');
    // The repo is known to Nightshift (a run was asked for it before).
    await env.engine.store.repos.upsert(await env.provider.resolve(`github:${REPO}`));
    env.trigger.start();
  }, 180_000);
  afterAll(async () => {
    await env?.close();
  });

  it('replays real deliveries: signed ones start exactly their runs once; forged and malformed ones are refused and recorded', async () => {
    const start = signedDelivery('issue_comment', comment('/nightshift fix the typo in README'), SECRET);
    const label = signedDelivery('issues', labeled('nightshift'), SECRET);
    const chatter = signedDelivery('issue_comment', comment('Thanks, looks good!'), SECRET);
    const bot = signedDelivery(
      'issue_comment',
      comment('/nightshift loop forever', { login: 'nightshift[bot]', type: 'Bot' }),
      SECRET,
    );
    const reader = signedDelivery(
      'issue_comment',
      comment('/nightshift delete everything', { login: 'reader' }),
      SECRET,
    );
    const stranger = signedDelivery(
      'issue_comment',
      comment('/nightshift hello', { login: 'stranger' }),
      SECRET,
    );
    const rotated = signedDelivery(
      'issue_comment',
      comment('/nightshift update the changelog', { number: 3 }),
      OLD_SECRET,
    );
    const ping = signedDelivery('ping', examplePayload('ping', REPO), SECRET);
    const unknownRepo = signedDelivery(
      'issue_comment',
      comment('/nightshift hi', { repo: 'evil/elsewhere' }),
      SECRET,
    );

    const accepted = [start, label, chatter, bot, reader, stranger, rotated, ping, unknownRepo];
    for (const delivery of accepted) expect((await send(url(), delivery)).status).toBe(202);

    // Redeliveries of the same delivery id (GitHub's "Redeliver" button) are answered but start nothing.
    expect(await send(url(), start)).toEqual({ status: 200, body: { duplicate: true } });
    expect((await send(url(), label)).status).toBe(200);

    // Forgeries.
    const wrongSecret = signedDelivery(
      'issue_comment',
      comment('/nightshift steal secrets'),
      'not-the-secret',
    );
    const altered = {
      ...start,
      headers: { ...start.headers, 'x-github-delivery': randomUUID() },
      body: start.body.replace('fix the typo', 'exfiltrate the keys'),
    };
    const otherSignature = signedDelivery('issue_comment', comment('/nightshift rm -rf'), SECRET);
    otherSignature.headers['x-hub-signature-256'] = start.headers['x-hub-signature-256']!;
    // A forged request that takes the id of a real delivery must not keep the real one out.
    const realLater = signedDelivery(
      'issue_comment',
      comment('/nightshift add a test', { number: 4 }),
      SECRET,
    );
    const squatter = {
      ...realLater,
      headers: { ...realLater.headers, 'x-hub-signature-256': signBody(realLater.body, 'guess') },
    };
    const notHex = {
      ...otherSignature,
      headers: {
        ...otherSignature.headers,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': 'sha256=zz',
      },
    };
    for (const forged of [wrongSecret, altered, otherSignature, squatter, notHex]) {
      const answer = await send(url(), forged);
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('UNAUTHORIZED');
    }
    expect((await send(url(), realLater)).status).toBe(202);

    // Malformed.
    const badJson = signedDelivery('issue_comment', {}, SECRET);
    badJson.body = '{"action": "created", ';
    badJson.headers['x-hub-signature-256'] = signBody(badJson.body, SECRET);
    const arrayJson = signedDelivery('issue_comment', [], SECRET);
    const { 'x-hub-signature-256': _, ...unsignedHeaders } = signedDelivery(
      'issue_comment',
      comment('/nightshift x'),
      SECRET,
    ).headers;
    const unsigned = { body: '{}', headers: unsignedHeaders };
    const { 'x-github-event': __, ...noEventHeaders } = signedDelivery(
      'issue_comment',
      comment('/nightshift x'),
      SECRET,
    ).headers;
    const noEvent = { body: '{}', headers: noEventHeaders };
    const badId = signedDelivery('issue_comment', comment('/nightshift x'), SECRET, '../../etc/passwd');
    const huge = signedDelivery(
      'issue_comment',
      { ...comment('/nightshift x'), padding: 'x'.repeat(300 * 1024) },
      SECRET,
    );
    expect((await send(url(), badJson)).status).toBe(400);
    expect((await send(url(), arrayJson)).status).toBe(400);
    expect((await send(url(), unsigned)).status).toBe(400);
    expect((await send(url(), noEvent)).status).toBe(400);
    expect((await send(url(), badId)).status).toBe(400);
    expect((await send(url(), huge)).status).toBe(413);
    // The same oversized body streamed without a Content-Length is cut off while reading.
    const streamed = await fetch(url(), {
      method: 'POST',
      headers: huge.headers,
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(huge.body));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);

    const store = env.engine.store;
    const processed = await waitFor(async () => {
      const rows = await listDeliveries(store.db, 'github');
      const queued = rows.filter((r) => r.deliveryId !== null);
      return queued.every((r) => r.processedAt !== null) ? rows : undefined;
    }, 'every accepted delivery to be processed');

    // Exactly the expected runs exist, each started by its delivery.
    const runs = await store.listRuns();
    expect(runs.map((r) => r.inputs.prompt).sort()).toEqual([
      'Spelling mistake in the README\n\nIt says "helo" instead of "hello".',
      'add a test',
      'fix the typo in README',
      'update the changelog',
    ]);
    const byTrigger = new Map(runs.map((r) => [r.trigger, r]));
    for (const delivery of [start, label, rotated, realLater]) {
      expect(byTrigger.get(`github:${delivery.id}`)).toBeDefined();
    }
    expect(runs.every((r) => r.status === 'queued')).toBe(true);

    const outcome = (id: string) => processed.find((r) => r.deliveryId === id);
    expect(outcome(chatter.id)).toMatchObject({
      outcome: 'ignored',
      reason: 'the comment does not start with /nightshift',
    });
    expect(outcome(bot.id)).toMatchObject({
      outcome: 'ignored',
      reason: 'comments by bots never start runs',
    });
    expect(outcome(reader.id)?.reason).toBe('reader has read access; starting runs needs write access');
    expect(outcome(stranger.id)?.reason).toBe('stranger has none access; starting runs needs write access');
    expect(outcome(ping.id)).toMatchObject({ outcome: 'ignored', reason: 'ping' });
    expect(outcome(unknownRepo.id)?.reason).toMatch(/evil\/elsewhere is not a repository Nightshift knows/);
    expect(outcome(start.id)).toMatchObject({
      outcome: 'accepted',
      runId: byTrigger.get(`github:${start.id}`)!.id,
    });

    const counts: Record<string, number> = {};
    for (const row of processed) counts[row.outcome] = (counts[row.outcome] ?? 0) + 1;
    expect(counts).toEqual({
      accepted: 4,
      ignored: 6,
      duplicate: 2,
      rejected_signature: 5,
      rejected_malformed: 7,
    });
    const squatted = processed
      .filter((r) => r.presentedId === realLater.id)
      .map((r) => r.outcome)
      .sort();
    expect(squatted).toEqual(['accepted', 'rejected_signature']);

    const metrics = await webhookDeliveryMetrics(store.db);
    expect(metrics).toContain(
      'nightshift_webhook_deliveries_total{source="github",outcome="rejected_signature"} 5',
    );
    expect(metrics).toContain('nightshift_webhook_deliveries_total{source="github",outcome="accepted"} 4');

    // Every refusal is in the log, with its reason.
    const refused = env.logs.filter((line) => line.msg === 'webhook delivery refused');
    expect(refused.map((line) => line.outcome).sort()).toEqual([
      ...Array(7).fill('rejected_malformed'),
      ...Array(5).fill('rejected_signature'),
    ]);
    expect(refused.find((line) => line.deliveryId === altered.headers['x-github-delivery'])?.reason).toBe(
      'the X-Hub-Signature-256 signature does not match the body',
    );

    // Each started run is answered on its issue with a link to it.
    const answers = env.github.comments.filter((c) => c.body.startsWith('🌙 Nightshift run'));
    expect(answers.map((c) => c.number).sort()).toEqual([1, 2, 3, 4]);
    const first = byTrigger.get(`github:${start.id}`)!;
    expect(answers.find((c) => c.number === 1)?.body).toContain(
      `[\`${first.id}\`](https://nightshift.test/runs/${first.id})`,
    );
  });

  it('starts a run on the head branch of a pull request commented on, from issue comments and review comments', async () => {
    const pull = env.github.pulls.length + 1;
    env.github.pulls.push({
      number: pull,
      title: 'Feature',
      body: '',
      head: 'feature',
      base: 'main',
      state: 'open',
      merged: false,
      owner: 'acme',
      repo: 'widgets',
    });
    const onConversation = signedDelivery(
      'issue_comment',
      comment('/nightshift add docs for this', { number: pull, pr: true }),
      SECRET,
    );
    const review = examplePayload('pull_request_review_comment', REPO, (p) => p.action === 'created');
    review.comment.body = '/nightshift rename this variable';
    review.comment.user = { login: 'Codertocat', type: 'User' };
    review.pull_request.number = pull;
    review.pull_request.head = { ...review.pull_request.head, ref: 'feature', repo: { full_name: REPO } };
    const onLine = signedDelivery('pull_request_review_comment', review, SECRET);

    expect((await send(env.webhookUrl, onConversation)).status).toBe(202);
    expect((await send(env.webhookUrl, onLine)).status).toBe(202);

    const runs = await waitFor(async () => {
      const all = await env.engine.store.listRuns();
      const mine = all.filter(
        (r) => r.trigger === `github:${onConversation.id}` || r.trigger === `github:${onLine.id}`,
      );
      return mine.length === 2 ? mine : undefined;
    }, 'both runs');
    expect(runs.map((r) => [r.inputs.prompt, r.baseRef]).sort()).toEqual([
      ['add docs for this', 'feature'],
      ['rename this variable', 'feature'],
    ]);
    // Each run is answered with a comment after it is queued: wait for both answers.
    const answers = await waitFor(async () => {
      // Issue numbers of earlier tests may equal this pull's: count the answers naming these runs.
      const posted = env.github.comments.filter(
        (c) => c.number === pull && runs.some((r) => c.body.includes(r.id)),
      );
      return posted.length >= 2 ? posted : undefined;
    }, 'both answers');
    expect(answers).toHaveLength(2);
  });

  it('starts a CI fix on a failed Nightshift branch, once per commit, for at most 2 rounds, then hands back', async () => {
    const store = env.engine.store;
    const repo = await store.repos.upsert(await env.provider.resolve(`github:${REPO}`));
    const branch = 'nightshift/fix-typo-abcd1234';
    const failed = (event: 'check_suite' | 'check_run', sha: string) => {
      if (event === 'check_suite') {
        const payload = examplePayload('check_suite', REPO, (p) => p.action === 'completed');
        payload.check_suite = {
          ...payload.check_suite,
          conclusion: 'failure',
          head_branch: branch,
          head_sha: sha,
          pull_requests: [{ number: 7 }],
        };
        return signedDelivery('check_suite', payload, SECRET);
      }
      const payload = examplePayload(
        'check_run',
        REPO,
        (p) => p.action === 'completed' && p.check_run.conclusion === 'failure',
      );
      payload.check_run = {
        ...payload.check_run,
        name: 'test',
        head_sha: sha,
        check_suite: {
          ...payload.check_run.check_suite,
          conclusion: 'failure',
          head_branch: branch,
          head_sha: sha,
          pull_requests: [{ number: 7 }],
        },
      };
      return signedDelivery('check_run', payload, SECRET);
    };
    /** What a finished fix run of round `round` leaves: a change whose head commit is `sha`. */
    const fixRunMade = async (run: { id: string }, sha: string) => {
      await store.recordChange({
        runId: run.id,
        repoId: repo.id,
        branch,
        baseCommit: 'a'.repeat(40),
        headCommit: sha,
        title: 'fix',
        body: '',
        diffstat: { files: 1, insertions: 1, deletions: 0, perFile: [] },
        diff: '',
        state: 'open',
        url: null,
      });
    };
    const processedOf = (id: string) =>
      waitFor(
        async () =>
          (await listDeliveries(store.db, 'github')).find((r) => r.deliveryId === id && r.processedAt),
        `delivery ${id}`,
      );
    const sha1 = '1'.repeat(40);
    const sha2 = '2'.repeat(40);
    const sha3 = '3'.repeat(40);

    const suite1 = failed('check_suite', sha1);
    const run1 = failed('check_run', sha1);
    expect((await send(env.webhookUrl, suite1)).status).toBe(202);
    expect((await send(env.webhookUrl, run1)).status).toBe(202);
    const round1 = await processedOf(suite1.id);
    expect(round1).toMatchObject({ outcome: 'accepted', reason: `CI fix round 1 for ${sha1.slice(0, 12)}` });
    expect((await processedOf(run1.id)).reason).toMatch(/^a CI fix for 111111111111 is already started/);
    const fix1 = await store.getRun(round1.runId!);
    expect(fix1).toMatchObject({ baseRef: branch, branch, blueprint: 'default' });
    expect(fix1.inputs.values).toEqual({ ci_head_sha: sha1, ci_round: '1' });

    await fixRunMade(fix1, sha2);
    const suite2 = failed('check_run', sha2);
    expect((await send(env.webhookUrl, suite2)).status).toBe(202);
    const round2 = await processedOf(suite2.id);
    expect(round2.reason).toBe(`CI fix round 2 for ${sha2.slice(0, 12)}`);
    expect((await store.getRun(round2.runId!)).inputs.prompt).toContain('The check `test` failed on commit');

    await fixRunMade(await store.getRun(round2.runId!), sha3);
    const suite3 = failed('check_suite', sha3);
    expect((await send(env.webhookUrl, suite3)).status).toBe(202);
    expect(await processedOf(suite3.id)).toMatchObject({
      outcome: 'ignored',
      reason: 'CI fix round 3 is over the limit of 2',
    });

    const fixRuns = (await store.listRuns()).filter((r) => r.inputs.values?.ci_head_sha);
    expect(fixRuns).toHaveLength(2);
    const onPr = env.github.comments.filter((c) => c.number === 7).map((c) => c.body);
    expect(onPr).toHaveLength(3);
    expect(onPr[2]).toBe('🌙 CI still fails after 2 Nightshift fix rounds; handing back to a person.');
  });

  it('ignores failures of branches Nightshift did not make, and checks that passed', async () => {
    const human = examplePayload('check_suite', REPO, (p) => p.action === 'completed');
    human.check_suite = { ...human.check_suite, conclusion: 'failure', head_branch: 'main' };
    const passed = examplePayload('check_suite', REPO, (p) => p.action === 'completed');
    passed.check_suite = { ...passed.check_suite, conclusion: 'success', head_branch: 'nightshift/x-1' };
    const a = signedDelivery('check_suite', human, SECRET);
    const b = signedDelivery('check_suite', passed, SECRET);
    await send(env.webhookUrl, a);
    await send(env.webhookUrl, b);

    const rows = await waitFor(async () => {
      const all = await listDeliveries(env.engine.store.db, 'github');
      const mine = all.filter((r) => (r.deliveryId === a.id || r.deliveryId === b.id) && r.processedAt);
      return mine.length === 2 ? mine : undefined;
    }, 'both deliveries');
    expect(rows.map((r) => r.reason).sort()).toEqual([
      'check_suite concluded success',
      'main is not a Nightshift branch',
    ]);
  });
});

describe('GitHub reactions configured per repo', () => {
  let env: GithubEnv;

  beforeAll(async () => {
    env = await startGithubEnv({
      repos: {
        'acme/quiet': {
          'README.md': 'x\n',
          '.nightshift/github.yml': 'comment:\n  command: /bot\nlabel:\n  enabled: false\n',
        },
        'acme/broken': {
          'README.md': 'x\n',
          '.nightshift/github.yml': 'review:\n  enabled: true\n  on: [closed]\ncomment:\n  comand: /x\n',
        },
      },
    });
    env.github.permissions.set('Codertocat', 'write');
    await writeFile(join(env.dir, 'home', 'github.yml'), 'repos: [acme/quiet, acme/broken]\n');
    env.trigger.start();
  }, 180_000);
  afterAll(async () => {
    await env?.close();
  });

  it("follows the repo's own command and switches, and fails a delivery for an invalid file with dot-paths and lines", async () => {
    const custom = signedDelivery(
      'issue_comment',
      comment('/bot write the docs', { repo: 'acme/quiet' }),
      SECRET,
    );
    const standard = signedDelivery(
      'issue_comment',
      comment('/nightshift write the docs', { repo: 'acme/quiet' }),
      SECRET,
    );
    const label = labeled('nightshift');
    label.repository = examplePayload('issues', 'acme/quiet').repository;
    const off = signedDelivery('issues', label, SECRET);
    const broken = signedDelivery(
      'issue_comment',
      comment('/nightshift hi', { repo: 'acme/broken' }),
      SECRET,
    );
    for (const delivery of [custom, standard, off, broken])
      expect((await send(env.webhookUrl, delivery)).status).toBe(202);

    const rows = await waitFor(async () => {
      const all = await listDeliveries(env.engine.store.db, 'github');
      return all.filter((r) => r.deliveryId && r.processedAt).length === 4 ? all : undefined;
    }, 'all deliveries');
    const of = (id: string) => rows.find((r) => r.deliveryId === id)!;
    expect(of(custom.id).outcome).toBe('accepted');
    expect((await env.engine.store.getRun(of(custom.id).runId!)).inputs.prompt).toBe('write the docs');
    expect(of(standard.id).reason).toBe('the comment does not start with /bot');
    expect(of(off.id).reason).toBe('label nightshift starts no run');
    expect(of(broken.id).outcome).toBe('failed');
    expect(of(broken.id).reason).toContain('acme/broken:.nightshift/github.yml:3:8 review.on[0]:');
    expect(of(broken.id).reason).toMatch(/:5:3 comment\.comand: .*did you mean `command`/);
  });
});
