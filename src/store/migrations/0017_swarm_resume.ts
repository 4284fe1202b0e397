/**
 * Swarms a server drives survive it: `durable` executions (started through a server's API, or
 * by an automation) are taken up again by a server when the process driving them is gone (it
 * restarted, or crashed and its claim lapsed), from `cwd`, the directory the spec's paths start
 * from. A swarm a command drove itself is not: stopping the command stops it.
 */
export const sql = `
ALTER TABLE swarms ADD COLUMN cwd text;
ALTER TABLE swarms ADD COLUMN durable boolean NOT NULL DEFAULT false;
`;
