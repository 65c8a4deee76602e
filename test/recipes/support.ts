import * as assert from 'uvu/assert'
import { realEnv, type ConnectOptions, type Env, type EnvSocket, type Timer } from '../../lib/env.js'
import { Code, ZkError, ZooKeeper } from '../../lib/zk-wire/index.js'
import { RecipeError, type RecipeErrorCode } from '../../lib/recipes/index.js'
import type { ClientPool } from '../support/clients.js'
import { fourLetterWord } from '../support/four-letter.js'
import { TcpProxy } from '../support/proxy.js'
import { endSession } from '../support/raw-session.js'
import { waitFor } from '../support/wait.js'

/** The real environment, counting the timers still pending (a recipe must leave none behind). */
export class CountingEnv implements Env {
  #live = new Set<object>()

  get liveTimers(): number {
    return this.#live.size
  }

  now(): number {
    return realEnv.now()
  }

  random(): number {
    return realEnv.random()
  }

  randomBytes(n: number): Buffer {
    return realEnv.randomBytes(n)
  }

  connect(host: string, port: number, options?: ConnectOptions): EnvSocket {
    return realEnv.connect(host, port, options)
  }

  setTimer(ms: number, fn: () => void): Timer {
    const token = {}
    this.#live.add(token)
    const inner = realEnv.setTimer(ms, () => {
      this.#live.delete(token)
      fn()
    })
    const timer: Timer = {
      cancel: () => {
        this.#live.delete(token)
        inner.cancel()
      },
      unref: () => {
        inner.unref()
        return timer
      },
    }
    return timer
  }
}

/** Asserts that `promise` rejects with a RecipeError of `code` (and returns it). */
export async function rejectsWith(promise: Promise<unknown>, code: RecipeErrorCode, message?: RegExp): Promise<RecipeError> {
  try {
    await promise
  } catch (error) {
    assert.instance(error, RecipeError, `expected a RecipeError ${code}, got ${String(error)}`)
    assert.is((error as RecipeError).code, code, String(error))
    if (message) assert.match((error as Error).message, message)
    return error as RecipeError
  }
  assert.unreachable(`expected a RecipeError ${code}`)
  throw new Error('unreachable')
}

/** Asserts that calling `fn` throws a RecipeError of `code` synchronously. */
export function throwsWith(fn: () => unknown, code: RecipeErrorCode, message?: RegExp): void {
  try {
    fn()
  } catch (error) {
    assert.instance(error, RecipeError, `expected a RecipeError ${code}, got ${String(error)}`)
    assert.is((error as RecipeError).code, code)
    if (message) assert.match((error as Error).message, message)
    return
  }
  assert.unreachable(`expected a RecipeError ${code}`)
}

/** The children of `path` ([] if it does not exist). */
export async function childrenOf(zk: ZooKeeper, path: string): Promise<string[]> {
  try {
    return (await zk.getChildren(path)).sort()
  } catch (error) {
    if (error instanceof ZkError && error.code === Code.NONODE) return []
    throw error
  }
}

/** Ends `zk`'s session from outside; resolves once the client has seen it expire. */
export async function expireSession(zk: ZooKeeper): Promise<void> {
  const expired = new Promise<void>((resolve) => {
    const onState = (s: string): void => {
      if (s !== 'expired') return
      zk.off('state', onState)
      resolve()
    }
    zk.on('state', onState)
  })
  await endSession(zk.currentServer!, zk.sessionId, zk.sessionPassword)
  await expired
}

/**
 * The paths (relative to the chroot) this client's session watches: those
 * the client holds (`zk.watched`, what it re-sets on every connection) and
 * those the server lists for the session in the `wchc` four-letter word —
 * which shows data, exist and persistent watches but not child watches, so
 * the client's list is needed to see those. Sorted, each once.
 * (ZooKeeper 3.8's `checkWatches` answers for other sessions' watches too.)
 */
export async function watchedPaths(zk: ZooKeeper): Promise<string[]> {
  const [host, port] = zk.currentServer!.split(':')
  const text = await fourLetterWord(host!, Number(port), 'wchc')
  const session = `0x${zk.sessionId.toString(16)}`
  const paths: string[] = []
  let mine = false
  for (const line of text.split('\n')) {
    if (line.startsWith('0x')) mine = line.trim() === session
    else if (mine && line.trim() !== '') paths.push(line.trim())
  }
  const chroot = zk.chrootPath
  const server = paths.filter((p) => chroot === '' || p === chroot || p.startsWith(chroot + '/')).map((p) => (p === chroot ? '/' : p.slice(chroot.length)))
  const held = zk.watched
  return [...new Set([...server, ...held.data, ...held.exist, ...held.child, ...held.persistent, ...held.persistentRecursive])].sort()
}

/** Whether this client's session watches `path` (any kind; see {@link watchedPaths}). */
export async function hasWatch(zk: ZooKeeper, path: string): Promise<boolean> {
  return (await watchedPaths(zk)).includes(path)
}


/** A promise and its resolver. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** Resolves to true if `promise` settles within `ms`, false otherwise. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

export { waitFor }

const proxies = new Set<TcpProxy>()

/**
 * A client that reaches the server of `pool` through its own TcpProxy, so
 * the test can silence its link (`proxy.stall()`) until the session expires
 * the natural way: the server hears nothing for the whole session timeout.
 * Closed by the pool; the proxy by {@link closeProxies}.
 */
export async function isolatable(pool: ClientPool, connectString: string, root: string, sessionTimeout = 2000): Promise<{ zk: ZooKeeper; proxy: TcpProxy }> {
  const [host, port] = connectString.split(',')[0]!.split(':')
  const proxy = await TcpProxy.start(host!, Number(port))
  proxies.add(proxy)
  const zk = pool.track(await ZooKeeper.connect(proxy.address + root, { sessionTimeout }))
  return { zk, proxy }
}

/** Closes the proxies of {@link isolatable}. */
export async function closeProxies(): Promise<void> {
  await Promise.all([...proxies].map((p) => p.close()))
  proxies.clear()
}

/** Resolves when `zk` reports `state`. */
export function stateReached(zk: ZooKeeper, state: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (s: string): void => {
      if (s !== state) return
      zk.off('state', on)
      resolve()
    }
    zk.on('state', on)
  })
}
