import type { ZooKeeper } from '../zk-wire/index.js'
import { QueueLock, type LockOptions } from './queue-lock.js'
import { mutexRule } from './queue-rules.js'

/**
 * A distributed mutual-exclusion lock, on Curator's `InterProcessMutex`
 * protocol, so it excludes Curator's mutex (and kazoo's `Lock` created with
 * `extra_lock_patterns=['-lock-']`) on the same path:
 *
 * - each acquire creates `<path>/_c_<uuid>-lock-<seq>` (protected, ephemeral,
 *   sequential; missing parents are created as containers);
 * - the candidate with the lowest sequence number holds;
 * - every other one watches only the candidate just before it (no herd);
 *   the one right behind the holder takes over on its deletion event alone.
 *
 * ```ts
 * const lock = new Lock(zk, '/locks/orders')
 * {
 *   await using hold = await lock.acquire({ timeout: 5_000 })
 *   await store.write(order, { fence: hold.token, signal: hold.signal })
 * } // released here
 * await lock.close()
 * ```
 */
export class Lock extends QueueLock {
  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path or options */
  constructor(zk: ZooKeeper, path: string, options: LockOptions = {}) {
    super(zk, path, mutexRule('lock-'), options, 'lock')
  }
}
