import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { currentUser } from '../../engine/index.ts';
import { SCOPES, type Scope } from '../../server/schema.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';
import { ago } from '../render.ts';

function scopes(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens of `nightshift serve`');

  token
    .command('create')
    .description('create a token and print it (shown this once; only its hash is kept)')
    .requiredOption('--name <name>', 'what the token is for, e.g. ci or slack-bot')
    .requiredOption(
      '--scope <scope>',
      `what it may do (repeat or comma-separate): ${SCOPES.join(', ')}`,
      scopes,
    )
    .action(async (options: { name: string; scope: string[] }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const unknown = options.scope.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (unknown.length > 0) {
        throw invalidInput(`unknown scope ${unknown.join(', ')}`, `use ${SCOPES.join(', ')}`);
      }
      const client = await openClient(global, { worker: false, command: 'nightshift token create' });
      try {
        const created = await client.createToken({
          name: options.name,
          scopes: options.scope as Scope[],
          createdBy: currentUser(),
        });
        if (global.json) return printJson(created);
        print(created.token);
        process.stderr.write(
          `token ${created.record.name} (${created.record.id}) with ${created.record.scopes.join(', ')}: ` +
            'store it now, it is not shown again\n',
        );
      } finally {
        await client.close();
      }
    });

  token
    .command('list')
    .description('active tokens: id, name, scopes, last use (never the secrets)')
    .action(async (_options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: false, command: 'nightshift token list' });
      try {
        const tokens = await client.listTokens();
        if (global.json) return printJson(tokens);
        if (tokens.length === 0) return print('no tokens: create one with `nightshift token create`');
        for (const t of tokens) {
          const used = t.lastUsedAt ? `used ${ago(t.lastUsedAt)}` : 'never used';
          print(`${t.id}  ${t.name}  ${t.scopes.join(',')}  created ${ago(t.createdAt)}  ${used}`);
        }
      } finally {
        await client.close();
      }
    });

  token
    .command('revoke')
    .description('revoke a token by id or name; requests with it fail at once')
    .argument('<token>', 'token id or name')
    .action(async (idOrName: string, _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const client = await openClient(global, { worker: false, command: 'nightshift token revoke' });
      try {
        const revoked = await client.revokeToken(idOrName);
        if (global.json) printJson(revoked);
        else print(`token ${revoked.name} (${revoked.id}) revoked`);
      } finally {
        await client.close();
      }
    });
}
