import { builtin } from '../builtin.js'
import type { ACL, Id } from './records.js'

/** Permission bits of an {@link ACL}. */
export const Perms = {
  READ: 1,
  WRITE: 2,
  CREATE: 4,
  DELETE: 8,
  ADMIN: 16,
  ALL: 31,
} as const

/** `world:anyone`, every client. */
export const ANYONE_ID: Id = Object.freeze({ scheme: 'world', id: 'anyone' })
/** `auth:`, the identities the creating session has authenticated as. */
export const AUTH_IDS: Id = Object.freeze({ scheme: 'auth', id: '' })

/** Anyone may do anything (ZooKeeper's `OPEN_ACL_UNSAFE`); the default for `create`. */
export const OPEN_ACL_UNSAFE: readonly ACL[] = Object.freeze([{ perms: Perms.ALL, id: ANYONE_ID }])
/** Only the creator's authenticated identities have access (`CREATOR_ALL_ACL`); needs `addAuth` first. */
export const CREATOR_ALL_ACL: readonly ACL[] = Object.freeze([{ perms: Perms.ALL, id: AUTH_IDS }])
/** Anyone may read (`READ_ACL_UNSAFE`). */
export const READ_ACL_UNSAFE: readonly ACL[] = Object.freeze([{ perms: Perms.READ, id: ANYONE_ID }])

/**
 * The id ZooKeeper's digest scheme stores for `user:password`:
 * `user:base64(sha1("user:password"))`.
 */
export function digestId(user: string, password: string): string {
  const { createHash } = builtin('node:crypto')
  const hash = createHash('sha1').update(`${user}:${password}`).digest('base64')
  return `${user}:${hash}`
}

/** An ACL entry granting `perms` to the digest identity of `user:password`. */
export function digestACL(user: string, password: string, perms: number = Perms.ALL): ACL {
  return { perms, id: { scheme: 'digest', id: digestId(user, password) } }
}
