import type { Node, ProcessId } from '../runtime/index.js'
import type { Discovery } from './discovery.js'
import type { Log } from './log.js'
import { nameProblem } from './paths.js'

/**
 * Mirrors the node's local registry into ZooKeeper, as the seed mirrors Cloud
 * Haskell's `register`: every name registered with `node.register` that
 * starts with `registerPrefix` becomes a service of that process, and leaves
 * it when the name is unregistered or the process ends. Names that cannot be
 * znode names (a `/`, …) stay local, with an error logged.
 *
 * Returns the function that stops mirroring.
 */
export function mirrorRegistry(node: Node, discovery: Discovery, registerPrefix: string, log: Log): () => void {
  const mirrored = (name: string): boolean => {
    if (!name.startsWith(registerPrefix)) return false
    const problem = nameProblem(name)
    if (problem !== null) log.error(`the local name ${JSON.stringify(name)} is not mirrored into ZooKeeper: ${problem}`)
    return problem === null
  }
  const onRegister = (name: string, pid: ProcessId): void => {
    if (!mirrored(name)) return
    discovery.register(name, pid).catch(error => log.error(`could not mirror the local name ${JSON.stringify(name)} of ${pid}`, error as Error))
  }
  const onUnregister = (name: string, pid: ProcessId): void => {
    if (!name.startsWith(registerPrefix) || nameProblem(name) !== null) return
    discovery.unregister(name, pid).catch(error => log.error(`could not withdraw the local name ${JSON.stringify(name)} of ${pid}`, error as Error))
  }
  node.on('register', onRegister)
  node.on('unregister', onUnregister)
  for (const name of node.registered()) {
    const pid = node.whereis(name)
    if (pid !== null) onRegister(name, pid)
  }
  return () => {
    node.off('register', onRegister)
    node.off('unregister', onUnregister)
  }
}
