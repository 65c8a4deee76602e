import type { WatchedEvent, Watcher, ZooKeeper } from '../zk-wire/index.js'
import { trigger, type Deadline } from './deadline.js'
import { sessionOver } from './znodes.js'

/**
 * The loop of a call that waits for the children of `dirs` to change (a
 * queue's take, a semaphore's turn): `attempt` reads, with the watcher it is
 * given if any, and answers — or returns `undefined` to wait. The first
 * attempt sets no watch, so an uncontended call leaves none to clean up;
 * `beforeWatching` then runs once, and every later attempt sets the watches
 * and, still without an answer, waits within `deadline` until one fires. The
 * child watches are removed on the way out, unless the session is over.
 */
export async function untilAnswered<T>(
  zk: ZooKeeper,
  dirs: readonly string[],
  deadline: Deadline,
  attempt: (watch: Watcher | undefined) => Promise<T | undefined>,
  beforeWatching?: () => Promise<unknown>,
): Promise<T> {
  let watching = false
  try {
    for (;;) {
      const wake = trigger<WatchedEvent>()
      const answer = await attempt(watching ? wake.fire : undefined)
      if (answer !== undefined) return answer
      if (!watching) {
        await beforeWatching?.()
        watching = true
        continue
      }
      deadline.check()
      await deadline.wait(wake.promise)
    }
  } finally {
    if (watching && !sessionOver(zk)) await Promise.all(dirs.map((dir) => zk.removeWatches(dir, 'children').catch(() => undefined)))
  }
}
