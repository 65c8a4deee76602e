import { ZkError, type CreateMode, type Data, type Stat, type ZooKeeper } from '../zk-wire/index.js'
import type { Env } from '../env.js'
import { join, nodeName } from './args.js'

/** Whether `error` is the ZooKeeper error `name` (`'NONODE'`, …). */
export function isZk(error: unknown, name: string): error is ZkError {
  return error instanceof ZkError && error.name === name
}

/** A call failing with this may be tried again on the same session (the connection broke, or none came back in time). */
export function isTransient(error: unknown): boolean {
  return isZk(error, 'CONNECTIONLOSS') || isZk(error, 'OPERATIONTIMEOUT')
}

/** A call failing with this will never succeed on this client: its session is over. */
export function isSessionOver(error: unknown): boolean {
  return isZk(error, 'SESSIONEXPIRED') || isZk(error, 'CLOSED') || isZk(error, 'AUTHFAILED')
}

/** Whether the client's session is over (expired, closed or refused). */
export function sessionOver(zk: ZooKeeper): boolean {
  return zk.state === 'expired' || zk.state === 'closed' || zk.state === 'authFailed'
}

/** Runs `call` again while it fails with a transient error (each try waits for the reconnect, up to the client's requestTimeout). */
export async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call()
    } catch (error) {
      if (!isTransient(error)) throw error
    }
  }
}

/** A random RFC 4122 version-4 UUID (as Java's `UUID.randomUUID().toString()`). */
export function uuid(env: Pick<Env, 'randomBytes'>): string {
  const b = env.randomBytes(16)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Curator's protected-name prefix: `_c_<uuid>-`. */
export function protectedPrefix(id: string): string {
  return `_c_${id}-`
}

/** A znode created by {@link createProtected}. */
export interface Created {
  /** Its full path. */
  readonly path: string
  /** Its name (last segment). */
  readonly name: string
  readonly stat: Stat
}

/**
 * Creates `<dir>/_c_<uuid>-<base>` (Curator's protected mode; sequential modes
 * append the number), creating `dir` and its ancestors as containers if
 * missing. A create that fails with a connection loss may have been applied:
 * before trying again, the children are searched for the uuid (after a
 * `sync`, so the server has seen everything the previous one had), so one
 * call never leaves two znodes, and a lost reply leaves no orphan.
 */
export async function createProtected(zk: ZooKeeper, dir: string, base: string, data: Data | null, mode: CreateMode, env: Pick<Env, 'randomBytes'>): Promise<Created> {
  return (await createProtectedAndList(zk, dir, base, data, mode, env, false)).created
}

/**
 * {@link createProtected}, with `dir`'s children read right behind the first
 * create when `list` is set: one session's requests are applied in order, so
 * the list includes the new znode, and the read costs no extra round trip.
 * `children` is null when that first try failed (the caller reads them itself).
 */
export async function createProtectedAndList(zk: ZooKeeper, dir: string, base: string, data: Data | null, mode: CreateMode, env: Pick<Env, 'randomBytes'>, list: boolean): Promise<{ created: Created; children: string[] | null }> {
  const prefix = protectedPrefix(uuid(env))
  let first = list
  for (;;) {
    try {
      const creating = zk.create2(join(dir, prefix + base), data, { mode })
      const listing = first ? zk.getChildren(dir).catch(() => null) : null
      first = false
      const { path, stat } = await creating
      return { created: { path, name: nodeName(path), stat }, children: listing === null ? null : await listing }
    } catch (error) {
      if (isZk(error, 'NONODE')) {
        await retrying(() => zk.mkdirp(dir, { mode: 'container' }))
        continue
      }
      if (!isTransient(error)) throw error
    }
    const found = await retrying(() => findProtected(zk, dir, prefix))
    if (found !== null) return { created: found, children: null }
  }
}

/** The child of `dir` whose name starts with `prefix`, read after a sync; null if none. */
export async function findProtected(zk: ZooKeeper, dir: string, prefix: string): Promise<Created | null> {
  try {
    await zk.sync(dir)
    const name = (await zk.getChildren(dir)).find((child) => child.startsWith(prefix))
    if (name === undefined) return null
    const path = join(dir, name)
    const stat = await zk.exists(path)
    return stat === null ? null : { path, name, stat }
  } catch (error) {
    if (isZk(error, 'NONODE')) return null
    throw error
  }
}

/**
 * Deletes `path`, trying again across connection losses (Curator's
 * "guaranteed" delete). A node already gone, or a session already over
 * (its ephemerals are gone with it), counts as deleted.
 */
export async function deleteSurely(zk: ZooKeeper, path: string): Promise<void> {
  try {
    await retrying(() => zk.delete(path))
  } catch (error) {
    if (isZk(error, 'NONODE') || isSessionOver(error)) return
    throw error
  }
}

/** The prefix of a protected name (`_c_<uuid>-`), or null for other names. */
export function protectedPrefixOf(name: string): string | null {
  return /^_c_[0-9a-f-]{36}-/.exec(name)?.[0] ?? null
}

/** `name` without the protected prefix. */
export function unprotected(name: string): string {
  const prefix = protectedPrefixOf(name)
  return prefix === null ? name : name.slice(prefix.length)
}

/** Removes this client's one-shot data watches on `path` (they have fired or were never set: fine either way). */
export async function dropDataWatch(zk: ZooKeeper, path: string): Promise<void> {
  if (sessionOver(zk)) return
  await zk.removeWatches(path, 'data').catch(() => undefined)
}

export { nodeName }
