import { createHash } from 'node:crypto'
import { Code } from '../zk-wire/errors.js'
import type { ACL, Id } from '../zk-wire/records.js'
import { fail } from './failure.js'

/**
 * The identity ZooKeeper's digest scheme derives from `addAuth` credentials:
 * the part before the first `:`, a `:`, and base64(sha1(credentials)).
 */
export function digestIdentity(credentials: string): string {
  const user = credentials.split(':', 1)[0]
  return `${user}:${createHash('sha1').update(credentials, 'utf8').digest('base64')}`
}

/** The user name `whoAmI` reports for an identity. */
export function userOf(id: Id): string {
  return id.scheme === 'digest' ? id.id.split(':', 1)[0]! : id.id
}

/** Java's `Integer.parseInt`, or NaN where it would throw. */
function javaInt(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) return NaN
  const n = Number(s)
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : NaN
}

function ipv4Bytes(addr: string): number[] | null {
  const parts = addr.split('.')
  if (parts.length !== 4) return null
  const bytes = parts.map(javaInt)
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : null
}

/** `10.0.0.0/8` → address bytes and prefix length, as ZooKeeper's ip scheme parses it; null if invalid. */
function ipRange(expr: string): { bytes: number[]; bits: number } | null {
  const slash = expr.indexOf('/')
  const bytes = ipv4Bytes(slash === -1 ? expr : expr.slice(0, slash))
  if (bytes === null) return null
  const bits = slash === -1 ? 32 : javaInt(expr.slice(slash + 1))
  return bits >= 0 && bits <= 32 ? { bytes, bits } : null
}

function ipMatches(address: string, expr: string): boolean {
  const range = ipRange(expr)
  const remote = ipv4Bytes(address)
  if (range === null || remote === null) return false
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(8, range.bits - i * 8))
    const mask = (0xff << (8 - keep)) & 0xff
    if ((remote[i]! & mask) !== (range.bytes[i]! & mask)) return false
  }
  return true
}

/**
 * Whether an ACL id is well formed for its scheme (ZooKeeper knows `ip` and
 * `digest` besides `world:anyone` and `auth`, and `sasl` when SASL is configured).
 */
function isValidId(id: Id, sasl: boolean): boolean {
  if (id.scheme === 'sasl') return sasl
  if (id.scheme === 'digest') {
    const parts = id.id.split(':')
    while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
    return parts.length === 2
  }
  return id.scheme === 'ip' && ipRange(id.id) !== null
}

const sameACL = (a: ACL, b: ACL): boolean => a.perms === b.perms && a.id.scheme === b.id.scheme && a.id.id === b.id.id

/**
 * Checks an ACL list given to create or setACL and expands `auth` entries to
 * the caller's authenticated identities, as ZooKeeper's `fixupACL` does:
 * duplicates dropped, INVALIDACL for an empty list, an unknown scheme, a
 * malformed id, or `auth` without an authenticated identity. `sasl` ids are
 * valid only when the server takes SASL.
 */
export function fixupACL(acl: readonly ACL[], authInfo: Iterable<Id>, sasl = false): ACL[] {
  const unique = acl.filter((a, i) => acl.findIndex((b) => sameACL(a, b)) === i)
  if (unique.length === 0) fail(Code.INVALIDACL)
  const out: ACL[] = []
  for (const a of unique) {
    if (a.id.scheme === 'world' && a.id.id === 'anyone') {
      out.push(a)
    } else if (a.id.scheme === 'auth') {
      let expanded = false
      for (const id of authInfo) {
        // The authenticated identities: ip is not one.
        if (id.scheme !== 'digest' && id.scheme !== 'sasl') continue
        out.push({ perms: a.perms, id })
        expanded = true
      }
      if (!expanded) fail(Code.INVALIDACL)
    } else if (isValidId(a.id, sasl)) {
      out.push(a)
    } else {
      fail(Code.INVALIDACL)
    }
  }
  return out
}

/** Whether any identity in `authInfo` is granted `perm` by `acl`. */
export function allows(acl: readonly ACL[], perm: number, authInfo: Iterable<Id>): boolean {
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue
    if (a.id.scheme === 'world' && a.id.id === 'anyone') return true
    for (const id of authInfo) {
      if (id.scheme !== a.id.scheme) continue
      if (id.scheme === 'ip' ? ipMatches(id.id, a.id.id) : id.id === a.id.id) return true
    }
  }
  return acl.length === 0
}

/** Fails with NOAUTH unless `acl` grants `perm`. */
export function checkACL(acl: readonly ACL[], perm: number, authInfo: Iterable<Id>): void {
  if (!allows(acl, perm, authInfo)) fail(Code.NOAUTH)
}

/** What getACL shows a caller without ADMIN: digest hashes replaced by `x`. */
export function redactDigests(acl: readonly ACL[]): ACL[] {
  return acl.map((a) => (a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/g, ':x') } } : a))
}
