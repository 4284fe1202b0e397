/**
 * A scheduler process for crash tests, on the PostgreSQL database given: it fires due cron
 * slots with a short fire lease, queues the first run of a fire for real, then says
 * `halfway <fire id>` and hangs in the next submit, where the test kills it with SIGKILL.
 *
 * Usage: node --import tsx test/support/cron-child.ts <databaseUrl> <home> <now ISO> <leaseMs>
 */
import pino from 'pino';
import { Engine, engineConfig } from '../../src/engine/index.ts';
import { startScheduler } from '../../src/triggers/cron/index.ts';

const [databaseUrl, home, now, leaseMs] = process.argv.slice(2) as [string, string, string, string];
const engine = await Engine.open({ ...engineConfig(home, {}), databaseUrl });
let submitted = 0;
startScheduler(
  {
    db: engine.store.db,
    log: pino({ level: 'silent' }),
    now: () => new Date(now),
    fireLeaseMs: Number(leaseMs),
    async submit(request) {
      if (submitted++ === 0) return engine.submit(request);
      process.stdout.write(`halfway ${String(request.values?.fire)}\n`);
      return new Promise(() => {});
    },
  },
  { tickMs: 3_600_000 },
);
