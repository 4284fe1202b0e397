import type { Client } from './client.ts';
import { OwnerGone } from './http.ts';

/** Most times one call is sent again (each time another owner took over, then stopped too). */
const RESENDS = 3;

type Members = Record<PropertyKey, unknown>;

/**
 * A client of another process's socket that outlives that process. When the owner stops before
 * answering a call (its own command ended), `reopen` opens the home again (this process may own
 * it now) and the call is sent once more, if that cannot do anything twice
 * (`OwnerGone.resendable`: it never arrived, or it only reads). A stream is started again only
 * if it had given nothing yet; one that broke mid-way still throws `OWNER_GONE`, and
 * `followRun` resumes after its last event.
 *
 * Every member of `Client` (and of its `automations`, `fleets` and `swarms`) is wrapped as it
 * is read, so a method added later is covered without a change here.
 */
export function outlivingOwner(first: Client, reopen: () => Promise<Client>): Client {
  let current = first;
  const afterGone = async (error: unknown, sent: number) => {
    if (!(error instanceof OwnerGone && error.resendable) || sent > RESENDS) throw error;
    await current.close();
    current = await reopen();
  };
  const member = (path: readonly PropertyKey[]) =>
    path.reduce<unknown>((object, key) => (object as Members | undefined)?.[key], current);

  const calling =
    (path: readonly PropertyKey[], key: PropertyKey) =>
    (...args: unknown[]): unknown => {
      const call = () => ((member(path) as Members)[key] as (...args: unknown[]) => unknown)(...args);
      const result = call();
      if (result instanceof Promise) return resent(result, call as () => Promise<unknown>, afterGone);
      if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
        return restarted(result as AsyncIterable<unknown>, call as () => AsyncIterable<unknown>, afterGone);
      }
      return result;
    };

  const members = (path: readonly PropertyKey[]): ProxyHandler<object> => ({
    get(_, key) {
      if (path.length === 0 && key === 'close') return () => current.close();
      const value = member([...path, key]);
      if (typeof value === 'function') return calling(path, key);
      // `automations`, `fleets` and `swarms`; an engine (never on a remote client) is given as it is.
      if (path.length === 0 && (key === 'automations' || key === 'fleets' || key === 'swarms')) {
        return new Proxy(value as object, members([key]));
      }
      return value;
    },
  });
  return new Proxy(first, members([])) as Client;
}

type AfterGone = (error: unknown, sent: number) => Promise<void>;

async function resent<T>(first: Promise<T>, call: () => Promise<T>, afterGone: AfterGone): Promise<T> {
  let pending = first;
  for (let sent = 1; ; sent++) {
    try {
      return await pending;
    } catch (error) {
      await afterGone(error, sent);
      pending = call();
    }
  }
}

async function* restarted<T>(
  first: AsyncIterable<T>,
  call: () => AsyncIterable<T>,
  afterGone: AfterGone,
): AsyncIterable<T> {
  let items = first;
  for (let sent = 1; ; sent++) {
    let given = false;
    try {
      for await (const item of items) {
        given = true;
        yield item;
      }
      return;
    } catch (error) {
      if (given) throw error;
      await afterGone(error, sent);
      items = call();
    }
  }
}
