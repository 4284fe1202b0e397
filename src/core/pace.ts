/**
 * Gives the event loop a turn on every `every`-th call of the returned function; the other calls
 * resolve at once. A long run of synchronous calls (a walk over a big tree with the file
 * system's synchronous functions, each a fraction of its promise's cost) that awaits it after
 * each call never holds the loop for long.
 */
export function pacer(every = 256): () => Promise<void> {
  let calls = 0;
  return () => {
    calls += 1;
    if (calls % every !== 0) return Promise.resolve();
    return new Promise((resolve) => setImmediate(resolve));
  };
}
