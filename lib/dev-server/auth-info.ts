import type { Id } from '../zk-wire/records.js'

interface Entry {
  hash: number
  id: Id
}

/** Java's `String.hashCode`. */
function stringHash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
  return h
}

/** The spread hash ConcurrentHashMap files an `Id` under (jute's generated `hashCode`). */
function idHash(id: Id): number {
  const h = (Math.imul(Math.imul(17, 37) + stringHash(id.scheme), 37) + stringHash(id.id)) | 0
  return (h ^ (h >>> 16)) & 0x7fffffff
}

/**
 * The identities of one connection (its address, then what `addAuth` added),
 * without duplicates. ZooKeeper keeps them in a set backed by a
 * ConcurrentHashMap, and its iteration order is visible to clients: it is the
 * order of the entries a `CREATOR_ALL_ACL` expands to and of `whoAmI`. This
 * reproduces it: bins by hash, insertion order within a bin, and the reordering
 * a table resize does.
 */
export class AuthInfo implements Iterable<Id> {
  private bins: Entry[][] = Array.from({ length: 16 }, () => [])
  private count = 0

  constructor(address: string) {
    this.add({ scheme: 'ip', id: address })
  }

  add(id: Id): void {
    const hash = idHash(id)
    const bin = this.bins[hash & (this.bins.length - 1)]!
    if (bin.some((e) => e.id.scheme === id.scheme && e.id.id === id.id)) return
    bin.push({ hash, id })
    if (++this.count >= this.bins.length * 0.75) this.resize()
  }

  *[Symbol.iterator](): Iterator<Id> {
    for (const bin of this.bins) for (const e of bin) yield e.id
  }

  /** ConcurrentHashMap's transfer: each bin splits in two; the entries before its last same-side run come out reversed. */
  private resize(): void {
    const n = this.bins.length
    const next: Entry[][] = Array.from({ length: n * 2 }, () => [])
    this.bins.forEach((bin, i) => {
      if (bin.length === 0) return
      let lastRun = 0
      for (let k = 1; k < bin.length; k++) if ((bin[k]!.hash & n) !== (bin[k - 1]!.hash & n)) lastRun = k
      const runHigh = (bin[lastRun]!.hash & n) !== 0
      const low: Entry[] = runHigh ? [] : bin.slice(lastRun)
      const high: Entry[] = runHigh ? bin.slice(lastRun) : []
      for (let k = 0; k < lastRun; k++) {
        const e = bin[k]!
        ;((e.hash & n) === 0 ? low : high).unshift(e)
      }
      next[i] = low
      next[i + n] = high
    })
    this.bins = next
  }
}
