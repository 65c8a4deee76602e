import { Code } from '../zk-wire/errors.js'
import type { JuteReader } from '../zk-wire/jute.js'
import type { SetDataRequest } from '../zk-wire/operations.js'
import { type ACL, readACLs } from '../zk-wire/records.js'
import { fail } from './failure.js'

/*
 * Requests whose path ZooKeeper 3.8 reads as null (jute length -1) and answers
 * with something other than a marshalling error, as measured on 3.8 and checked
 * by test/conformance/nulls.test.ts:
 *   setData, setACL     BADARGUMENTS (the path fails validation after the whole request was read)
 *   sync                OK, the null path echoed back
 *   addWatch            OK
 *   removeWatches       NOWATCHER
 * Every other null path, and a null ACL id other than the auth scheme's, is a
 * marshalling error (ZooKeeper trips over the null further on); a null inside
 * multi fails the whole multi with an empty result list. ACL ids are read by
 * `readId` (records.ts), which knows the null scheme and the auth id.
 */

/** setData's request; a null path is BADARGUMENTS once the rest has been read. */
export function readSetData(r: JuteReader): SetDataRequest {
  const path = r.string()
  const req = { data: r.buffer(), version: r.int() }
  return { path: path ?? fail(Code.BADARGUMENTS), ...req }
}

/** setACL's request; a null path is BADARGUMENTS once the rest has been read. */
export function readSetACL(r: JuteReader): { path: string; acl: ACL[]; version: number } {
  const path = r.string()
  const req = { acl: readACLs(r), version: r.int() }
  return { path: path ?? fail(Code.BADARGUMENTS), ...req }
}

/** A path that may be null, then the int that follows it (addWatch's mode, removeWatches' type). */
export function readPathType(r: JuteReader): { path: string | null; type: number } {
  return { path: r.string(), type: r.int() }
}
