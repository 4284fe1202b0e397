import { notFound } from '../core/errors.ts';
import type { Engine } from '../engine/index.ts';
import { type ApiRoutes, param } from './router.ts';
import { TokenCreateBody } from './schema.ts';
import { createToken } from './tokens.ts';

/** API tokens (scope `admin`): create (the token is in the answer, once), list, revoke. */
export function tokenRoutes(api: ApiRoutes, engine: Engine): void {
  const { store } = engine;
  api.add(
    {
      method: 'post',
      path: '/api/tokens',
      summary: 'Create a token; the answer holds the token, shown this once',
      scope: 'admin',
      body: TokenCreateBody,
      success: { status: 201, type: 'application/json', description: '`{ token, record }`' },
    },
    async (c, { body }) => {
      const createdBy = body.createdBy === undefined ? c.get('principal').name : body.createdBy;
      return c.json(await createToken(store, { ...body, createdBy }), 201);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/api/tokens',
      summary: 'Active tokens (never their secrets)',
      scope: 'admin',
      success: { status: 200, type: 'application/json', description: '`{ tokens }`' },
    },
    async (c) => c.json({ tokens: await store.tokens.list() }),
  );

  api.add(
    {
      method: 'delete',
      path: '/api/tokens/:token',
      summary: 'Revoke a token by id or name; it stops working at once',
      scope: 'admin',
      success: { status: 200, type: 'application/json', description: 'the revoked token' },
    },
    async (c) => {
      const revoked = await store.tokens.revoke(param(c, 'token'));
      if (!revoked) throw notFound('token', param(c, 'token'), 'list tokens with `nightshift token list`');
      return c.json(revoked);
    },
  );
}
