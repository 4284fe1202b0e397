import type { Queryable } from './db.ts';

/** An API token as stored: never the secret, only its sha256. */
export interface ApiToken {
  id: string;
  name: string;
  scopes: string[];
  createdBy: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface TokenRow {
  id: string;
  name: string;
  scopes: string[];
  secret_hash: string;
  created_by: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function toToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    createdBy: row.created_by,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** Queries on `api_tokens` (see src/server/tokens.ts for secrets and their comparison). */
export function tokensQueries(db: Queryable) {
  return {
    async insert(token: {
      id: string;
      name: string;
      scopes: string[];
      secretHash: string;
      createdBy: string | null;
    }): Promise<ApiToken> {
      const rows = await db.query<TokenRow>(
        `INSERT INTO api_tokens (id, name, scopes, secret_hash, created_by)
         VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [token.id, token.name, JSON.stringify(token.scopes), token.secretHash, token.createdBy],
      );
      return toToken(rows[0]!);
    },

    /** The stored hash and the token, for a token that is not revoked. */
    async active(id: string): Promise<{ token: ApiToken; secretHash: string } | null> {
      const rows = await db.query<TokenRow>('SELECT * FROM api_tokens WHERE id = $1 AND revoked_at IS NULL', [
        id,
      ]);
      return rows[0] ? { token: toToken(rows[0]), secretHash: rows[0].secret_hash } : null;
    },

    async list(options: { revoked?: boolean } = {}): Promise<ApiToken[]> {
      const rows = await db.query<TokenRow>(
        `SELECT * FROM api_tokens ${options.revoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY id`,
      );
      return rows.map(toToken);
    },

    /** Revokes the active token with this id or name; null when there is none. */
    async revoke(idOrName: string): Promise<ApiToken | null> {
      const rows = await db.query<TokenRow>(
        `UPDATE api_tokens SET revoked_at = now()
         WHERE (id = $1 OR name = $1) AND revoked_at IS NULL RETURNING *`,
        [idOrName],
      );
      return rows[0] ? toToken(rows[0]) : null;
    },

    async touch(id: string): Promise<void> {
      await db.query('UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [id]);
    },
  };
}
