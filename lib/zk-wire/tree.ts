import { Code, ZkError } from './errors.js'
import { op, type CreateOptions, type Data, type Op, type OpResult } from './multi.js'
import { validatePath } from './paths.js'
import type { ACL, Stat } from './records.js'

/** Options of `zk.mkdirp`. */
export interface MkdirpOptions {
  /** Mode of every node created: `'persistent'` (default) or `'container'` (reaped by the server once empty). */
  mode?: 'persistent' | 'container'
  /** ACL of every node created (default `OPEN_ACL_UNSAFE`). */
  acl?: readonly ACL[]
  /** Data of the last node, if this call creates it. */
  data?: Data | null
}

/** Options of `zk.deleteRecursive`. */
export interface DeleteRecursiveOptions {
  /** Most deletions in one `multi` (default 1000). Each batch is also kept under ~512 KiB. */
  batchSize?: number
}

/** The client calls these helpers use (the public API only). */
export interface TreeClient {
  create(path: string, data?: Data | null, options?: CreateOptions): Promise<string>
  exists(path: string): Promise<Stat | null>
  getChildren(path: string): Promise<string[]>
  multi(list: readonly Op[]): Promise<OpResult[]>
}

/** Requests of a `multi` stay well below jute.maxbuffer (1 MiB by default on servers). */
const BATCH_BYTES = 512 * 1024
/** Bytes a create or delete costs in a multi besides its path (header, ACL, flags). */
const OP_OVERHEAD = 64
const MAX_ROUNDS = 50

function isCode(error: unknown, code: number): error is ZkError {
  return error instanceof ZkError && error.code === code
}

/** Offsets of the slashes that end each ancestor of `path` and `path` itself: `/a/b/c` → [2, 4, 6]. */
function levelEnds(path: string): number[] {
  const ends: number[] = []
  for (let i = 1; i < path.length; i++) if (path.charCodeAt(i) === 0x2f) ends.push(i)
  ends.push(path.length)
  return ends
}

/**
 * Creates `path` and every missing ancestor. Tolerates concurrent creators
 * (a node someone else created counts) and nodes deleted meanwhile (it looks
 * again). One round trip when only the last node is missing; otherwise a
 * binary search for the deepest existing ancestor, then the missing levels in
 * `multi` batches, top-down. Nothing recurses on depth.
 */
export async function mkdirp(zk: TreeClient, path: string, options: MkdirpOptions = {}): Promise<void> {
  validatePath(path, 'mkdirp')
  if (path === '/') return
  const mode = options.mode ?? 'persistent'
  if (mode !== 'persistent' && mode !== 'container') {
    throw new ZkError(Code.BADARGUMENTS, { op: 'mkdirp', path, message: `mode must be 'persistent' or 'container', not ${String(mode)}` })
  }
  const base: CreateOptions = options.acl === undefined ? { mode } : { mode, acl: options.acl }
  const data = options.data ?? null
  try {
    await zk.create(path, data, base)
    return
  } catch (error) {
    if (isCode(error, Code.NODEEXISTS)) return
    if (!isCode(error, Code.NONODE)) throw error
  }
  const ends = levelEnds(path)
  const last = ends.length - 1
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // ends[0..have) exist; find the first missing level by binary search.
    let lo = 0
    let hi = last
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((await zk.exists(path.slice(0, ends[mid]))) !== null) lo = mid + 1
      else hi = mid
    }
    let next = lo
    if (next === last && (await zk.exists(path)) !== null) return
    let restart = false
    while (next <= last && !restart) {
      const batch: Op[] = []
      let bytes = 0
      for (let i = next; i <= last && batch.length < 1000; i++) {
        const cost = ends[i]! + OP_OVERHEAD
        if (batch.length > 0 && bytes + cost > BATCH_BYTES) break
        bytes += cost
        batch.push(op.create(path.slice(0, ends[i]), i === last ? data : null, base))
      }
      try {
        await zk.multi(batch)
        next += batch.length
      } catch (error) {
        const failed = error instanceof ZkError ? failedIndex(error) : -1
        if (isCode(error, Code.NODEEXISTS) && failed >= 0) {
          if (next + failed === last) return
          next += failed + 1
        } else if (isCode(error, Code.NONODE)) {
          restart = true
        } else {
          throw error
        }
      }
    }
    if (!restart) return
  }
  throw new ZkError(Code.NONODE, { op: 'mkdirp', path, message: `ancestors kept vanishing while creating them (${MAX_ROUNDS} rounds)` })
}

function failedIndex(error: ZkError): number {
  return error.results?.findIndex((r) => r.type === 'error' && r.error.code !== 0 && r.error.code !== Code.RUNTIMEINCONSISTENCY) ?? -1
}

/** A node found under the root: its name and the index of its parent in the list (-1 for the root). */
interface Found {
  name: string
  parent: number
}

function fullPath(nodes: readonly Found[], index: number, root: string): string {
  const names: string[] = []
  for (let i = index; i > 0; i = nodes[i]!.parent) names.push(nodes[i]!.name)
  if (names.length === 0) return root
  names.reverse()
  return (root === '/' ? '' : root) + '/' + names.join('/')
}

/**
 * Deletes `path` and everything below it. Lists the tree breadth-first (up to
 * 256 reads in flight), then deletes deepest-first in `multi` batches. A node
 * that vanished meanwhile is dropped from its batch; a node that got new
 * children meanwhile has its subtree listed again and deleted first. Resolves
 * when `path` is gone (also if it never existed). `'/'` itself is never
 * deleted: its descendants are.
 */
export async function deleteRecursive(zk: TreeClient, path: string, options: DeleteRecursiveOptions = {}): Promise<void> {
  validatePath(path, 'deleteRecursive')
  const batchSize = options.batchSize ?? 1000
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ZkError(Code.BADARGUMENTS, { op: 'deleteRecursive', path, message: `batchSize must be a positive integer, not ${String(batchSize)}` })
  }
  const work = await deletionOrder(zk, path, path === '/')
  const relisted = new Map<string, number>()
  let next = 0
  let cap = batchSize
  while (next < work.length) {
    const batch: string[] = []
    let bytes = 0
    const limit = cap
    cap = batchSize
    for (let i = next; i < work.length && batch.length < limit; i++) {
      const cost = work[i]!.length + OP_OVERHEAD
      if (batch.length > 0 && bytes + cost > BATCH_BYTES) break
      bytes += cost
      batch.push(work[i]!)
    }
    try {
      await zk.multi(batch.map((p) => op.delete(p)))
      next += batch.length
      continue
    } catch (error) {
      const failed = error instanceof ZkError ? failedIndex(error) : -1
      if (failed < 0 || !(isCode(error, Code.NONODE) || isCode(error, Code.NOTEMPTY))) throw error
      const at = next + failed
      if (isCode(error, Code.NONODE)) {
        work.splice(at, 1) // gone already (a failed multi applies nothing: the rest goes again)
        continue
      }
      // The deletions before it went through but were rolled back with it: send them on their own first.
      cap = Math.max(1, failed)
      const node = work[at]!
      const tries = (relisted.get(node) ?? 0) + 1
      if (tries > MAX_ROUNDS) throw new ZkError(Code.NOTEMPTY, { op: 'deleteRecursive', path: node, message: `children kept appearing while deleting (${MAX_ROUNDS} tries)` })
      relisted.set(node, tries)
      // List its subtree again; what the earlier listing had of it goes (it sits between `next` and `at`).
      const below = node + '/'
      const before = work.slice(next, at).filter((p) => !p.startsWith(below))
      work.splice(next, at - next, ...before, ...(await deletionOrder(zk, node, true)))
    }
  }
}

/** The paths of the tree under `root` in deletion order (deepest first), `root` last unless `withoutRoot`. */
async function deletionOrder(zk: TreeClient, root: string, withoutRoot: boolean): Promise<string[]> {
  const nodes = await listTree(zk, root)
  const paths: string[] = []
  for (let i = nodes.length - 1; i >= (withoutRoot ? 1 : 0); i--) paths.push(fullPath(nodes, i, root))
  return paths
}

/** The tree under `root` in breadth-first order (root first), or [] if `root` does not exist. */
async function listTree(zk: TreeClient, root: string): Promise<Found[]> {
  const nodes: Found[] = [{ name: '', parent: -1 }]
  let level = [0]
  while (level.length > 0) {
    const next: number[] = []
    for (let start = 0; start < level.length; start += 256) {
      const slice = level.slice(start, start + 256)
      const lists = await Promise.all(slice.map((i) => zk.getChildren(fullPath(nodes, i, root)).catch((error: unknown) => {
        if (isCode(error, Code.NONODE)) return null
        throw error
      })))
      for (let k = 0; k < slice.length; k++) {
        const children = lists[k]
        if (children === null || children === undefined) {
          if (slice[k] === 0) return []
          continue
        }
        for (const name of children) {
          next.push(nodes.length)
          nodes.push({ name, parent: slice[k]! })
        }
      }
    }
    level = next
  }
  return nodes
}
