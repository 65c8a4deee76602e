import { type ACL, Perms } from '../zk-wire/index.js'
import { UsageError } from './command.js'

/** zkCli's permission letters, in its order. */
const LETTERS: ReadonlyArray<[string, number]> = [
  ['c', Perms.CREATE],
  ['d', Perms.DELETE],
  ['r', Perms.READ],
  ['w', Perms.WRITE],
  ['a', Perms.ADMIN],
]

/** `cdrwa`-style letters for a permission mask. */
export function permLetters(perms: number): string {
  return LETTERS.filter(([, bit]) => (perms & bit) !== 0)
    .map(([letter]) => letter)
    .join('')
}

/**
 * Reads an ACL as zkCli writes it: `scheme:id:perms[,scheme:id:perms…]`, the id
 * being everything between the first and the last colon (`digest:user:hash=:cdrwa`,
 * `auth::cdrwa`, `ip:10.0.0.0/8:r`, `world:anyone:r`).
 */
export function parseACL(text: string): ACL[] {
  const entries = text.split(',').map((e) => e.trim())
  if (entries.some((e) => e === '')) throw new UsageError(`empty entry in ACL "${text}"`)
  return entries.map((entry) => {
    const first = entry.indexOf(':')
    const last = entry.lastIndexOf(':')
    if (first <= 0 || first === last) throw new UsageError(`ACL entry "${entry}" is not scheme:id:perms`)
    let perms = 0
    for (const letter of entry.slice(last + 1)) {
      const bit = LETTERS.find(([l]) => l === letter)?.[1]
      if (bit === undefined) throw new UsageError(`ACL entry "${entry}": unknown permission "${letter}" (use the letters cdrwa)`)
      perms |= bit
    }
    if (perms === 0) throw new UsageError(`ACL entry "${entry}" grants nothing (use the letters cdrwa)`)
    return { perms, id: { scheme: entry.slice(0, first), id: entry.slice(first + 1, last) } }
  })
}

/** An ACL in the form {@link parseACL} reads, entries joined with `,`. */
export function formatACL(acl: readonly ACL[]): string {
  return acl.map((e) => `${e.id.scheme}:${e.id.id}:${permLetters(e.perms)}`).join(',')
}
