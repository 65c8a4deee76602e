/**
 * zkcloud/zk — a pure-TypeScript ZooKeeper client.
 * @module
 */
export { ZooKeeper, type ZooKeeperOptions, type TlsOptions, type DataAndStat, type WatchOption, type RemoveWatchesOptions, type MkdirpOptions, type DeleteRecursiveOptions } from './client.js'
export { ZkError, ProtocolError, Code, codeName, type CodeName, type ZkErrorName } from './errors.js'
export { type WatchedEvent, type Watcher, type ZkState, EventType } from './events.js'
export { op, type Op, type OpResult, type CreateOptions, type Data } from './multi.js'
export { type CreateMode, type AddWatchMode, type WatcherType, type ClientInfo } from './operations.js'
export { DEFAULT_MAX_QUEUED, PersistentWatch, type PersistentWatchOptions } from './persistent-watch.js'
export { type WatchedPaths } from './watches.js'
export { type Stat, type StatJson, type ACL, type Id } from './records.js'
export { Perms, OPEN_ACL_UNSAFE, CREATOR_ALL_ACL, READ_ACL_UNSAFE, ANYONE_ID, AUTH_IDS, digestId, digestACL } from './acl.js'
export { validatePath } from './paths.js'
export { type SaslOptions } from './sasl.js'
