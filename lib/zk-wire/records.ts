import type { JuteReader, JuteWriter } from './jute.js'

/**
 * A node's metadata, as ZooKeeper reports it. zxids and the owner's session id
 * are 64-bit and stay exact as `bigint` (a zxid's epoch sits in its top 32 bits
 * and a session id's server id in its top byte: past 2^53 a number would round
 * them); the times are milliseconds since the epoch, plain numbers, so
 * `new Date(stat.mtime)` works. The client's Stats also serialise:
 * `JSON.stringify(stat)` writes {@link StatJson} (64-bit ids as decimal strings,
 * as `BigInt(text)` reads them back).
 */
export interface Stat {
  /** zxid of the change that created the node. */
  czxid: bigint
  /** zxid of the change that last modified the node's data. */
  mzxid: bigint
  /** Creation time, milliseconds since the epoch. */
  ctime: number
  /** Last modification time, milliseconds since the epoch. */
  mtime: number
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

/** A {@link Stat} as `JSON.stringify` writes the client's: zxids and `ephemeralOwner` as decimal strings. */
export type StatJson = { [K in keyof Stat]: Stat[K] extends bigint ? string : Stat[K] }

// The prototype of the Stats the client reads: a non-enumerable toJSON, so a Stat still
// compares, spreads and prints as the plain object it is.
const statPrototype: object = Object.defineProperty({}, 'toJSON', {
  value(this: Stat): StatJson {
    return {
      czxid: this.czxid.toString(),
      mzxid: this.mzxid.toString(),
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      cversion: this.cversion,
      aversion: this.aversion,
      ephemeralOwner: this.ephemeralOwner.toString(),
      dataLength: this.dataLength,
      numChildren: this.numChildren,
      pzxid: this.pzxid.toString(),
    }
  },
})

export function readStat(r: JuteReader): Stat {
  const stat = Object.create(statPrototype) as Stat
  stat.czxid = r.long()
  stat.mzxid = r.long()
  stat.ctime = Number(r.long())
  stat.mtime = Number(r.long())
  stat.version = r.int()
  stat.cversion = r.int()
  stat.aversion = r.int()
  stat.ephemeralOwner = r.long()
  stat.dataLength = r.int()
  stat.numChildren = r.int()
  stat.pzxid = r.long()
  return stat
}

export function writeStat(w: JuteWriter, s: Stat): void {
  w.long(s.czxid).long(s.mzxid).long(BigInt(s.ctime)).long(BigInt(s.mtime))
  w.int(s.version).int(s.cversion).int(s.aversion)
  w.long(s.ephemeralOwner).int(s.dataLength).int(s.numChildren).long(s.pzxid)
}

/**
 * An ACL id. As in ZooKeeper, a null scheme reads as no scheme (an ACL naming
 * it is invalid) and the `auth` scheme's id, which nothing reads, may be null
 * (kazoo sends CREATOR_ALL_ACL so); any other null id is malformed.
 */
export function readId(r: JuteReader): Id {
  const scheme = r.string() ?? ''
  const id = scheme === 'auth' ? (r.string() ?? '') : r.ustring()
  return { scheme, id }
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
