import type { JuteReader, JuteWriter } from './jute.js'

/** A node's metadata, as ZooKeeper reports it. zxids, times and session ids are bigint. */
export interface Stat {
  /** zxid of the change that created the node. */
  czxid: bigint
  /** zxid of the change that last modified the node's data. */
  mzxid: bigint
  /** Creation time, milliseconds since the epoch. */
  ctime: bigint
  /** Last modification time, milliseconds since the epoch. */
  mtime: bigint
  /** Number of changes to the data. */
  version: number
  /** Number of changes to the children. */
  cversion: number
  /** Number of changes to the ACL. */
  aversion: number
  /** Session id of the owner if the node is ephemeral, else 0n. */
  ephemeralOwner: bigint
  dataLength: number
  numChildren: number
  /** zxid of the change that last modified the children. */
  pzxid: bigint
}

/** An identity: `scheme` (`world`, `auth`, `digest`, `ip`, `sasl`, …) and `id`. */
export interface Id {
  scheme: string
  id: string
}

/** One access-control entry: permission bits ({@link Perms}) granted to an identity. */
export interface ACL {
  perms: number
  id: Id
}

export function readStat(r: JuteReader): Stat {
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.long(),
    mtime: r.long(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  }
}

export function writeStat(w: JuteWriter, s: Stat): void {
  w.long(s.czxid).long(s.mzxid).long(s.ctime).long(s.mtime)
  w.int(s.version).int(s.cversion).int(s.aversion)
  w.long(s.ephemeralOwner).int(s.dataLength).int(s.numChildren).long(s.pzxid)
}

export function readId(r: JuteReader): Id {
  return { scheme: r.ustring(), id: r.ustring() }
}

export function writeId(w: JuteWriter, id: Id): void {
  w.string(id.scheme).string(id.id)
}

export function readACL(r: JuteReader): ACL {
  return { perms: r.int(), id: readId(r) }
}

export function writeACL(w: JuteWriter, acl: ACL): void {
  w.int(acl.perms)
  writeId(w, acl.id)
}

export function readACLs(r: JuteReader): ACL[] {
  return r.vector(readACL, 12)
}

export function writeACLs(w: JuteWriter, acls: readonly ACL[]): void {
  w.vector(acls, writeACL)
}

export function readStrings(r: JuteReader): string[] {
  return r.vector((x) => x.ustring(), 4)
}

export function writeStrings(w: JuteWriter, items: readonly string[]): void {
  w.vector(items, (x, s) => x.string(s))
}
