/**
 * zkcloud — a pure-TypeScript ZooKeeper client (`zkcloud/zk`) and an actor
 * runtime (`zkcloud/runtime`). Importing a subpath loads only that layer;
 * this entry re-exports them all.
 * @module
 */
export * from './zk-wire/index.js'
export * from './runtime/index.js'
