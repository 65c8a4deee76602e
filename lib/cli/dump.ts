import type { ACL, Stat } from '../zk-wire/index.js'
import { parseACL, formatACL } from './acl-text.js'
import { UsageError } from './command.js'
import { dataField } from './output.js'

/** The first line of a dump. */
export interface DumpHeader {
  format: 'zkcloud-dump'
  version: 1
  /** The path the dump was taken of. */
  root: string
  /** When it was taken (ISO 8601). */
  taken: string
}

/** Modes a dump can hold: what a client can see (ephemeral or not), plus the two it cannot see but may be written by hand. */
export type DumpMode = 'persistent' | 'ephemeral' | 'container' | 'ttl'

/**
 * One node of a dump (one JSON document per line, parents before children).
 * `path` is relative to the dump's root: `/` is the root itself.
 */
export interface DumpNode {
  path: string
  data: string
  encoding: 'utf8' | 'base64'
  /** `scheme:id:perms` entries, as getAcl prints them. */
  acl: string[]
  mode: DumpMode
  /** Milliseconds, for mode `ttl`. */
  ttl?: number
}

/** A node as read from a dump, ready to be created. */
export interface ImportNode {
  path: string
  data: Buffer
  acl: ACL[]
  mode: DumpMode
  ttl?: number
}

export function dumpHeader(root: string): DumpHeader {
  return { format: 'zkcloud-dump', version: 1, root, taken: new Date().toISOString() }
}

/** The path of `path` relative to `root` (`/` for the root itself). */
export function relativePath(root: string, path: string): string {
  if (root === '/') return path
  return path === root ? '/' : path.slice(root.length)
}

/** `rel` placed under `dest`. */
export function placedAt(dest: string, rel: string): string {
  if (rel === '/') return dest
  return dest === '/' ? rel : `${dest}${rel}`
}

/**
 * One dump line for a node. Containers and TTL nodes look persistent to a
 * client (ZooKeeper reports their ephemeralOwner as 0), so they are dumped as
 * persistent; ephemeral nodes are marked.
 */
export function dumpNode(rel: string, data: Buffer, acl: readonly ACL[], stat: Stat): DumpNode {
  return { path: rel, ...dataField(data), acl: acl.map((e) => formatACL([e])), mode: stat.ephemeralOwner === 0n ? 'persistent' : 'ephemeral' }
}

const MODES: ReadonlySet<string> = new Set(['persistent', 'ephemeral', 'container', 'ttl'])

/** Checks one parsed line of a dump; throws a UsageError naming the line and the problem. */
function importNode(value: unknown, line: number): ImportNode {
  const bad = (problem: string): never => {
    throw new UsageError(`line ${line}: ${problem}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not a JSON object')
  const v = value as Partial<Record<keyof DumpNode, unknown>>
  if (typeof v.path !== 'string' || !v.path.startsWith('/') || (v.path !== '/' && v.path.endsWith('/'))) return bad('"path" must be a path starting with /')
  if (typeof v.data !== 'string') return bad('"data" must be a string')
  if (v.encoding !== 'utf8' && v.encoding !== 'base64') return bad('"encoding" must be "utf8" or "base64"')
  if (!Array.isArray(v.acl) || v.acl.length === 0 || v.acl.some((e) => typeof e !== 'string')) return bad('"acl" must be a non-empty list of scheme:id:perms strings')
  const mode = v.mode ?? 'persistent'
  if (typeof mode !== 'string' || !MODES.has(mode)) return bad(`"mode" must be one of ${[...MODES].join(', ')}`)
  if (mode === 'ttl' && !(typeof v.ttl === 'number' && Number.isSafeInteger(v.ttl) && v.ttl > 0)) return bad('mode "ttl" needs "ttl": a positive number of milliseconds')
  let acl: ACL[]
  try {
    acl = parseACL((v.acl as string[]).join(','))
  } catch (err) {
    return bad(`"acl": ${(err as Error).message}`)
  }
  return { path: v.path, data: Buffer.from(v.data, v.encoding), acl, mode: mode as DumpMode, ...(mode === 'ttl' && { ttl: v.ttl as number }) }
}

/**
 * Reads a whole dump and checks every line before anything is written, so a
 * bad file changes nothing: the header first, then nodes whose parents come
 * before them.
 */
export function readDump(lines: readonly string[]): { header: DumpHeader; nodes: ImportNode[] } {
  const parse = (text: string, line: number): unknown => {
    try {
      return JSON.parse(text)
    } catch (err) {
      throw new UsageError(`line ${line}: not JSON (${(err as Error).message})`)
    }
  }
  const first = lines.findIndex((l) => l.trim() !== '')
  if (first === -1) throw new UsageError('the dump is empty')
  const header = parse(lines[first]!, first + 1) as Partial<DumpHeader>
  if (header?.format !== 'zkcloud-dump') throw new UsageError(`line ${first + 1}: not a zkcloud dump (no {"format":"zkcloud-dump"} header)`)
  if (header.version !== 1) throw new UsageError(`line ${first + 1}: dump version ${String(header.version)} is not supported (this zkcloud reads version 1)`)
  const nodes: ImportNode[] = []
  const seen = new Set<string>()
  for (let i = first + 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue
    const node = importNode(parse(lines[i]!, i + 1), i + 1)
    if (seen.has(node.path)) throw new UsageError(`line ${i + 1}: ${node.path} appears twice`)
    const parent = node.path === '/' ? null : node.path.slice(0, node.path.lastIndexOf('/')) || '/'
    if (parent !== null && nodes.length > 0 && !seen.has(parent)) throw new UsageError(`line ${i + 1}: ${node.path} comes before its parent ${parent}`)
    seen.add(node.path)
    nodes.push(node)
  }
  return { header: header as DumpHeader, nodes }
}
