import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { CommitAuthor } from '../types.ts';
import { placeObject } from './objects.ts';

export interface CommitFields {
  tree: string;
  parent: string;
  author: CommitAuthor;
  /** Author and committer date, in seconds since the epoch (UTC). */
  seconds: number;
  message: string;
}

/**
 * Writes the commit `git commit-tree` would write for these fields, as a loose object in
 * `objects`, and returns its id; without starting git. Returns null when git would change the
 * identity (see `plainIdent`) or the message holds a NUL: the caller then runs
 * `git commit-tree`, so the commit is always the one git would make.
 */
export async function writeCommitObject(objects: string, fields: CommitFields): Promise<string | null> {
  const { name, email } = fields.author;
  if (!plainIdent(name) || !plainIdent(email) || fields.message.includes('\0')) return null;
  const ident = `${name} <${email}> ${fields.seconds} +0000`;
  const body = Buffer.from(
    `tree ${fields.tree}\nparent ${fields.parent}\nauthor ${ident}\ncommitter ${ident}\n\n${fields.message}`,
  );
  const object = Buffer.concat([Buffer.from(`commit ${body.length}\0`), body]);
  const id = createHash(fields.tree.length === 64 ? 'sha256' : 'sha1')
    .update(object)
    .digest('hex');
  const dir = join(objects, id.slice(0, 2));
  // A few hundred bytes: compressed and written with synchronous calls, without the thread pool.
  mkdirSync(dir, { recursive: true });
  const data = deflateSync(object);
  await placeObject(join(dir, id.slice(2)), (temp) => writeFileSync(temp, data, { mode: 0o444 }));
  return id;
}

/**
 * A name or email git writes as it is. Git strips some characters at either end (`crud` in
 * its ident.c: spaces, control characters, `.,:;"\'<>`, a list that has changed between
 * versions) and drops `<`, `>` and newlines anywhere: so only a value starting and ending with
 * a letter or digit, with no control character, `<` or `>`, counts.
 */
function plainIdent(value: string): boolean {
  return /^[\p{L}\p{N}](?:[^\p{Cc}<>]*[\p{L}\p{N}])?$/u.test(value);
}
