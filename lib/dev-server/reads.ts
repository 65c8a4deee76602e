import { Perms } from '../zk-wire/acl.js'
import { Code, ProtocolError } from '../zk-wire/errors.js'
import { type ClientInfo, type DataResult, type Operation, type SubResult, OpCode, ops } from '../zk-wire/operations.js'
import type { JuteReader } from '../zk-wire/jute.js'
import type { ACL, Stat } from '../zk-wire/records.js'
import { allows, checkACL, redactDigests, userOf } from './acl-check.js'
import type { ClientConnection } from './connection.js'
import type { DataTree, ZNode } from './data-tree.js'
import { fail } from './failure.js'
import { readPathType } from './nullable.js'
import { WatchMode } from './watch-manager.js'

/** One read-only operation: its record and what it answers. */
export interface Read<Res> {
  op: Operation<any, Res>
  run(tree: DataTree, conn: ClientConnection, r: JuteReader): Res
}

function read<Req, Res>(op: Operation<Req, Res>, run: (tree: DataTree, conn: ClientConnection, req: Req) => Res): Read<Res> {
  return { op, run: (tree, conn, r) => run(tree, conn, op.readRequest(r)) }
}

function readable(tree: DataTree, conn: ClientConnection, path: string): ZNode {
  const node = tree.get(path) ?? fail(Code.NONODE)
  checkACL(node.acl, Perms.READ, conn.authInfo)
  return node
}

/** getData as a plain read and as a part of multiRead. */
export function getData(tree: DataTree, conn: ClientConnection, path: string): DataResult {
  const node = readable(tree, conn, path)
  return { data: node.data, stat: tree.stat(node) }
}

function children(tree: DataTree, conn: ClientConnection, path: string, watch: boolean): { children: string[]; stat: Stat } {
  const node = readable(tree, conn, path)
  if (watch) tree.childWatches.add(path, conn)
  return { children: [...node.children], stat: tree.stat(node) }
}

/** Watcher types of checkWatches/removeWatches that ZooKeeper 3.8 knows; the persistent ones (4, 5) it cannot parse. */
function watchTables(type: number): { data: boolean; child: boolean } {
  if (type < 1 || type > 3) throw new ProtocolError(`watcher type ${type} unknown to ZooKeeper 3.8`)
  return { data: type !== 1, child: type !== 2 }
}

/** Java's `String.trim`: strips characters up to U+0020 at both ends. */
const javaTrim = (s: string): string => s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '')

/** The read-only operations, by opcode, with ZooKeeper's checks in ZooKeeper's order. */
export const reads = new Map<number, Read<any>>([
  [
    OpCode.exists,
    read(ops.exists, (tree, conn, { path, watch }) => {
      if (path.includes('\0')) fail(Code.BADARGUMENTS)
      if (watch) tree.dataWatches.add(path, conn)
      return tree.stat(tree.get(path) ?? fail(Code.NONODE))
    }),
  ],
  [
    OpCode.getData,
    read(ops.getData, (tree, conn, { path, watch }) => {
      const result = getData(tree, conn, path)
      if (watch) tree.dataWatches.add(path, conn)
      return result
    }),
  ],
  [OpCode.getChildren, read(ops.getChildren, (tree, conn, { path, watch }) => children(tree, conn, path, watch).children)],
  [OpCode.getChildren2, read(ops.getChildren2, (tree, conn, { path, watch }) => children(tree, conn, path, watch))],
  [
    OpCode.getACL,
    read(ops.getACL, (tree, conn, { path }) => {
      const node = tree.get(path) ?? fail(Code.NONODE)
      checkACL(node.acl, Perms.READ | Perms.ADMIN, conn.authInfo)
      const acl: ACL[] = allows(node.acl, Perms.ADMIN, conn.authInfo) ? [...node.acl] : redactDigests(node.acl)
      return { acl, stat: tree.stat(node) }
    }),
  ],
  [OpCode.getAllChildrenNumber, read(ops.getAllChildrenNumber, (tree, conn, { path }) => (readable(tree, conn, path), tree.allChildrenNumber(path)))],
  // sync echoes its path, a null one too (see nullable.ts).
  [OpCode.sync, { op: ops.sync, run: (_tree, _conn, r) => r.string() as string }],
  [
    OpCode.addWatch,
    {
      op: ops.addWatch,
      run: (tree, conn, r) => {
        const { path, type } = readPathType(r)
        if (type !== 0 && type !== 1) throw new ProtocolError(`addWatch mode ${type} unknown`)
        // ZooKeeper answers OK to a null path (and nothing can ever fire there).
        if (path !== null) tree.addWatch(path, conn, type === 0 ? WatchMode.persistent : WatchMode.persistentRecursive)
      },
    },
  ],
  [
    OpCode.checkWatches,
    read(ops.checkWatches, (tree, _conn, { path, type }) => {
      const tables = watchTables(type)
      if (!((tables.data && tree.dataWatches.contains(path)) || (tables.child && tree.childWatches.contains(path)))) fail(Code.NOWATCHER)
    }),
  ],
  [
    OpCode.removeWatches,
    read({ ...ops.removeWatches, readRequest: readPathType }, (tree, conn, { path, type }) => {
      const tables = watchTables(type)
      if (path === null) fail(Code.NOWATCHER)
      const child = tables.child && tree.childWatches.remove(path, conn)
      const data = tables.data && tree.dataWatches.remove(path, conn)
      if (!child && !data) fail(Code.NOWATCHER)
    }),
  ],
  [
    OpCode.getEphemerals,
    read(ops.getEphemerals, (tree, conn, { path }) => {
      const all = tree.ephemeralsOf(conn.sessionId)
      const prefix = javaTrim(path)
      return prefix === '' || prefix === '/' ? all : all.filter((p) => p.startsWith(path))
    }),
  ],
  [OpCode.whoAmI, read(ops.whoAmI, (_tree, conn) => [...conn.authInfo].map((id): ClientInfo => ({ authScheme: id.scheme, user: userOf(id) })))],
])

/** The reads allowed inside multiRead; any other operation there is a marshalling error. */
export function subRead(tree: DataTree, conn: ClientConnection, type: 'getData' | 'getChildren', path: string): SubResult {
  return type === 'getData' ? { type, ...getData(tree, conn, path) } : { type, children: children(tree, conn, path, false).children }
}
