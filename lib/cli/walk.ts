import { ZkError, type ZooKeeper } from '../zk-wire/index.js'
import { ReadBatcher } from './read-batcher.js'

/** What the walker needs to know about a node: its children's names (and whatever else a command reads with them). */
export interface Visited {
  children: readonly string[]
}

/** One step of a walk: entering a node (pre-order), or leaving it once its whole subtree was visited (post-order). */
export type WalkStep<T extends Visited> =
  | {
      kind: 'enter'
      path: string
      /** The last name of `path` (`/` for the root of the tree). */
      name: string
      /** 0 for the node the walk started at. */
      depth: number
      /** Whether it is the last of its parent's children (sorted by name). */
      last: boolean
      /** What `read` gave, or null when it failed with a server error other than CONNECTIONLOSS and the like. */
      node: T | null
      /** Why the node could not be read (`NONODE`: deleted while the walk ran; `NOAUTH`: no READ). */
      problem?: string
    }
  | { kind: 'exit'; path: string; depth: number }

export interface WalkOptions {
  /** Stops the walk (the generator returns) once aborted. */
  signal?: AbortSignal
  /** How many reads may be in flight at once. Default 256. */
  window?: number
  /** Yield `exit` steps too. */
  exits?: boolean
  /** Paths to leave out, with everything below them (never the root). */
  prune?: (path: string) => boolean
}

/** Errors of one node that end nothing but that node's part of the walk. */
const NODE_PROBLEMS = new Set(['NONODE', 'NOAUTH'])

interface Pending<T> {
  path: string
  name: string
  depth: number
  last: boolean
  read: Promise<T> | null
}
/** Marks where a node's subtree ends, so `exit` steps come out children first; no path kept (see `ancestor`). */
interface ExitMark {
  exit: number
}

const childPath = (path: string, child: string): string => (path === '/' ? `/${child}` : `${path}/${child}`)

/** The ancestor `levelsUp` levels above `path`, as a slice of it (no copy). */
function ancestor(path: string, levelsUp: number): string {
  let end = path.length
  for (let i = 0; i < levelsUp; i++) end = path.lastIndexOf('/', end - 1)
  return end === 0 ? '/' : path.slice(0, end)
}

/**
 * Walks the subtree under `root` depth first, children in name order, with no
 * recursion (a 10,000-deep path is fine) and up to `window` reads in flight
 * (the nodes about to be visited are read ahead). A node deleted while the
 * walk runs, or one the session may not read, is reported with a `problem`
 * and its subtree skipped; the walk goes on. The root itself must be readable:
 * its error is thrown, as are connection and session errors.
 */
export async function* walk<T extends Visited>(root: string, read: (path: string) => Promise<T>, options: WalkOptions = {}): AsyncGenerator<WalkStep<T>> {
  const window = options.window ?? 256
  const stack: Array<Pending<T> | ExitMark> = [{ path: root, name: root === '/' ? '/' : root.slice(root.lastIndexOf('/') + 1), depth: 0, last: true, read: null }]
  /** Reads started for entries still on the stack. */
  let ahead = 0
  // Refill only when half the window is used up, so reads go out in batches (one multiRead for many).
  const prefetch = (): void => {
    if (ahead > window / 2) return
    // The entries nearest the top are visited next; exit marks count too, so a deep chain costs O(window).
    for (let i = stack.length - 1; i >= 0 && i >= stack.length - window; i--) {
      const entry = stack[i]!
      if ('exit' in entry || entry.read !== null) continue
      entry.read = read(entry.path)
      entry.read.catch(() => undefined)
      ahead++
    }
  }
  /** The path of the last node entered or left, from which a leaving ancestor's path is sliced. */
  let recent = root
  let recentDepth = 0
  while (stack.length > 0) {
    if (options.signal?.aborted) return
    prefetch()
    const top = stack.pop()!
    if (!('exit' in top) && top.read !== null) ahead--
    if ('exit' in top) {
      const path = ancestor(recent, recentDepth - top.exit)
      recent = path
      recentDepth = top.exit
      yield { kind: 'exit', path, depth: top.exit }
      continue
    }
    let node: T | null = null
    let problem: string | undefined
    try {
      node = await (top.read ?? read(top.path))
    } catch (err) {
      if (top.depth === 0 || !(err instanceof ZkError && NODE_PROBLEMS.has(err.name))) throw err
      problem = err.name
    }
    recent = top.path
    recentDepth = top.depth
    if (options.exits) stack.push({ exit: top.depth })
    const children = node === null ? [] : [...node.children].sort()
    const prune = options.prune
    for (let i = children.length - 1; i >= 0; i--) {
      if (prune?.(childPath(top.path, children[i]!))) continue
      stack.push({ path: childPath(top.path, children[i]!), name: children[i]!, depth: top.depth + 1, last: i === children.length - 1, read: null })
    }
    yield { kind: 'enter', path: top.path, name: top.name, depth: top.depth, last: top.last, node, ...(problem === undefined ? {} : { problem }) }
  }
}

/** The plain read of a walk: the children's names, read in multiRead batches. */
export function childrenOf(zk: ZooKeeper): (path: string) => Promise<Visited> {
  const reads = new ReadBatcher(zk)
  return async (path) => ({ children: await reads.children(path) })
}
