import { Code, ProtocolError } from '../zk-wire/errors.js'
import type { JuteReader } from '../zk-wire/jute.js'
import { type CreateRequest, type SubOp, type SubResult, CreateFlags, OpCode, type multiOps } from '../zk-wire/operations.js'
import type { DataTree } from './data-tree.js'
import { Failure } from './failure.js'
import type { Prep, Txn } from './prep.js'

/** Whether an operation of a multi reads (getData, getChildren) rather than writes. */
export const isRead = (sub: SubOp): boolean => sub.type === 'getData' || sub.type === 'getChildren'

/** Reads the operations of a multi or multiRead; like ZooKeeper, refuses a list that mixes reads and writes. */
export function readSubOps(op: typeof multiOps.multi, r: JuteReader): readonly SubOp[] {
  const subs = op.readRequest(r)
  if (subs.some(isRead) && !subs.every(isRead)) throw new ProtocolError('reads and writes mixed in one multi')
  return subs
}

/** A create in a multi: its mode picks the variant (container, TTL, plain), as ZooKeeper's `Op.create` does. */
function prepareCreate(prep: Prep, req: CreateRequest): Txn {
  const { flags } = req
  if (flags === CreateFlags.container) return prep.create(OpCode.createContainer, req, -1)
  if (flags !== CreateFlags.persistent_with_ttl && flags !== CreateFlags.persistent_sequential_with_ttl) return prep.create(OpCode.create, req, -1)
  if (req.ttl === undefined) throw new ProtocolError('a TTL create mode in a plain create record')
  return prep.create(OpCode.createTTL, req, Number(req.ttl))
}

function prepare(prep: Prep, sub: SubOp): Txn {
  switch (sub.type) {
    case 'create':
      return prepareCreate(prep, sub.req)
    case 'delete':
      return prep.delete(sub.req)
    case 'setData':
      return prep.setData(sub.req)
    case 'check':
      return prep.check(sub.req)
    default:
      throw new ProtocolError(`${sub.type} is not allowed in multi`)
  }
}

function apply(tree: DataTree, txn: Txn, zxid: bigint, time: bigint): SubResult {
  switch (txn.type) {
    case 'create': {
      const stat = tree.createNode(txn, zxid, time)
      return { type: 'create', path: txn.path, stat: txn.withStat ? stat : null }
    }
    case 'delete':
      tree.deleteNode(txn.path, zxid)
      return { type: 'delete' }
    case 'setData':
      return { type: 'setData', stat: tree.setData(txn, zxid, time) }
    case 'check':
      return { type: 'check' }
  }
}

/**
 * Runs a multi: every operation is checked against the ones before it; if
 * all pass they are applied under one zxid, in order (their watches fire in
 * that order), else nothing is and each reports OK before the failing one,
 * its error, and RUNTIMEINCONSISTENCY after it. Throws (a marshalling error
 * for the whole multi) on an operation ZooKeeper cannot run in a multi.
 */
export function runMulti(tree: DataTree, prep: Prep, subs: readonly SubOp[], zxid: bigint, time: bigint): SubResult[] {
  const txns: Txn[] = []
  for (const [index, sub] of subs.entries()) {
    try {
      txns.push(prepare(prep, sub))
    } catch (err) {
      if (!(err instanceof Failure)) throw err
      return subs.map((_, i) => ({ type: 'error', err: i < index ? Code.OK : i === index ? err.code : Code.RUNTIMEINCONSISTENCY }))
    }
  }
  return txns.map((t) => apply(tree, t, zxid, time))
}
