import { z } from 'zod';
import type { RouteSpec } from './router.ts';
import { ErrorBody } from './schema.ts';

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

/** Extra paths a server module documents itself (OpenAPI path items by path). */
export type OpenApiPaths = Record<string, Record<string, unknown>>;

/**
 * The OpenAPI 3.1 document of the API, generated from the route specs (the core's and the
 * modules') and the zod schemas that validate requests; `extra` adds hand-written path items.
 */
export function openApiDocument(
  specs: readonly RouteSpec[],
  extra: OpenApiPaths = {},
): Record<string, unknown> {
  const paths: OpenApiPaths = {};
  for (const spec of specs) {
    const path = spec.path.replace(/:(\w+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][spec.method] = operation(spec);
  }
  for (const [path, item] of Object.entries(extra)) paths[path] = { ...paths[path], ...item };
  return {
    openapi: '3.1.0',
    info: { title: 'Nightshift API', version: '0.1.0' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: z.toJSONSchema(ErrorBody) },
    },
  };
}

function operation(spec: RouteSpec): Record<string, unknown> {
  const parameters: unknown[] = [...spec.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  for (const [name, header] of Object.entries(spec.headers ?? {})) {
    parameters.push({
      name,
      in: 'header',
      required: header.required,
      description: header.description,
      schema: { type: 'string' },
    });
  }
  if (spec.query) {
    const output = z.toJSONSchema(spec.query, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
    const input = z.toJSONSchema(spec.query, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    for (const [name, schema] of Object.entries(output.properties ?? {})) {
      parameters.push({ name, in: 'query', required: input.required?.includes(name) ?? false, schema });
    }
  }
  const error = { $ref: '#/components/schemas/Error' };
  const errors = Object.fromEntries(
    [400, ...(spec.scope ? [401, 403] : []), 404, 500].map((status) => [
      String(status),
      { description: 'error', content: { 'application/json': { schema: error } } },
    ]),
  );
  return {
    summary: spec.summary,
    ...(spec.scope ? { security: [{ bearer: [] }], 'x-scope': spec.scope } : { security: [] }),
    ...(parameters.length ? { parameters } : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: {
              [spec.bodyType ?? 'application/json']: {
                schema: z.toJSONSchema(spec.body, { io: 'input', unrepresentable: 'any' }),
              },
            },
          },
        }
      : {}),
    responses: {
      [String(spec.success.status)]: {
        description: spec.success.description,
        content: { [spec.success.type]: {} },
      },
      ...errors,
      ...Object.fromEntries(
        Object.entries(spec.answers ?? {}).map(([status, description]) => [
          status,
          { description, content: { 'application/json': {} } },
        ]),
      ),
    },
  };
}
