import { ProcessExitError, type ExitReason, type Process } from '../runtime/index.js'
import { Cluster } from './cluster.js'
import type { ClusterOptions } from './options.js'

/** The body of a cluster program: a process on the cluster's node. */
export type ClusterMain = (self: Process, cluster: Cluster) => Promise<void> | void

/**
 * Runs `main` as a process on a new cluster node, as the seed's `bootstrap`
 * does: starts the node and its ZooKeeper session (see {@link Cluster.start}),
 * runs `main(self, cluster)`, and when it ends — returns, throws, or the
 * cluster is stopped — stops the cluster, so every znode of this node vanishes
 * at once. Resolves when `main` returned (or the cluster was stopped);
 * rejects with what it threw, or a `ProcessExitError` if it was killed.
 */
export async function bootstrap(options: ClusterOptions, main: ClusterMain): Promise<void> {
  if (typeof main !== 'function') throw new TypeError('bootstrap needs a main function')
  const cluster = await Cluster.start(options)
  let reason: ExitReason
  try {
    reason = await cluster.node.exited(cluster.node.spawn(self => main(self, cluster)))
  } finally {
    await cluster.stop()
  }
  if (reason === 'normal' || reason === 'shutdown') return
  throw reason instanceof Error ? reason : new ProcessExitError(reason)
}
