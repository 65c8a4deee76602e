/**
 * zkcloud/zk — a pure-TypeScript ZooKeeper client.
 * @module
 */
export { ZooKeeper, type ZooKeeperOptions, type TlsOptions, type DataAndStat, type WatchOption } from './client.js'
export { ZkError, ProtocolError, Code, codeName, type CodeName } from './errors.js'
export { type WatchedEvent, type Watcher, type ZkState, EventType } from './events.js'
export { op, type Op, type OpResult, type CreateOptions, type Data } from './multi.js'
export { type CreateMode, type AddWatchMode, type WatcherType } from './operations.js'
export { PersistentWatch } from './persistent-watch.js'
export { type Stat, type ACL, type Id } from './records.js'
export { Perms, OPEN_ACL_UNSAFE, CREATOR_ALL_ACL, READ_ACL_UNSAFE, ANYONE_ID, AUTH_IDS, digestId, digestACL } from './acl.js'
export { validatePath } from './paths.js'
export { type SaslOptions } from './sasl.js'
