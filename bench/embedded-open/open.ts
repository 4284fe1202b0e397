/**
 * One open of the embedded database in a new process, as a command opening its home does:
 * prints the wall and CPU milliseconds of `openPglite` as JSON. Argument: the database's dir, or
 * `memory`. The template cache is `NIGHTSHIFT_CACHE_DIR`.
 */
import { openPglite } from '../../src/store/pglite.ts';

const where = process.argv[2];
const cpuBefore = process.cpuUsage();
const started = performance.now();
const db = await openPglite(where === 'memory' ? undefined : where);
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
await db.close();
process.stdout.write(`${JSON.stringify({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
