/**
 * zkcloud/recipes — the coordination recipes of Curator and kazoo (locks,
 * semaphores, barriers, counters, queues, caches, leader election) on a
 * plain `ZooKeeper` client, interoperable with Curator's (and, where the
 * naming allows, kazoo's) recipes on the same paths. See docs/recipes.md.
 * @module
 */
export { RecipeError, isRecipeError, type RecipeErrorCode } from './errors.js'
export type { WaitOptions } from './args.js'
export type { LossReason, TenureOptions } from './tenure.js'
export { Lock } from './lock.js'
export { QueueLock, type Hold, type LockEvents, type LockOptions } from './queue-lock.js'
export { ReadWriteLock } from './read-write-lock.js'
export { Semaphore, type Lease, type SemaphoreEvents, type SemaphoreOptions } from './semaphore.js'
export { LeaderLatch, type LeaderLatchEvents, type LeaderLatchOptions } from './leader-latch.js'
export { LeaderSelector, type LeaderFunction, type LeaderSelectorEvents, type LeaderSelectorOptions } from './leader-selector.js'
export type { Term, LeadershipEnd, Participant } from './term.js'
export { Barrier, DoubleBarrier, type BarrierOptions, type DoubleBarrierOptions } from './barrier.js'
export { SharedCounter, type CounterEncoding, type SharedCounterEvents, type SharedCounterOptions, type VersionedValue } from './shared-counter.js'
export { DistributedQueue, type QueueOptions } from './queue.js'
export { LockingQueue, type QueueItem } from './locking-queue.js'
export { NodeCache, ChildrenCache, type NodeData, type WatchingCacheEvents } from './node-cache.js'
export { TreeCache, type TreeCacheEvents, type TreeCacheOptions, type TreeEvent, type TreeWatchMode } from './tree-cache.js'
export { PersistentNode, type PersistentNodeEvents, type PersistentNodeOptions } from './persistent-node.js'
export { Party, type PartyOptions } from './party.js'
export { EventStream } from './event-stream.js'
