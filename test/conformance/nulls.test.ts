import * as assert from 'uvu/assert'
import type { DevServer } from '../../lib/dev-server/index.js'
import type { JuteWriter } from '../../lib/zk-wire/jute.js'
import { OpCode } from '../../lib/zk-wire/operations.js'
import { RawSession } from '../support/raw-session.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { startMatchingDevServer } from './dev-target.js'

/**
 * Every string of a request sent as a jute null (length -1), on ZooKeeper 3.8
 * and on the dev server: the same answer (error code, or no answer) and the
 * same fate of the connection. kazoo sends CREATOR_ALL_ACL's `auth` id as null.
 */
const test = await zkSuite<{ dev: DevServer }>('conformance: null strings in requests')

test.before(async (ctx) => {
  ctx.dev = await startMatchingDevServer()
})
test.after(async (ctx) => {
  await ctx.dev?.close()
})

type Body = (w: JuteWriter, root: string) => void
const acl = (perms: number, scheme: string | null, id: string | null) => (w: JuteWriter) => void w.int(1).int(perms).string(scheme).string(id)
const open = (w: JuteWriter): void => void acl(31, 'world', 'anyone')(w)
const createBody = (path: string | null, writeAcl: (w: JuteWriter) => void = open, flags = 0) => (w: JuteWriter) => {
  w.string(path).buffer(null)
  writeAcl(w)
  w.int(flags)
}
const sub = (w: JuteWriter, type: number): void => void w.int(type).bool(false).int(-1)
const end = (w: JuteWriter): void => void w.int(-1).bool(true).int(-1)

/** Each case: the opcode and the request body with a null where a string goes. */
const CASES: Array<[string, number, Body]> = [
  ['create, null path', OpCode.create, (w) => createBody(null)(w)],
  ['create, CREATOR_ALL_ACL with a null auth id (kazoo)', OpCode.create, (w, root) => createBody(`${root}/creator`, acl(31, 'auth', null))(w)],
  ['create, CREATOR_ALL_ACL with a null auth id (authenticated)', OpCode.create, (w, root) => createBody(`${root}/creator-auth`, acl(31, 'auth', null))(w)],
  ['create, world ACL with a null id', OpCode.create, (w, root) => createBody(`${root}/world`, acl(31, 'world', null))(w)],
  ['create, digest ACL with a null id', OpCode.create, (w, root) => createBody(`${root}/digest`, acl(31, 'digest', null))(w)],
  ['create, ip ACL with a null id', OpCode.create, (w, root) => createBody(`${root}/ip`, acl(31, 'ip', null))(w)],
  ['create, an ACL with a null scheme', OpCode.create, (w, root) => createBody(`${root}/scheme`, acl(31, null, 'anyone'))(w)],
  ['create2, null path', OpCode.create2, (w) => createBody(null)(w)],
  ['createContainer, null path', OpCode.createContainer, (w) => createBody(null, open, 4)(w)],
  ['createTTL, null path', OpCode.createTTL, (w) => void (createBody(null, open, 5)(w), w.long(1000n))],
  ['delete, null path', OpCode.delete, (w) => void w.string(null).int(-1)],
  ['exists, null path', OpCode.exists, (w) => void w.string(null).bool(false)],
  ['getData, null path', OpCode.getData, (w) => void w.string(null).bool(false)],
  ['setData, null path', OpCode.setData, (w) => void w.string(null).buffer(null).int(-1)],
  ['getACL, null path', OpCode.getACL, (w) => void w.string(null)],
  ['setACL, null path', OpCode.setACL, (w) => void (w.string(null), open(w), w.int(-1))],
  ['setACL, an auth ACL with a null id', OpCode.setACL, (w, root) => void (w.string(root), acl(31, 'auth', null)(w), w.int(-1))],
  ['getChildren, null path', OpCode.getChildren, (w) => void w.string(null).bool(false)],
  ['getChildren2, null path', OpCode.getChildren2, (w) => void w.string(null).bool(false)],
  ['sync, null path', OpCode.sync, (w) => void w.string(null)],
  ['multi: create with a null path', OpCode.multi, (w) => void (sub(w, OpCode.create), createBody(null)(w), end(w))],
  ['multi: create with a null auth id', OpCode.multi, (w, root) => void (sub(w, OpCode.create), createBody(`${root}/multi`, acl(31, 'auth', null))(w), end(w))],
  ['multi: create with a null auth id (authenticated)', OpCode.multi, (w, root) => void (sub(w, OpCode.create), createBody(`${root}/multi-auth`, acl(31, 'auth', null))(w), end(w))],
  ['setACL, an auth ACL with a null id (authenticated)', OpCode.setACL, (w, root) => void (w.string(root), acl(31, 'auth', null)(w), w.int(-1))],
  ['multi: delete with a null path', OpCode.multi, (w) => void (sub(w, OpCode.delete), w.string(null).int(-1), end(w))],
  ['multi: check with a null path', OpCode.multi, (w) => void (sub(w, OpCode.check), w.string(null).int(-1), end(w))],
  ['multi: setData with a null path', OpCode.multi, (w) => void (sub(w, OpCode.setData), w.string(null).buffer(null).int(-1), end(w))],
  ['multiRead: getData with a null path', OpCode.multiRead, (w) => void (sub(w, OpCode.getData), w.string(null), end(w))],
  ['multiRead: getChildren with a null path', OpCode.multiRead, (w) => void (sub(w, OpCode.getChildren), w.string(null), end(w))],
  ['addWatch, null path', OpCode.addWatch, (w) => void w.string(null).int(0)],
  ['checkWatches, null path', OpCode.checkWatches, (w) => void w.string(null).int(1)],
  ['removeWatches, null path', OpCode.removeWatches, (w) => void w.string(null).int(1)],
  ['getAllChildrenNumber, null path', OpCode.getAllChildrenNumber, (w) => void w.string(null)],
  ['getEphemerals, null prefix', OpCode.getEphemerals, (w) => void w.string(null)],
  ['setWatches2, a null path in a list', OpCode.setWatches2, (w) => void w.long(0n).int(1).string(null).int(0).int(0).int(0).int(0)],
  ['setWatches, a null path in a list', OpCode.setWatches, (w) => void w.long(0n).int(1).string(null).int(0).int(0)],
  ['reconfig, null strings (standalone)', OpCode.reconfig, (w) => void w.string(null).string(null).string(null).long(-1n)],
]

/** What a server does with one request: its reply's error code (or none), and whether the connection is still usable. */
async function answer(address: string, root: string, opcode: number, body: Body, auth: boolean): Promise<{ err: number | string; open: boolean; body?: string }> {
  const s = await RawSession.open(address)
  try {
    if (auth) await s.call(-4, OpCode.auth, (w) => void w.int(0).string('digest').buffer(Buffer.from('alice:pw')))
    let bodyHex: string | undefined
    s.send(7, opcode, (w) => body(w, root))
    let err: number | string = 'no reply'
    for (;;) {
      const r = await s.next(1500).catch(() => undefined)
      if (r === undefined) break
      if (r === null) {
        err = err === 'no reply' ? 'closed' : err
        break
      }
      if (r.xid === 7) {
        err = r.err
        // Bodies without stats or zxids are the same bytes on both servers.
        if (opcode === OpCode.multi || opcode === OpCode.multiRead || opcode === OpCode.sync) bodyHex = r.bodyHex
        break
      }
    }
    const ping = await s.call(8, OpCode.exists, (w) => void w.string('/').bool(false)).catch(() => [])
    return { err, open: ping.some((r) => r.xid === 8), ...(bodyHex === undefined ? {} : { body: bodyHex }) }
  } finally {
    s.close()
  }
}

test('every nullable string: ZooKeeper 3.8 and the dev server answer alike', async ({ zk, dev }) => {
  const results: Record<string, Record<string, unknown>> = {}
  // The same path on both servers, so the bodies that echo it are the same bytes.
  const root = chroot('nulls')
  for (const [label, server] of [
    ['zookeeper', zk.connectString.split(',')[0]!],
    ['dev', dev.connectString],
  ] as const) {
    const setup = await RawSession.open(server)
    await setup.call(1, OpCode.create, createBody(root))
    setup.close()
    for (const [name, opcode, body] of CASES) (results[name] ??= {})[label] = await answer(server, root, opcode, body, name.includes('(authenticated)'))
  }
  if (process.env.SHOW_NULLS) console.log(JSON.stringify(results, null, 1))
  const differ = Object.entries(results).filter(([, r]) => JSON.stringify(r.zookeeper) !== JSON.stringify(r.dev))
  assert.equal(differ, [], `answers that differ:\n${differ.map(([n, r]) => `  ${n}: zookeeper ${JSON.stringify(r.zookeeper)}, dev ${JSON.stringify(r.dev)}`).join('\n')}`)
  assert.equal(results['create, CREATOR_ALL_ACL with a null auth id (kazoo)']!.zookeeper, { err: -114, open: true }, 'INVALIDACL: this session has no auth identity')
  assert.equal(results['create, CREATOR_ALL_ACL with a null auth id (authenticated)']!.dev, { err: 0, open: true }, 'created, as kazoo expects')
})

test.run()
