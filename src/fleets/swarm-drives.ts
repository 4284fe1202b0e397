import type pino from 'pino';
import { canonicalJson } from '../audit/hash.ts';
import { messageWithHint, NightshiftError, notFound, toNightshiftError } from '../core/errors.ts';
import { KeyedQueue } from '../core/keyed-queue.ts';
import { parseSwarmSpec, readSpec } from './parse.ts';
import type { SwarmSpec } from './schema.ts';
import {
  cancelledSwarm,
  runSwarm,
  SUPERSEDED,
  type SwarmDeps,
  type SwarmResult,
  swarmRepo,
} from './swarm.ts';
import { type SwarmFilter, type SwarmSummary, swarmQueries } from './swarm-store.ts';

/** Where a swarm's execution stands, as a command following it sees it. */
export interface SwarmProgress {
  id: string;
  name: string;
  /** `planning`, `facets`, `converging`, `completed`, `failed` or `cancelled`. */
  state: string;
  /** Why it failed or who cancelled it, once it did. */
  reason: string | null;
  /**
   * Whether this process drives it now. False with an unfinished state: the process that drove
   * it stopped, and starting its spec again continues it.
   */
  driving: boolean;
  /** Its progress lines after `after`, and the `after` to ask with next. */
  lines: string[];
  next: number;
  /** How it ended, when this process drove it to its end. */
  result: SwarmResult | null;
  /** What stopped it, when its driving here failed or was stopped. */
  error: { code: string; message: string; hint: string | null } | null;
}

/** A swarm started in this process: where it is, what it said, how it ended. */
interface Drive {
  /** The spec, as canonical JSON: starting the same one again follows this drive. */
  spec: string;
  id: Promise<string>;
  lines: string[];
  stop: AbortController;
  ended: Promise<void>;
  done: boolean;
  /** Someone cancelled it (`cancel`): stopping was no error. */
  cancelled: boolean;
  result: SwarmResult | null;
  error: SwarmProgress['error'];
}

/** How many ended drives keep their lines and result for the commands that follow them. */
const KEPT = 100;

interface StartOptions {
  /** A server drives it, and takes it up again after a restart. */
  durable?: boolean;
  /** A server takes it up again (not someone asking for it). */
  takenUp?: boolean;
  /** Refuse (`SwarmStopped`) when its latest execution was cancelled; the spec file, for the hint. */
  unlessCancelled?: string;
}

/** A swarm someone cancelled, which an automation does not start again. */
export class SwarmStopped extends NightshiftError {}

/**
 * The swarms this process drives (`runSwarm`), so that a command can start one and follow it
 * while the process that owns the home (a server, say) does the driving: the swarm then goes
 * on when the command stops. One drive per swarm name and repo: starting the same spec again
 * while it is driven follows that drive; a changed spec stops it first, and the new execution
 * supersedes it (see `runSwarm`).
 */
export class SwarmDrives {
  private readonly byId = new Map<string, Drive>();
  /** The drive of each swarm name on a repo, while it is driven. */
  private readonly active = new Map<string, Drive>();
  /** The starts of each swarm name on a repo, one at a time until its execution is recorded. */
  private readonly starting = new KeyedQueue();
  private closed = false;
  private resumer: NodeJS.Timeout | undefined;
  private resuming: Promise<string[]> | undefined;

  constructor(
    private readonly deps: SwarmDeps,
    private readonly log?: pino.Logger,
  ) {}

  /**
   * Starts driving `spec` (a path in it is relative to `cwd`), or follows the drive of the same
   * spec going on here (`attached`). Resolves once its execution is recorded; throws what would
   * stop it from starting (an unknown repo, agents that cannot run here).
   */
  async start(
    spec: SwarmSpec,
    cwd: string,
    options: StartOptions = {},
  ): Promise<{ id: string; name: string; attached: boolean }> {
    if (this.closed)
      throw new NightshiftError('CONFLICT', 'this process is shutting down: it starts no swarm');
    const repo = await swarmRepo(this.deps, spec, cwd);
    const key = JSON.stringify([repo.id, spec.name]);
    // One start of a swarm at a time, until its execution is recorded: a second one (a command
    // following it while a server takes it up, two automation fires) then follows that drive.
    return this.starting.run(key, () => this.startDrive(spec, cwd, repo, key, options));
  }

  private async startDrive(
    spec: SwarmSpec,
    cwd: string,
    repo: Awaited<ReturnType<typeof swarmRepo>>,
    key: string,
    options: StartOptions,
  ): Promise<{ id: string; name: string; attached: boolean }> {
    // Key order aside (a spec read back from the database has its own): the same spec.
    const text = canonicalJson(spec);
    const previous = this.active.get(key);
    if (previous?.spec === text) return { id: await previous.id, name: spec.name, attached: true };
    if (options.unlessCancelled) {
      const latest = await swarmQueries(this.deps.store.db).latest(spec.name, repo.id);
      if (latest?.state === 'cancelled') {
        throw new SwarmStopped(
          'CONFLICT',
          `swarm ${spec.name} was cancelled${latest.reason ? ` (${latest.reason})` : ''}, so it was not started`,
          {
            hint: `\`nightshift swarm ${options.unlessCancelled}\` starts it again; the automation starts it from its next fire after that`,
          },
        );
      }
    }
    // Asked for by someone: servers take it up again however often its drives failed.
    if (!options.takenUp) await swarmQueries(this.deps.store.db).clearDriveFailures(spec.name, repo.id);
    let execution: string | null = null;
    let recorded!: (id: string) => void;
    let failed!: (error: unknown) => void;
    const drive: Drive = {
      spec: text,
      id: new Promise<string>((resolve, reject) => {
        recorded = resolve;
        failed = reject;
      }),
      lines: [],
      stop: new AbortController(),
      ended: Promise.resolve(),
      done: false,
      cancelled: false,
      result: null,
      error: null,
    };
    this.active.set(key, drive);
    if (previous) {
      previous.stop.abort(
        new NightshiftError('CONFLICT', SUPERSEDED, {
          hint: 'the changed spec’s execution goes on: run `nightshift swarm` on that spec to follow it',
        }),
      );
      await previous.ended;
    }
    drive.ended = runSwarm(this.deps, spec, cwd, {
      repo,
      signal: drive.stop.signal,
      durable: options.durable,
      onProgress: (line) => void drive.lines.push(line),
      onExecution: (id) => {
        execution = id;
        this.byId.set(id, drive);
        this.log?.info({ swarm: spec.name, id, repo: repo.url }, 'swarm driven');
        recorded(id);
      },
    }).then(
      (result) => {
        drive.result = result;
        this.log?.info({ swarm: spec.name, id: result.id, conclusion: result.conclusion }, 'swarm ended');
      },
      async (error: unknown) => {
        const stopped = drive.stop.signal.aborted;
        const reason: unknown = stopped ? drive.stop.signal.reason : error;
        failed(reason);
        // Stopped because this process closes, it has no error: starting the spec again continues
        // it. Stopped because someone cancelled it, it ended as they asked.
        if (stopped && (this.closed || drive.cancelled)) return;
        const e = toNightshiftError(reason);
        drive.error = { code: e.code, message: e.message, hint: e.hint ?? null };
        this.log?.warn({ swarm: spec.name, code: e.code, error: e.message }, 'swarm stopped');
        // A changed spec superseded it, or another process drives it now: not a failed drive.
        if (execution && !stopped && e.code !== 'CONFLICT') await this.driveFailed(execution, spec.name, e);
      },
    );
    void drive.ended.finally(() => {
      drive.done = true;
      if (this.active.get(key) === drive) this.active.delete(key);
      this.forgetEnded();
    });
    return { id: await drive.id, name: spec.name, attached: false };
  }

  /**
   * Starts driving the swarm spec file `file` (its paths relative to its directory), durable, as
   * a swarm automation does on each fire; or follows the drive of the same spec going on here.
   * A swarm whose latest execution someone cancelled is left so: `SwarmStopped`.
   */
  async startFile(file: string): Promise<{ id: string; name: string; attached: boolean }> {
    const { spec, dir } = await readSpec(file, parseSwarmSpec);
    return this.start(spec, dir, { durable: true, unlessCancelled: file });
  }

  /**
   * The latest execution of each swarm, or those `filter` names (see `summaries`). With the
   * embedded database only this process can be driving one (it owns the home), so a claim a
   * process that is gone left shows as no driver.
   */
  list(filter: Omit<SwarmFilter, 'onlyDriver'> = {}): Promise<SwarmSummary[]> {
    const { store, driver } = this.deps;
    const onlyDriver = store.db.kind === 'pglite' ? driver?.id : undefined;
    return swarmQueries(store.db).summaries({ ...filter, onlyDriver });
  }

  /** Execution `id` as it stands, with its progress lines after `after`. */
  async progress(id: string, after = 0): Promise<SwarmProgress> {
    const record = await swarmQueries(this.deps.store.db).get(id);
    if (!record) throw notFound('swarm', id, 'start it with `nightshift swarm SPEC`');
    const drive = this.byId.get(id);
    const lines = drive?.lines.slice(after) ?? [];
    return {
      ...record,
      driving: drive !== undefined && !drive.done,
      lines,
      next: after + lines.length,
      result: drive?.result ?? null,
      error: drive?.error ?? null,
    };
  }

  /**
   * Cancels unfinished execution `id`: it ends as `cancelled`, its runs that had not finished
   * are cancelled, and its drive stops: here at once; in another process sharing the database
   * before it starts another run (or at its next claim renewal).
   */
  async cancel(id: string, by: string | null): Promise<{ swarm: SwarmSummary; cancelled: number }> {
    const swarms = swarmQueries(this.deps.store.db);
    const record = await swarms.get(id);
    if (!record) throw notFound('swarm', id, 'see `nightshift swarm list`');
    const reason = `cancelled by ${by ?? 'a person'}`;
    const runs = await swarms.cancel(id, reason);
    if (!runs) {
      throw new NightshiftError(
        'CONFLICT',
        `swarm ${record.name} (${id}) has ended (${record.state}): there is nothing to cancel`,
        { hint: '`nightshift swarm SPEC` starts it anew' },
      );
    }
    const drive = this.byId.get(id);
    if (drive && !drive.done) {
      drive.cancelled = true;
      drive.stop.abort(cancelledSwarm(record.name, reason));
    }
    for (const run of runs) await this.deps.store.requestCancel(run, by);
    this.log?.info({ swarm: record.name, id, by, runs: runs.length }, 'swarm cancelled');
    const [swarm] = await this.list({ id });
    return { swarm: swarm!, cancelled: runs.length };
  }

  /**
   * Takes up the durable executions nobody drives (their server restarted, or stopped and its
   * claim lapsed): drives each from where it stands, as running its spec again would. Returns
   * the ids it took up. One that cannot start here (its repo is gone, its agents have no model
   * provider) is logged once and left for another process or a later call.
   */
  async resume(): Promise<string[]> {
    if (this.closed) return [];
    this.resuming ??= this.takeUp().finally(() => {
      this.resuming = undefined;
    });
    return this.resuming;
  }

  private async takeUp(): Promise<string[]> {
    const swarms = swarmQueries(this.deps.store.db);
    const taken: string[] = [];
    for (const { id, spec, cwd } of await swarms.undriven(this.deps.store.db.kind === 'pglite')) {
      if (this.byId.has(id) && !this.byId.get(id)!.done) continue;
      try {
        const started = await this.start(spec, cwd, { durable: true, takenUp: true });
        if (started.id === id && !started.attached) taken.push(id);
      } catch (error) {
        const e = toNightshiftError(error);
        // Another process drives it (it took it up first): nothing failed.
        if (e.code !== 'CONFLICT') await this.driveFailed(id, spec.name, e, 'swarm not taken up');
      }
    }
    if (taken.length > 0) this.log?.info({ swarms: taken }, 'swarms taken up');
    return taken;
  }

  /**
   * Records a failed drive of execution `id` (it could not start here, or stopped with an
   * error): servers take it up again after a backoff, and give up after a number of failures.
   */
  private async driveFailed(id: string, name: string, e: NightshiftError, what?: string): Promise<void> {
    const recorded = await swarmQueries(this.deps.store.db)
      .driveFailed(id, messageWithHint(e))
      .catch((error: unknown) => {
        this.log?.warn({ swarm: name, id, err: error }, 'could not record a failed swarm drive');
        return null;
      });
    const log = { swarm: name, id, code: e.code, error: e.message, failures: recorded?.failures };
    if (recorded?.givenUp)
      this.log?.error(log, 'gave up taking up swarm: `nightshift swarm SPEC` continues it');
    else if (what) this.log?.warn(log, what);
  }

  /**
   * Calls `resume` now and every `everyMs` (a server does, so that the swarms it drove go on
   * after a restart, and those of a server that is gone go on in another) until `close`.
   */
  keepResuming(everyMs: number): void {
    const tick = () =>
      this.resume().catch((error: unknown) => this.log?.warn({ err: error }, 'taking up swarms failed'));
    void tick();
    this.resumer = setInterval(tick, everyMs);
    this.resumer.unref();
  }

  /**
   * Stops driving every swarm (the process is closing): their runs go on in the workers, and
   * starting a spec again continues its execution (a server takes up a durable one).
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.resumer);
    const drives = [...this.active.values()];
    for (const drive of drives) drive.stop.abort(new Error('this process is closing'));
    await Promise.all(drives.map((drive) => drive.ended));
  }

  /** Forgets the oldest ended drives beyond `KEPT`. */
  private forgetEnded(): void {
    const ended = [...this.byId].filter(([, drive]) => drive.done);
    for (const [id] of ended.slice(0, Math.max(0, ended.length - KEPT))) this.byId.delete(id);
  }
}
