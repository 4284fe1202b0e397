import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS, useTestStore } from '../../test/support/databases.ts';
import {
  claimDelivery,
  finishDelivery,
  leaseDelivery,
  listDeliveries,
  recordDelivery,
  retryDelivery,
  webhookDeliveryMetrics,
} from './deliveries.ts';

describe.each(DATABASE_KINDS)('webhook deliveries on %s', (kind) => {
  const store = useTestStore(kind);
  const clean = async () => store().db.exec('TRUNCATE webhook_deliveries');

  it('lets exactly one of many concurrent claims of a delivery id win; the others are recorded as duplicates', async () => {
    await clean();
    const input = { source: 'github', deliveryId: 'd-1', event: 'issues', payload: { n: 1 } };

    const results = await Promise.all(Array.from({ length: 8 }, () => claimDelivery(store().db, input)));

    expect(results.filter(Boolean)).toHaveLength(1);
    const rows = await listDeliveries(store().db, 'github');
    expect(rows.filter((r) => r.outcome === 'accepted')).toHaveLength(1);
    expect(rows.filter((r) => r.outcome === 'duplicate')).toHaveLength(7);
    expect(rows.every((r) => r.presentedId === 'd-1')).toBe(true);
  });

  it('keeps ids of different sources apart, and refusals never take an id', async () => {
    await clean();
    await recordDelivery(store().db, {
      source: 'github',
      presentedId: 'x',
      event: 'issues',
      outcome: 'rejected_signature',
      reason: 'bad',
    });

    expect(
      await claimDelivery(store().db, { source: 'github', deliveryId: 'x', event: 'issues', payload: {} }),
    ).toBe(true);
    expect(
      await claimDelivery(store().db, { source: 'slack', deliveryId: 'x', event: 'command', payload: {} }),
    ).toBe(true);
  });

  it('hands each accepted delivery to one worker at a time, again after its lease ends, never after it is finished', async () => {
    await clean();
    await claimDelivery(store().db, {
      source: 'github',
      deliveryId: 'a',
      event: 'issues',
      payload: { n: 1 },
    });

    const first = await leaseDelivery(store().db, 'github', 60_000);
    expect(first).toMatchObject({ deliveryId: 'a', attempts: 1, payload: { n: 1 } });
    expect(await leaseDelivery(store().db, 'github', 60_000)).toBeNull();

    await retryDelivery(store().db, first!.id, 'GitHub answered 502', 0);
    const again = await leaseDelivery(store().db, 'github', 60_000);
    expect(again).toMatchObject({ deliveryId: 'a', attempts: 2, reason: 'GitHub answered 502' });

    await finishDelivery(store().db, again!.id, { outcome: 'ignored', reason: 'nothing to do' });
    await retryDelivery(store().db, again!.id, 'late', 0);
    expect(await leaseDelivery(store().db, 'github', 60_000)).toBeNull();
  });

  it('leases only the sources a worker takes: one source, or all sharing a prefix', async () => {
    await clean();
    for (const source of ['github', 'webhook:alerts', 'webhook:cve', 'slack']) {
      await claimDelivery(store().db, { source, deliveryId: 'same', event: 'e', payload: {} });
    }

    const hooks = [
      await leaseDelivery(store().db, { prefix: 'webhook:' }, 60_000),
      await leaseDelivery(store().db, { prefix: 'webhook:' }, 60_000),
      await leaseDelivery(store().db, { prefix: 'webhook:' }, 60_000),
    ];
    const github = await leaseDelivery(store().db, 'github', 60_000);

    expect(hooks.map((d) => d?.source ?? null).sort()).toEqual(
      [null, 'webhook:alerts', 'webhook:cve'].sort(),
    );
    expect(github?.source).toBe('github');
    expect(await leaseDelivery(store().db, 'slack', 60_000)).toMatchObject({ source: 'slack' });
  });

  it('counts deliveries by source and outcome for Prometheus', async () => {
    await clean();
    await claimDelivery(store().db, { source: 'github', deliveryId: 'a', event: 'issues', payload: {} });
    await claimDelivery(store().db, { source: 'github', deliveryId: 'a', event: 'issues', payload: {} });
    await recordDelivery(store().db, {
      source: 'github',
      presentedId: null,
      event: null,
      outcome: 'rejected_malformed',
      reason: 'x',
    });

    const text = await webhookDeliveryMetrics(store().db);

    expect(text).toContain('nightshift_webhook_deliveries_total{source="github",outcome="accepted"} 1\n');
    expect(text).toContain('nightshift_webhook_deliveries_total{source="github",outcome="duplicate"} 1\n');
    expect(text).toContain(
      'nightshift_webhook_deliveries_total{source="github",outcome="rejected_malformed"} 1\n',
    );
    expect(text).toContain('nightshift_webhook_deliveries_pending{source="github"} 1\n');
  });
});
