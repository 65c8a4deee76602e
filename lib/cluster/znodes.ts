import { ZkError, type ACL, type ZooKeeper } from '../zk-wire/index.js'
import { realEnv, type Clock } from '../env.js'
import type { Layout } from './paths.js'

/** Whether `error` is the ZooKeeper error `name` (`'NONODE'`, …). */
export function isZk(error: unknown, name: string): boolean {
  return error instanceof ZkError && error.name === name
}

/**
 * Whether a call failing with `error` may be tried again on the same session:
 * the connection broke (the call may or may not have been applied) or no
 * connection came back within `requestTimeout`.
 */
export function isTransient(error: unknown): boolean {
  return isZk(error, 'CONNECTIONLOSS') || isZk(error, 'OPERATIONTIMEOUT')
}

/** Whether `error` says the session ended on the server (expired, or refused our credentials): a new one is on its way. */
export function isExpired(error: unknown): boolean {
  return isZk(error, 'SESSIONEXPIRED') || isZk(error, 'AUTHFAILED')
}

/** Whether `error` says the session was closed by `stop()`: nothing more will happen. */
export function isClosed(error: unknown): boolean {
  return isZk(error, 'CLOSED')
}

/** The parent of a znode path (`/` for top-level ones). */
export function parentOf(path: string): string {
  const at = path.lastIndexOf('/')
  return at <= 0 ? '/' : path.slice(0, at)
}

/**
 * Creates `path` if it is missing (in `mode`), and its missing ancestors
 * (persistent). With a chroot, the chroot node itself is created too. One
 * round trip when only `path` is missing.
 */
export async function ensurePath(zk: Pick<ZooKeeper, 'create'>, path: string, acl: readonly ACL[], mode: 'persistent' | 'container' = 'persistent'): Promise<void> {
  try {
    await zk.create(path, null, { acl, mode })
  } catch (error) {
    if (isZk(error, 'NODEEXISTS')) return
    if (!isZk(error, 'NONODE') || path === '/') throw error
    await ensurePath(zk, parentOf(path), acl)
    await ensurePath(zk, path, acl, mode)
  }
}

/**
 * Creates the cluster's directories that are missing. Existing ones are left
 * alone, so a layout prepared by an administrator under a tighter ACL works as
 * long as the cluster may create its entries inside it.
 */
export async function ensureLayout(zk: ZooKeeper, layout: Layout, acl: readonly ACL[]): Promise<void> {
  for (const path of [layout.root, layout.nodes, layout.services, layout.global]) {
    if (path !== '/' && (await zk.exists(path)) === null) await ensurePath(zk, path, acl)
  }
}

/**
 * Creates the ephemeral znode `path` (and its missing parent directory as a
 * container). A node already there counts as created: the cluster's paths
 * are unique to one node run, so it is this session's, from a create whose
 * reply was lost.
 */
export async function createEphemeral(zk: ZooKeeper, path: string, data: Buffer, acl: readonly ACL[]): Promise<void> {
  for (;;) {
    try {
      await zk.create(path, data, { acl, mode: 'ephemeral' })
      return
    } catch (error) {
      if (isZk(error, 'NODEEXISTS')) return
      if (!isZk(error, 'NONODE')) throw error
    }
    await ensurePath(zk, parentOf(path), acl, 'container')
  }
}

/** Deletes `path`; a node already gone counts as deleted. */
export async function deleteIfExists(zk: ZooKeeper, path: string): Promise<void> {
  try {
    await zk.delete(path)
  } catch (error) {
    if (!isZk(error, 'NONODE')) throw error
  }
}

/** Resolves after `ms` on `clock`. */
export function pause(ms: number, clock: Clock = realEnv): Promise<void> {
  return new Promise(resolve => clock.setTimer(ms, resolve))
}
