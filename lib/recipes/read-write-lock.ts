import type { ZooKeeper } from '../zk-wire/index.js'
import { QueueLock, type LockOptions } from './queue-lock.js'
import type { QueueRule } from './queue-rules.js'

const READ = '__READ__'
const WRITE = '__WRIT__'

function key(name: string): string {
  for (const marker of [READ, WRITE]) {
    const at = name.lastIndexOf(marker)
    if (at >= 0) name = name.slice(at + marker.length)
  }
  return name
}

function writeRule(): QueueRule {
  return {
    base: WRITE,
    key,
    decide(sorted, ours) {
      const index = sorted.indexOf(ours)
      if (index === 0) return { holds: true }
      return { holds: false, watch: sorted[index - 1]!, next: index === 1 }
    },
  }
}

function readRule(ownsWrite: () => boolean): QueueRule {
  return {
    base: READ,
    key,
    decide(sorted, ours) {
      if (ownsWrite()) return { holds: true }
      let firstWrite = -1
      let writers = 0
      for (const name of sorted) {
        if (name === ours) break
        if (name.includes(WRITE)) {
          if (firstWrite === -1) firstWrite = sorted.indexOf(name)
          writers++
        }
      }
      if (firstWrite === -1) return { holds: true }
      return { holds: false, watch: sorted[firstWrite]!, next: writers === 1 }
    },
  }
}

/**
 * A read/write lock on Curator's `InterProcessReadWriteLock` protocol
 * (candidates `_c_<uuid>-__READ__<seq>` and `_c_<uuid>-__WRIT__<seq>` under
 * one path): any number of readers hold together while no writer is ahead
 * of them; a writer holds alone. Readers wait on the first writer ahead,
 * writers on the candidate just before them. Holding the write lock, this
 * object's read lock is granted at once (downgrade).
 *
 * ```ts
 * const rw = new ReadWriteLock(zk, '/locks/catalog')
 * await rw.readLock.run(async () => readCatalog())
 * await rw.writeLock.run(async (hold) => writeCatalog({ fence: hold.token }))
 * await rw.close()
 * ```
 */
export class ReadWriteLock {
  /** The exclusive side. */
  readonly writeLock: QueueLock
  /** The shared side. */
  readonly readLock: QueueLock

  /** @throws RecipeError `'BAD_ARGUMENT'` for an invalid path or options */
  constructor(zk: ZooKeeper, path: string, options: LockOptions = {}) {
    this.writeLock = new QueueLock(zk, path, writeRule(), options, 'write lock')
    this.readLock = new QueueLock(zk, path, readRule(() => this.writeLock.isHeld), options, 'read lock')
  }

  /** Closes both sides (releasing what they hold). */
  async close(): Promise<void> {
    await Promise.all([this.readLock.close(), this.writeLock.close()])
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
