import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import { NightshiftError } from '../core/errors.ts';
import type { ApiToken } from '../store/index.ts';
import { parseInput } from './errors.ts';
import type { Scope } from './schema.ts';
import { allows } from './tokens.ts';

/** Who is calling: a token holder, or a process on this machine through the home's socket. */
export interface Principal {
  kind: 'token' | 'local';
  name: string;
  scopes: readonly string[];
  token?: ApiToken;
}

export type AppEnv = { Variables: { principal: Principal } };

/** A route of the API as the OpenAPI document describes it. */
export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Hono path, such as `/api/runs/:id`. */
  path: string;
  summary: string;
  /** Scope a token needs; `null` for public routes (no token). */
  scope: Scope | null;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Media type of the body (default `application/json`). */
  bodyType?: string;
  /** Request headers the route reads (signatures, delivery ids), by name. */
  headers?: Record<string, { required: boolean; description: string }>;
  /** Status and media type of a successful answer. */
  success: { status: number; type: string; description: string };
  /** Other answers worth documenting (a redelivery's 200, a signature's 401), by status. */
  answers?: Record<number, string>;
}

type Input<S extends RouteSpec> = {
  query: S['query'] extends z.ZodType ? z.output<S['query']> : undefined;
  body: S['body'] extends z.ZodType ? z.output<S['body']> : undefined;
};

/** Longest request body the API reads. */
export const MAX_BODY_BYTES = 1_000_000;

/**
 * Registers routes on a Hono app and keeps their specs for `/openapi.json`, so a route and
 * its documentation cannot drift apart: the same zod schemas validate the request.
 */
export class ApiRoutes {
  /** The routes added, with full paths (`prefix` + path). */
  readonly specs: RouteSpec[] = [];

  /**
   * @param prefix where `app` is mounted, for the specs' paths: a module's sub-app at
   *   `/api/fleets` adds `/:name` and documents `/api/fleets/:name`.
   */
  constructor(
    private readonly app: Hono<AppEnv>,
    private readonly authenticate: (c: Context<AppEnv>) => Promise<Principal>,
    private readonly prefix = '',
  ) {}

  add<S extends RouteSpec>(
    spec: S,
    handler: (c: Context<AppEnv>, input: Input<S>) => Response | Promise<Response>,
  ): void {
    const path = spec.path === '/' && this.prefix ? this.prefix : `${this.prefix}${spec.path}`;
    this.specs.push({ ...spec, path });
    this.app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      if (spec.scope !== null) {
        const principal = await this.authenticate(c);
        if (!allows(principal.scopes, spec.scope)) {
          throw new NightshiftError('FORBIDDEN', `token ${principal.name} lacks the scope ${spec.scope}`, {
            hint: `create a token with \`nightshift token create --name NAME --scope ${spec.scope}\``,
          });
        }
        c.set('principal', principal);
      }
      const query = spec.query ? parseInput(spec.query, c.req.query(), 'query') : undefined;
      const body = spec.body ? parseInput(spec.body, await readJson(c), 'body') : undefined;
      return handler(c, { query, body } as Input<S>);
    });
  }
}

async function readJson(c: Context): Promise<unknown> {
  const length = Number(c.req.header('content-length') ?? 0);
  if (length > MAX_BODY_BYTES) throw tooLarge();
  const text = await c.req.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw tooLarge();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new NightshiftError('INVALID_INPUT', 'the request body is not valid JSON', {
      hint: 'send a JSON object with content-type application/json',
    });
  }
}

function tooLarge(): NightshiftError {
  return new NightshiftError('PAYLOAD_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes`, {
    hint: 'send a smaller request',
  });
}

/** A path parameter of the route (always present: the route's path names it). */
export function param(c: Context, name: string): string {
  return c.req.param(name) ?? '';
}
