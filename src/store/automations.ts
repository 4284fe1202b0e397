import type { Automation, FireKind } from '../automations/types.ts';
import { newId } from '../core/ids.ts';
import { backoffSeconds } from './backoff.ts';
import type { Queryable } from './db.ts';

/** An automation as stored, with when it may first fire on a schedule. */
export interface StoredAutomation {
  automation: Automation;
  /** Scheduled slots before this time are never fired (set when created, enabled or rescheduled). */
  scheduleFrom: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** One time an automation was triggered, and what came of it. */
export interface AutomationFire {
  id: string;
  automation: string;
  kind: FireKind;
  /** The scheduled time this fire claimed (cron), else null. */
  slot: Date | null;
  /** Fired late, once, for slots missed while no scheduler was running. */
  catchUp: boolean;
  /** `claimed` → `started` | `waiting` (overlap queue) | `skipped` | `filtered` | `failed`. */
  outcome: 'claimed' | 'started' | 'waiting' | 'skipped' | 'filtered' | 'failed';
  reason: string | null;
  runIds: string[];
  /** Where to answer (Slack channel and thread). */
  reply: { channel: string; threadTs: string } | null;
  notifiedAt: Date | null;
  /**
   * With a reply address, how answering it went (`notifiedAt` once it was): the attempts that
   * failed or are under way, the last failure's message, and whether it was given up.
   */
  answer: { attempts: number; error: string | null; givenUp: boolean } | null;
  /** The webhook or Slack delivery that caused this fire (`source:id`), else null. */
  delivery: string | null;
  /** While `claimed`: the process holding the fire must settle it before this time, or another takes it over. */
  leaseUntil: Date | null;
  createdAt: Date;
}

/** How long a claimed fire is held before another scheduler may take it over (ms). */
export const FIRE_LEASE_MS = 5 * 60_000;

interface AutomationRow {
  name: string;
  spec: Automation;
  enabled: boolean;
  schedule_from: Date;
  created_at: Date;
  updated_at: Date;
}

interface FireRow {
  id: string;
  automation: string;
  kind: FireKind;
  slot: Date | null;
  catch_up: boolean;
  outcome: AutomationFire['outcome'];
  reason: string | null;
  run_ids: string[];
  reply: AutomationFire['reply'];
  notified_at: Date | null;
  notify_attempts: number;
  notify_error: string | null;
  /** A time, or the database's `infinity` (a number here) once the answer was given up. */
  next_notify_at: Date | number | null;
  delivery: string | null;
  lease_until: Date | null;
  created_at: Date;
}

function toStored(row: AutomationRow): StoredAutomation {
  return {
    automation: { ...row.spec, enabled: row.enabled },
    scheduleFrom: row.schedule_from,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toFire(row: FireRow): AutomationFire {
  return {
    id: row.id,
    automation: row.automation,
    kind: row.kind,
    slot: row.slot,
    catchUp: row.catch_up,
    outcome: row.outcome,
    reason: row.reason,
    runIds: row.run_ids,
    reply: row.reply,
    notifiedAt: row.notified_at,
    answer: row.reply
      ? {
          attempts: row.notify_attempts,
          error: row.notify_error,
          givenUp: row.next_notify_at === Number.POSITIVE_INFINITY,
        }
      : null,
    delivery: row.delivery,
    leaseUntil: row.lease_until,
    createdAt: row.created_at,
  };
}

/** Queries on `automations` and `automation_fires` (deliveries live in `webhook_deliveries`, src/triggers/deliveries.ts). */
export function automationQueries(db: Queryable) {
  return {
    async list(): Promise<StoredAutomation[]> {
      const rows = await db.query<AutomationRow>('SELECT * FROM automations ORDER BY name');
      return rows.map(toStored);
    },

    async get(name: string): Promise<StoredAutomation | null> {
      const rows = await db.query<AutomationRow>('SELECT * FROM automations WHERE name = $1', [name]);
      return rows[0] ? toStored(rows[0]) : null;
    },

    /**
     * Creates or replaces an automation. The schedule restarts at `now` when it is new, its
     * trigger changed, or it goes from disabled to enabled, so nothing fires for the past.
     */
    async upsert(automation: Automation, now: Date): Promise<StoredAutomation> {
      const rows = await db.query<AutomationRow>(
        `INSERT INTO automations (name, source, spec, enabled, schedule_from, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5, $5)
         ON CONFLICT (name) DO UPDATE SET source = $2, spec = $3, enabled = $4, updated_at = $5,
           schedule_from = CASE
             WHEN automations.spec->'trigger' IS DISTINCT FROM ($3::jsonb)->'trigger'
               OR (NOT automations.enabled AND $4) THEN $5
             ELSE automations.schedule_from END
         RETURNING *`,
        [automation.name, automation.source, JSON.stringify(automation), automation.enabled, now],
      );
      return toStored(rows[0]!);
    },

    async setEnabled(name: string, enabled: boolean, now: Date): Promise<boolean> {
      const rows = await db.query(
        `UPDATE automations SET enabled = $2, updated_at = $3,
           schedule_from = CASE WHEN NOT enabled AND $2 THEN $3 ELSE schedule_from END
         WHERE name = $1 RETURNING name`,
        [name, enabled, now],
      );
      return rows.length > 0;
    },

    async remove(name: string): Promise<boolean> {
      return (await db.query('DELETE FROM automations WHERE name = $1 RETURNING name', [name])).length > 0;
    },

    /** Removes automations of `sources` (files) that are not in `keep`; returns their names. */
    async removeMissing(sourcePrefix: string, keep: string[]): Promise<string[]> {
      const rows = await db.query<{ name: string }>(
        `DELETE FROM automations WHERE source <> 'api' AND starts_with(source, $1) AND NOT (name = ANY($2))
         RETURNING name`,
        [sourcePrefix, keep],
      );
      return rows.map((row) => row.name);
    },

    /**
     * Records a fire, `claimed` under a lease of `leaseMs`. With a `slot`, the insert is the
     * claim: it returns null when another scheduler (or this one before a restart) already
     * claimed that slot. With a `delivery`, a second claim returns the fire that delivery
     * already made, with `existing` set, so a delivery processed again resumes it.
     */
    async claimFire(fire: {
      automation: string;
      kind: FireKind;
      slot?: Date | null;
      catchUp?: boolean;
      reason?: string | null;
      reply?: AutomationFire['reply'];
      delivery?: string | null;
      leaseMs?: number;
      now: Date;
    }): Promise<(AutomationFire & { existing?: true }) | null> {
      const rows = await db.query<FireRow>(
        `INSERT INTO automation_fires
           (id, automation, kind, slot, catch_up, outcome, reason, reply, created_at, delivery, lease_until)
         VALUES ($1, $2, $3, $4, $5, 'claimed', $6, $7, $8, $9, now() + ($10 * interval '1 millisecond'))
         ON CONFLICT DO NOTHING RETURNING *`,
        [
          `fire_${newId('run').slice(4)}`,
          fire.automation,
          fire.kind,
          fire.slot ?? null,
          fire.catchUp ?? false,
          fire.reason ?? null,
          fire.reply ? JSON.stringify(fire.reply) : null,
          fire.now,
          fire.delivery ?? null,
          fire.leaseMs ?? FIRE_LEASE_MS,
        ],
      );
      if (rows[0]) return toFire(rows[0]);
      if (!fire.delivery) return null;
      const made = await db.query<FireRow>(
        'SELECT * FROM automation_fires WHERE automation = $1 AND delivery = $2',
        [fire.automation, fire.delivery],
      );
      return made[0] ? { ...toFire(made[0]), existing: true } : null;
    },

    /**
     * Takes over the oldest cron fire still `claimed` whose lease ended (its process died
     * before settling it), leasing it for `leaseMs`; null when there is none. At most one
     * scheduler gets each.
     */
    async takeAbandoned(leaseMs: number = FIRE_LEASE_MS): Promise<AutomationFire | null> {
      const rows = await db.query<FireRow>(
        `UPDATE automation_fires SET lease_until = now() + ($1 * interval '1 millisecond')
         WHERE id = (SELECT id FROM automation_fires
           WHERE outcome = 'claimed' AND kind = 'cron' AND (lease_until IS NULL OR lease_until <= now())
           ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [leaseMs],
      );
      return rows[0] ? toFire(rows[0]) : null;
    },

    /** Extends the lease of a fire still `claimed` (the process holding it is making progress). */
    async renewFire(id: string, leaseMs: number = FIRE_LEASE_MS): Promise<void> {
      await db.query(
        `UPDATE automation_fires SET lease_until = now() + ($2 * interval '1 millisecond')
         WHERE id = $1 AND outcome = 'claimed'`,
        [id, leaseMs],
      );
    },

    /** The runs already queued for a fire (by a process that died before settling it), with their repo's name. */
    async runsOfFire(fireId: string): Promise<{ id: string; repo: string }[]> {
      const rows = await db.query<{ id: string; repo: string }>(
        `SELECT runs.id, repos.name AS repo FROM runs JOIN repos ON repos.id = runs.repo_id
         WHERE runs.inputs->'values' ? 'fire' AND runs.inputs->'values'->>'fire' = $1
         ORDER BY runs.created_at, runs.id`,
        [fireId],
      );
      return rows;
    },

    async settleFire(
      id: string,
      outcome: AutomationFire['outcome'],
      patch: { reason?: string | null; runIds?: string[] } = {},
    ): Promise<AutomationFire> {
      const rows = await db.query<FireRow>(
        `UPDATE automation_fires SET outcome = $2, reason = coalesce($3, reason),
           run_ids = coalesce($4, run_ids), lease_until = NULL WHERE id = $1 RETURNING *`,
        [id, outcome, patch.reason ?? null, patch.runIds ? JSON.stringify(patch.runIds) : null],
      );
      return toFire(rows[0]!);
    },

    /** Takes a waiting fire (overlap `queue`) of the automation, at most once across processes. */
    async takeWaiting(automation: string, leaseMs: number = FIRE_LEASE_MS): Promise<AutomationFire | null> {
      const rows = await db.query<FireRow>(
        `UPDATE automation_fires SET outcome = 'claimed',
           lease_until = now() + ($2 * interval '1 millisecond') WHERE id = (
           SELECT id FROM automation_fires WHERE automation = $1 AND outcome = 'waiting'
           ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *`,
        [automation, leaseMs],
      );
      return rows[0] ? toFire(rows[0]) : null;
    },

    async hasWaiting(automation: string): Promise<boolean> {
      const rows = await db.query(
        "SELECT 1 FROM automation_fires WHERE automation = $1 AND outcome = 'waiting' LIMIT 1",
        [automation],
      );
      return rows.length > 0;
    },

    /** The latest slot this automation fired for, or null. */
    async lastSlot(automation: string): Promise<Date | null> {
      const rows = await db.query<{ slot: Date | null }>(
        'SELECT max(slot) AS slot FROM automation_fires WHERE automation = $1',
        [automation],
      );
      return rows[0]?.slot ?? null;
    },

    /** Fires of this automation with a run that has not completed. */
    async activeFires(automation: string): Promise<number> {
      const rows = await db.query<{ n: number }>(
        `SELECT count(DISTINCT f.id)::int AS n FROM automation_fires f
           CROSS JOIN LATERAL jsonb_array_elements_text(f.run_ids) AS r(run_id)
           JOIN runs ON runs.id = r.run_id
         WHERE f.automation = $1 AND runs.status <> 'completed'`,
        [automation],
      );
      return rows[0]?.n ?? 0;
    },

    async history(automation: string, limit = 20): Promise<AutomationFire[]> {
      const rows = await db.query<FireRow>(
        'SELECT * FROM automation_fires WHERE automation = $1 ORDER BY created_at DESC, id DESC LIMIT $2',
        [automation, Math.min(Math.max(limit, 1), 500)],
      );
      return rows.map(toFire);
    },

    /**
     * Claims, for one attempt each (`answer.attempts` counts it), the fires with a reply address
     * whose runs all completed and that nobody answered yet: none still waiting for the backoff
     * of a failed attempt, none claimed by another process (whose claim holds for the backoff).
     */
    async claimAnswers(limit = 50): Promise<AutomationFire[]> {
      const rows = await db.query<FireRow>(
        `WITH due AS (
           SELECT id FROM automation_fires f WHERE reply IS NOT NULL AND notified_at IS NULL
             AND outcome = 'started' AND (next_notify_at IS NULL OR next_notify_at <= now())
             AND NOT EXISTS (
               SELECT 1 FROM jsonb_array_elements_text(f.run_ids) AS r(run_id)
               JOIN runs ON runs.id = r.run_id WHERE runs.status <> 'completed')
           ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE automation_fires f SET notify_attempts = f.notify_attempts + 1,
           next_notify_at = now() + make_interval(secs => ${backoffSeconds('f.notify_attempts')})
         FROM due WHERE f.id = due.id RETURNING f.*`,
        [limit],
      );
      return rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime()).map(toFire);
    },

    /** Records a fire answered. */
    async answered(id: string, now: Date): Promise<void> {
      await db.query('UPDATE automation_fires SET notified_at = $2, notify_error = NULL WHERE id = $1', [
        id,
        now,
      ]);
    },

    /**
     * Records why an attempt to answer a fire failed. It is tried again after its backoff; with
     * `final`, never (it stays unanswered, with the error).
     */
    async answerFailed(id: string, message: string, final: boolean): Promise<void> {
      await db.query(
        `UPDATE automation_fires SET notify_error = $2,
           next_notify_at = CASE WHEN $3 THEN 'infinity'::timestamptz ELSE next_notify_at END
         WHERE id = $1`,
        [id, message, final],
      );
    },
  };
}

export type AutomationQueries = ReturnType<typeof automationQueries>;
