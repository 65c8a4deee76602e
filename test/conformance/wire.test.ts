import { connect } from 'node:net'
import * as assert from 'uvu/assert'
import type { DevServer } from '../../lib/dev-server/index.js'
import { OPEN_ACL_UNSAFE } from '../../lib/zk-wire/acl.js'
import { JuteWriter } from '../../lib/zk-wire/jute.js'
import { type CreateRequest, OpCode, multiOps, ops, readWatcherEvent } from '../../lib/zk-wire/operations.js'
import { writeACLs } from '../../lib/zk-wire/records.js'
import { fourLetterWord } from '../support/four-letter.js'
import { type RawReply, RawSession } from '../support/raw-session.js'
import { sleep } from '../support/wait.js'
import { chroot, zkSuite } from '../support/zookeeper.js'
import { startMatchingDevServer } from './dev-target.js'
import { normalize } from './harness.js'

/** What an exchange gets: the server, a fresh path prefix, raw sessions. */
interface Wire {
  address: string
  root: string
  open(options?: Parameters<typeof RawSession.open>[1]): Promise<RawSession>
}

const create = (req: Partial<CreateRequest> & { path: string }) => (w: JuteWriter) => {
  w.string(req.path).buffer(req.data ?? null)
  writeACLs(w, req.acl ?? OPEN_ACL_UNSAFE)
  w.int(req.flags ?? 0)
}
const subHeader = (w: JuteWriter, type: number): void => void w.int(type).bool(false).int(-1)
const subEnd = (w: JuteWriter): void => void w.int(-1).bool(true).int(-1)

/** A reply with what differs between servers taken out: zxids become -1, 0 or "n", the prefix becomes `<root>`. */
function shape(root: string, replies: RawReply[], decode?: (r: RawReply) => unknown): unknown[] {
  const clean = (v: unknown): unknown => JSON.parse(JSON.stringify(normalize([['', v]], new Map())[0]![1]).split(root).join('<root>'))
  return replies.map((r) => ({
    xid: r.xid,
    zxid: r.zxid === -1n ? -1 : r.zxid === 0n ? 0 : 'n',
    err: r.err,
    body: r.xid === -1 ? clean(readWatcherEvent(r.body)) : decode && r.err === 0 ? clean(decode(r)) : r.bodyHex,
  }))
}

/** True once the server has closed `s` (within two seconds). */
async function closedSoon(s: RawSession): Promise<boolean> {
  return (await s.next(2000).catch(() => 'still open')) === null
}

const exchanges: Array<[string, (w: Wire) => Promise<unknown>]> = [
  [
    'a failed multi: header OK, results OK / error / RUNTIMEINCONSISTENCY',
    async ({ root, open }) => {
      const s = await open()
      await s.call(1, OpCode.create, create({ path: `${root}/m` }))
      return shape(root, await s.call(2, OpCode.multi, (w) => {
        subHeader(w, OpCode.create2)
        create({ path: `${root}/m/a` })(w)
        subHeader(w, OpCode.check)
        w.string(`${root}/m`).int(5)
        subHeader(w, OpCode.delete)
        w.string(`${root}/m`).int(-1)
        subEnd(w)
      }))
    },
  ],
  [
    'plain creates in a multi are answered as create (no Stat), containers as create2',
    async ({ root, open }) => {
      const s = await open()
      return shape(root, await s.call(1, OpCode.multi, (w) => {
        for (const [type, path, flags] of [[OpCode.create2, 'a', 0], [OpCode.create, 'b', 0], [OpCode.createContainer, 'c', 4]] as const) {
          subHeader(w, type)
          create({ path: `${root}/${path}`, flags })(w)
        }
        subEnd(w)
      }), (r) => multiOps.multi.read(r.body))
    },
  ],
  [
    'multi and multiRead refuse the other kind of operation: MARSHALLINGERROR',
    async ({ root, open }) => {
      const s = await open()
      const getChildren = (w: JuteWriter): void => {
        subHeader(w, OpCode.getChildren)
        w.string('/zookeeper').bool(false)
      }
      const createX = (w: JuteWriter): void => {
        subHeader(w, OpCode.create)
        create({ path: `${root}/x` })(w)
      }
      const out: unknown[] = []
      for (const [type, parts] of [
        [OpCode.multiRead, [getChildren, createX]],
        [OpCode.multiRead, [createX]],
        [OpCode.multi, [createX, getChildren]],
        [OpCode.multi, [getChildren]],
      ] as const) {
        out.push(shape(root, await s.call(1, type, (w) => {
          for (const part of parts) part(w)
          subEnd(w)
        })))
      }
      out.push(shape(root, await s.call(2, OpCode.exists, (w) => w.string(`${root}/x`).bool(false))))
      return out
    },
  ],
  [
    'failed writes take a zxid of their own; reads answer with the last one',
    async ({ root, open }) => {
      const s = await open()
      const [ok] = await s.call(1, OpCode.create, create({ path: `${root}/z` }))
      const [dup] = await s.call(2, OpCode.create, create({ path: `${root}/z` }))
      const [bad] = await s.call(3, OpCode.setData, (w) => w.string(`${root}/nope`).buffer(null).int(-1))
      const [read] = await s.call(4, OpCode.exists, (w) => w.string(`${root}/z`).bool(false))
      return { order: ok!.zxid < dup!.zxid && dup!.zxid < bad!.zxid, readSeesLast: read!.zxid >= bad!.zxid, errs: [ok!.err, dup!.err, bad!.err, read!.err] }
    },
  ],
  [
    'unknown request types: UNIMPLEMENTED, zxid -1, and the connection closes',
    async ({ root, open }) => {
      const s = await open()
      const replies = await s.call(7, 999)
      return [shape(root, replies), await closedSoon(s)]
    },
  ],
  [
    'requests the client never sends: reconfig, deleteContainer, sasl, whoAmI, setWatches v1',
    async ({ root, open }) => {
      const s = await open()
      const out: unknown[] = []
      out.push(shape(root, await s.call(1, OpCode.reconfig, (w) => w.string(null).string(null).string(null).long(-1n))))
      out.push(shape(root, await s.call(2, OpCode.deleteContainer, (w) => w.string(`${root}`))))
      out.push(shape(root, await s.call(3, OpCode.sasl, (w) => w.buffer(Buffer.alloc(0)))))
      s.send(-4, OpCode.auth, (w) => w.int(0).string('digest').buffer(Buffer.from('zed:pw')))
      s.send(-4, OpCode.auth, (w) => w.int(0).string('digest').buffer(Buffer.from('amy:pw')))
      out.push(shape(root, [(await s.next())!, (await s.next())!]))
      out.push(shape(root, await s.call(4, OpCode.whoAmI), (r) => ops.whoAmI.read(r.body)))
      out.push(shape(root, await s.call(5, OpCode.setWatches, (w) => ops.setWatches.write(w, { relativeZxid: 0n, data: [`${root}`], exist: [`${root}/x`], child: [], persistent: [], persistentRecursive: [] }))))
      out.push(shape(root, await s.call(6, OpCode.getEphemerals, (w) => w.string(null))))
      return out
    },
  ],
  [
    'watch replies and notifications: addWatch body, notification header, ping xid',
    async ({ root, open }) => {
      const s = await open()
      await s.call(1, OpCode.create, create({ path: `${root}/n` }))
      const out = [shape(root, await s.call(2, OpCode.addWatch, (w) => w.string(`${root}/n`).int(1)))]
      out.push(shape(root, await s.call(3, OpCode.setData, (w) => w.string(`${root}/n`).buffer(Buffer.from('x')).int(-1)), (r) => ops.setData.read(r.body)))
      s.send(77, OpCode.ping)
      out.push(shape(root, [(await s.next())!]))
      for (const [xid, type, arg] of [[4, OpCode.removeWatches, 4], [5, OpCode.checkWatches, 5], [6, OpCode.addWatch, 7], [7, OpCode.checkWatches, 9]] as const) {
        out.push(shape(root, await s.call(xid, type, (w) => w.string(`${root}/n`).int(arg))))
      }
      return out
    },
  ],
  [
    'SetWatches on a new connection: missed changes fire at once, in list order, before the reply',
    async ({ root, open }) => {
      const s = await open()
      const [made] = await s.call(1, OpCode.create, create({ path: `${root}/d` }))
      await s.call(2, OpCode.create, create({ path: `${root}/c` }))
      await s.call(3, OpCode.create, create({ path: `${root}/c/x` }))
      await s.call(4, OpCode.setData, (w) => w.string(`${root}/d`).buffer(null).int(-1))
      const fresh = await open()
      const lists = { relativeZxid: made!.zxid, data: [`${root}/d`, `${root}/gone`], exist: [`${root}/c`, `${root}/later`], child: [`${root}/c`, `${root}/gone`], persistent: [`${root}/p`], persistentRecursive: [] }
      const replies = await fresh.call(-8, OpCode.setWatches2, (w) => ops.setWatches2.write(w, lists))
      const events = replies.filter((r) => r.xid === -1).map((r) => [r.body.int(), r.body.int(), r.body.ustring().replace(root, '<root>')])
      const checks = []
      for (const [xid, path, type] of [[5, 'later', 2], [6, 'p', 1], [7, 'd', 2]] as const) checks.push((await fresh.call(xid, OpCode.checkWatches, (w) => w.string(`${root}/${path}`).int(type)))[0]!.err)
      return { events, reply: shape(root, replies.filter((r) => r.xid !== -1)), checks }
    },
  ],
  [
    'auth: a known scheme is answered with zxid 0, an unknown one with AUTHFAILED and a close',
    async ({ root, open }) => {
      const s = await open()
      s.send(-4, OpCode.auth, (w) => w.int(0).string('ip').buffer(Buffer.alloc(0)))
      const ok = (await s.next())!
      s.send(-4, OpCode.auth, (w) => w.int(0).string('world').buffer(Buffer.from('anyone')))
      const refused = (await s.next())!
      return [shape(root, [ok, refused]), await closedSoon(s)]
    },
  ],
  [
    'handshakes: wrong password, unknown session, a client ahead of the server, an old client',
    async ({ open, address }) => {
      const s = await open()
      const wrong = await open({ sessionId: s.handshake!.sessionId, password: Buffer.alloc(16, 7) })
      const unknown = await open({ sessionId: 0x1234n })
      const ahead = await open({ lastZxidSeen: 1n << 50n })
      const refused = async (h: RawSession): Promise<unknown> => ({ handshake: h.handshake, closed: await closedSoon(h) })
      const old = await new Promise<number>((resolve) => {
        const socket = connect({ host: address.split(':')[0], port: Number(address.split(':')[1]) }, () => {
          const w = new JuteWriter()
          const m = w.beginFrame()
          w.int(0).long(0n).int(10_000).long(0n).buffer(Buffer.alloc(16))
          w.endFrame(m)
          socket.write(w.take())
        })
        socket.once('data', (d) => {
          resolve(d.readInt32BE(0))
          socket.destroy()
        })
      })
      return { wrong: await refused(wrong), unknown: await refused(unknown), ahead: await refused(ahead), oldClientReplyLength: old, firstConnectionClosed: await closedSoon(s) }
    },
  ],
  [
    'malformed requests: truncated bodies, paths ZooKeeper rejects, odd xids',
    async ({ root, open }) => {
      const s = await open()
      await s.call(1, OpCode.create, create({ path: `${root}/q` }))
      const out: unknown[] = []
      out.push(shape(root, await s.call(2, OpCode.getData, (w) => w.int(10).int(1))))
      out.push(shape(root, await s.call(3, OpCode.create, (w) => w.string(`${root}/t`))))
      out.push(shape(root, await s.call(4, OpCode.multi, (w) => w.int(1).bool(false).int(-1).string('/m'))))
      for (const path of ['/', '', 'a', `${root}/q/../b`, `${root}/q/`, `${root}/q/.`, `${root}/q/\u0001`]) out.push(shape(root, await s.call(5, OpCode.create, create({ path }))))
      out.push(shape(root, await s.call(6, OpCode.create, create({ path: `${root}/f`, flags: 9 }))))
      out.push(
        shape(root, await s.call(7, OpCode.createTTL, (w) => {
          create({ path: `${root}/t`, flags: 0 })(w)
          w.long(1000n)
        })),
      )
      out.push(shape(root, await s.call(8, OpCode.exists, (w) => w.string(`${root}/a\u0000`).bool(false))))
      out.push(shape(root, await s.call(9, OpCode.getData, (w) => w.string('a').bool(false))))
      out.push(shape(root, await s.call(10, OpCode.delete, (w) => w.string('').int(-1))))
      out.push(shape(root, await s.call(0, OpCode.exists, (w) => w.string('/').bool(false))).map((r) => (r as { xid: number }).xid))
      out.push(shape(root, await s.call(-5, OpCode.exists, (w) => w.string('/').bool(false))).map((r) => (r as { xid: number }).xid))
      return out
    },
  ],
  [
    'frame sizes: 0xfffff is accepted, 0x100000 closes the connection',
    async ({ open }) => {
      const a = await open()
      a.sendBytes(Buffer.from([0, 0x0f, 0xff, 0xff]))
      const b = await open()
      b.sendBytes(Buffer.from([0, 0x10, 0, 0]))
      await sleep(300)
      return { maxAccepted: !a.closed, overClosed: b.closed }
    },
  ],
  [
    'the create opcode, not the flags, makes a container: a container flag with create is a plain node',
    async ({ root, open }) => {
      const s = await open()
      await s.call(1, OpCode.create, create({ path: `${root}/plain`, flags: 4 }))
      await s.call(2, OpCode.createContainer, create({ path: `${root}/real`, flags: 0 }))
      for (const [xid, p] of [[3, 'plain'], [4, 'real']] as const) {
        await s.call(xid, OpCode.create, create({ path: `${root}/${p}/x` }))
        await s.call(xid, OpCode.delete, (w) => w.string(`${root}/${p}/x`).int(-1))
      }
      await sleep(1500)
      const exists = async (p: string): Promise<number> => (await s.call(9, OpCode.exists, (w) => w.string(`${root}/${p}`).bool(false)))[0]!.err
      return { plain: await exists('plain'), real: await exists('real') }
    },
  ],
  [
    'four-letter words: ruok, isro, and the mode srvr and mntr report',
    async ({ address }) => {
      const [host, port] = [address.split(':')[0]!, Number(address.split(':')[1])]
      const srvr = await fourLetterWord(host, port, 'srvr')
      const mntr = await fourLetterWord(host, port, 'mntr')
      return {
        ruok: await fourLetterWord(host, port, 'ruok'),
        isro: await fourLetterWord(host, port, 'isro'),
        srvrMode: /^Mode: (\S+)$/m.exec(srvr)?.[1],
        srvrLines: srvr.split('\n').map((l) => l.split(':')[0]),
        mntrState: /^zk_server_state\t(\S+)$/m.exec(mntr)?.[1],
      }
    },
  ],
]

const test = await zkSuite<{ dev: DevServer }>('conformance: wire-level exchanges with ZooKeeper 3.8 and with the dev server')

test.before(async (ctx) => {
  ctx.dev = await startMatchingDevServer()
})
test.after(async (ctx) => {
  await ctx.dev?.close()
})

async function run(fn: (w: Wire) => Promise<unknown>, address: string): Promise<unknown> {
  const sessions: RawSession[] = []
  const root = chroot('wire')
  const admin = await RawSession.open(address)
  sessions.push(admin)
  await admin.call(1, OpCode.create, create({ path: root }))
  try {
    return await fn({ address, root, open: async (options) => (sessions.push(await RawSession.open(address, options)), sessions.at(-1)!) })
  } finally {
    for (const s of sessions) s.close()
  }
}

for (const [name, fn] of exchanges) {
  test(name, async ({ zk, dev }) => {
    const real = await run(fn, zk.connectString.split(',')[0]!)
    const ours = await run(fn, dev.connectString)
    assert.equal(ours, real)
  })
}

test.run()
