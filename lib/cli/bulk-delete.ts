import { ZkError, type ZooKeeper, op } from '../zk-wire/index.js'
import { Batcher, pathBytes } from './batcher.js'
import type { Progress } from './progress.js'
import { childrenOf, walk } from './walk.js'

/** What a bulk delete did. */
export interface DeleteOutcome {
  deleted: number
  /** True when it stopped on the signal before the root was gone. */
  interrupted: boolean
}

export interface DeleteOptions {
  signal?: AbortSignal
  /** Most deletes in one multi (zkCli's `deleteall -b`). Default 1000. */
  batch?: number
  progress?: Progress
}

/** How many times a node that keeps getting new children is emptied again before giving up. */
const ATTEMPTS = 5

const isZk = (err: unknown, name: string): boolean => err instanceof ZkError && err.name === name

/**
 * Deletes `root` and everything below it. The subtree is walked depth first
 * (reads pipelined, no recursion on depth) and each node is deleted as soon as
 * its own subtree is gone, in `multi` batches sent back to back within the
 * server's frame limit. A batch refused because someone else changed the
 * subtree meanwhile is redone node by node: nodes already gone are fine, a node
 * that got a new child is emptied again. On `signal` it stops sending, waits
 * for the batches in flight and reports what was deleted.
 */
export async function deleteSubtree(zk: ZooKeeper, root: string, options: DeleteOptions = {}, attempt = 1): Promise<DeleteOutcome> {
  let deleted = 0
  const applied = (n: number): void => {
    deleted += n
    options.progress?.add(n)
  }
  const batcher = new Batcher<string>(zk, { ops: (p) => [op.delete(p)], size: (p) => 13 + pathBytes(p), maxItems: options.batch ?? 1000, applied })
  const redo = async (paths: readonly string[]): Promise<void> => {
    for (const path of paths) {
      if (options.signal?.aborted) return
      try {
        await zk.delete(path)
        applied(1)
      } catch (err) {
        if (isZk(err, 'NONODE')) continue
        if (!isZk(err, 'NOTEMPTY') || attempt >= ATTEMPTS) throw err
        // Someone created a child meanwhile: empty the node again (this call's own nesting is bounded by ATTEMPTS).
        deleted += (await deleteSubtree(zk, path, options, attempt + 1).catch((e: unknown) => (isZk(e, 'NONODE') ? { deleted: 0 } : Promise.reject(e)))).deleted
      }
    }
  }
  for await (const step of walk(root, childrenOf(zk), { signal: options.signal, exits: true })) {
    if (step.kind === 'exit') await redo(await batcher.add(step.path))
  }
  if (options.signal?.aborted) {
    await batcher.drain()
    return { deleted, interrupted: true }
  }
  await redo(await batcher.flush())
  return { deleted, interrupted: options.signal?.aborted === true }
}
