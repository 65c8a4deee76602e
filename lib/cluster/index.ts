/**
 * zkcloud/cluster — the Cloud Haskell ZooKeeper backend in TypeScript:
 * service discovery with a watch-invalidated cache, and global processes
 * elected through ZooKeeper that fail over in order. See docs/cluster.md.
 * @module
 */
export { Cluster, type ClusterEvents, type ClusterState } from './cluster.js'
export { bootstrap, type ClusterMain } from './bootstrap.js'
export type { ClusterOptions } from './options.js'
export { ClusterError, type ClusterErrorName } from './errors.js'
export { LeadershipLostError, type GlobalFunction, type Leadership, type StepDownReason } from './leadership.js'
export type { SessionState } from './session.js'
export { DEFAULT_PREFIX } from './paths.js'
