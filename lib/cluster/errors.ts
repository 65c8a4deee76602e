/**
 * Why a cluster call gave up, in `name`:
 * - `'STOPPED'` — the cluster is stopping or stopped;
 * - `'UNREACHABLE'` — ZooKeeper did not answer within `requestTimeout`
 *   (disconnected: the session may still live, and the client keeps trying);
 * - `'EXPIRED'` — the session expired and no new one could be opened within
 *   `requestTimeout` (the cluster keeps trying).
 *
 * A `register` or `registerCandidate` that rejects with `UNREACHABLE` or
 * `EXPIRED` is not undone: the registration or candidacy stays wanted and is
 * made as soon as ZooKeeper answers again (`unregister` gives it up).
 * With the option `waitForZooKeeper: true` calls wait instead.
 */
export type ClusterErrorName = 'STOPPED' | 'UNREACHABLE' | 'EXPIRED'

/** A cluster call that gave up; see {@link ClusterErrorName}. `instanceof` and `name` both work. */
export class ClusterError extends Error {
  override readonly name: ClusterErrorName

  constructor(name: ClusterErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = name
  }
}
