import { notFound } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Repo } from '../core/run.ts';
import type { Queryable } from './db.ts';

interface RepoRow {
  id: string;
  name: string;
  url: string;
  default_branch: string;
  created_at: Date;
}

function toRepo(row: RepoRow): Repo {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    defaultBranch: row.default_branch,
    createdAt: row.created_at,
  };
}

/** A repo row read as JSON (`to_jsonb(repos)`), whose timestamps are text. */
export function repoFromJson(json: Record<string, unknown>): Repo {
  const row = json as unknown as RepoRow;
  return toRepo({ ...row, created_at: new Date(row.created_at) });
}

/** Where a repo is, as registering it names it. */
interface RepoLocation {
  name: string;
  url: string;
  defaultBranch: string;
}

/** Repos by canonical URL: registering the same location twice returns the same repo. */
export function reposQueries(db: Queryable) {
  /** Registers many locations in one statement (each once); returns their repos in the order given. */
  async function upsertMany(inputs: readonly RepoLocation[]): Promise<Repo[]> {
    if (inputs.length === 0) return [];
    const rows = await db.query<RepoRow>(
      `INSERT INTO repos (id, name, url, default_branch)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
       ON CONFLICT (url) DO UPDATE SET default_branch = EXCLUDED.default_branch
       RETURNING *`,
      [
        inputs.map(() => newId('repo')),
        inputs.map((input) => input.name),
        inputs.map((input) => input.url),
        inputs.map((input) => input.defaultBranch),
      ],
    );
    const byUrl = new Map(rows.map((row) => [row.url, toRepo(row)]));
    return inputs.map((input) => byUrl.get(input.url)!);
  }

  return {
    async upsert(input: RepoLocation): Promise<Repo> {
      const [repo] = await upsertMany([input]);
      return repo!;
    },

    upsertMany,

    async get(id: string): Promise<Repo> {
      const rows = await db.query<RepoRow>('SELECT * FROM repos WHERE id = $1', [id]);
      if (!rows[0]) throw notFound('repo', id);
      return toRepo(rows[0]);
    },

    async list(): Promise<Repo[]> {
      const rows = await db.query<RepoRow>('SELECT * FROM repos ORDER BY name, id');
      return rows.map(toRepo);
    },
  };
}
