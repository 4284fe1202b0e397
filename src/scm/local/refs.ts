import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflate } from 'node:zlib';

const inflated = promisify(inflate);

/** Whether `value` is a whole object id (SHA-1 or SHA-256), not a ref or an abbreviation. */
export function isObjectId(value: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(value);
}

/**
 * The commit the branch `ref` (`refs/heads/...`) names in the repository at `gitDir`, read
 * without starting git, for the common case: the ref is a loose ref file or a line of
 * `packed-refs`, and names a loose commit object. Null for anything else (a symbolic ref, a
 * packed or missing object, an object that is not a commit, reftable ref storage), for which
 * the caller asks git.
 */
export async function readBranchCommit(gitDir: string, ref: string): Promise<string | null> {
  if (!ref.startsWith('refs/heads/') || ref.split('/').some((part) => part === '..' || part === ''))
    return null;
  const sha = (await looseRef(gitDir, ref)) ?? (await packedRef(gitDir, ref));
  if (!sha || !isObjectId(sha)) return null;
  const object = await readFile(join(gitDir, 'objects', sha.slice(0, 2), sha.slice(2))).catch(() => null);
  if (!object) return null;
  const header = await inflated(object).then(
    (data) => data.subarray(0, 7).toString('latin1'),
    () => '',
  );
  return header === 'commit ' ? sha : null;
}

/** The loose ref file's content: undefined when there is none, so `packed-refs` is read. */
async function looseRef(gitDir: string, ref: string): Promise<string | undefined> {
  const text = await readFile(join(gitDir, ref), 'utf8').catch((error: NodeJS.ErrnoException) =>
    error.code === 'ENOENT' ? undefined : '',
  );
  return text?.trim();
}

async function packedRef(gitDir: string, ref: string): Promise<string | null> {
  const text = await readFile(join(gitDir, 'packed-refs'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (line.endsWith(` ${ref}`) && !line.startsWith('#') && !line.startsWith('^')) {
      return line.slice(0, line.length - ref.length - 1);
    }
  }
  return null;
}
