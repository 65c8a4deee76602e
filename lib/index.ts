/**
 * zkcloud — a pure-TypeScript ZooKeeper client (`zkcloud/zk`), an actor
 * runtime (`zkcloud/runtime`), the cluster layer on both (`zkcloud/cluster`),
 * coordination recipes on the client (`zkcloud/recipes`)
 * and an embedded ZooKeeper-protocol dev server (`zkcloud/dev-server`).
 * Importing a subpath loads only that layer (and the ones below it); this
 * entry re-exports them all.
 * @module
 */
export * from './zk-wire/index.js'
export * from './runtime/index.js'
export * from './cluster/index.js'
export * from './recipes/index.js'
export * from './dev-server/index.js'
