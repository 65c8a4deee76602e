import { validatePath } from '../zk-wire/index.js'
import type { NodeId, ProcessId } from '../runtime/index.js'

/** The prefix used when none is given. */
export const DEFAULT_PREFIX = '/zkcloud'

/** What separates a candidate's guid from the sequence number ZooKeeper appends. */
const CANDIDATE_MARK = '-n_'

/**
 * The znode layout of one cluster, under its prefix:
 *
 * ```
 * <prefix>/nodes/<nodeId.key>                 ephemeral, data = node id; one per live node
 * <prefix>/services/<service>/<pid.key>       ephemeral, data = pid; the service dir is a container
 * <prefix>/global/<name>/<guid>-n_<seq>       ephemeral sequential candidates, data = pid;
 *                                             the lowest sequence holds the name
 * ```
 */
export class Layout {
  /** The prefix itself (`/zkcloud`). */
  readonly root: string
  /** Parent of the live nodes. */
  readonly nodes: string
  /** Parent of the service directories. */
  readonly services: string
  /** Parent of the global names' candidate directories. */
  readonly global: string

  /** @throws TypeError if `prefix` is not a valid absolute ZooKeeper path */
  constructor(prefix: string = DEFAULT_PREFIX) {
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string')
    try {
      validatePath(prefix, 'prefix')
    } catch (error) {
      throw new TypeError(`invalid prefix ${JSON.stringify(prefix)}: ${(error as Error).message}`)
    }
    this.root = prefix
    const base = prefix === '/' ? '' : prefix
    this.nodes = `${base}/nodes`
    this.services = `${base}/services`
    this.global = `${base}/global`
  }

  /** Where `node` advertises itself. */
  node(node: NodeId): string {
    return `${this.nodes}/${node.key}`
  }

  /** The directory of `service`'s members. */
  service(service: string): string {
    return `${this.services}/${service}`
  }

  /** The member znode of `pid` in `service`. */
  member(service: string, pid: ProcessId): string {
    return `${this.services}/${service}/${pid.key}`
  }

  /** The directory of the candidates for the global `name`. */
  candidates(name: string): string {
    return `${this.global}/${name}`
  }

  /** The path to create (ephemeral sequential) for a candidate with `guid`. */
  candidatePrefix(name: string, guid: string): string {
    return `${this.global}/${name}/${guid}${CANDIDATE_MARK}`
  }
}

/**
 * Why `name` cannot be a service or global name, or null if it can: it must
 * be a non-empty string that is one valid znode name (no `/`, not `.` or `..`,
 * no characters ZooKeeper refuses).
 */
export function nameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'not a string'
  if (name.length === 0) return 'empty'
  if (name.includes('/')) return 'contains "/"'
  if (name === '.' || name === '..') return `"${name}" is reserved`
  try {
    validatePath(`/${name}`, 'name')
  } catch {
    return 'has a character ZooKeeper refuses in a znode name'
  }
  return null
}

/**
 * Checks a service or global name.
 * @throws TypeError naming the problem
 */
export function validateName(kind: 'service' | 'global name', name: unknown): asserts name is string {
  const problem = nameProblem(name)
  if (problem !== null) throw new TypeError(`invalid ${kind} ${JSON.stringify(name)}: ${problem}`)
}

/** One candidate znode of an election, as read from its name. */
export interface Candidate {
  /** The child name, `<guid>-n_<seq>`. */
  readonly child: string
  readonly guid: string
  /** The sequence number ZooKeeper appended: the order of the election and the fencing token. */
  readonly seq: number
}

/** Reads a candidate's child name; null for anything else found in the directory. */
export function parseCandidate(child: string): Candidate | null {
  const at = child.lastIndexOf(CANDIDATE_MARK)
  if (at <= 0) return null
  const digits = child.slice(at + CANDIDATE_MARK.length)
  if (!/^-?[0-9]{1,10}$/.test(digits)) return null
  return { child, guid: child.slice(0, at), seq: Number(digits) }
}

/** The candidates among `children`, lowest sequence (the holder) first. */
export function sortCandidates(children: readonly string[]): Candidate[] {
  const candidates: Candidate[] = []
  for (const child of children) {
    const candidate = parseCandidate(child)
    if (candidate !== null) candidates.push(candidate)
  }
  return candidates.sort((a, b) => a.seq - b.seq)
}
